/*
 * cmd-follow.c: the commands that follow VMs as they go: run, wait, console, watch
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

typedef struct {
    VmcDriver *driver;
    VmcHandle *handle;
    GMainLoop *loop;
    guint interrupts;
    int status;
    guint follow;
    GThread *stopper;
    guint stop_timeout_ms;
    FILE *console;         /* stdout, or the --console-log file */
} VmcRun;

static void
vmc_run_on_serial(const char *data, gsize len, gpointer user_data)
{
    VmcRun *run = user_data;

    if (data) {
        fwrite(data, 1, len, run->console);
        fflush(run->console);
    }
}

static void
vmc_run_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcRun *run = data;
    const VmcState *state = vmc_event_get_state(event);

    if (!vmc_event_ends_run(event))
        return;
    if (vmc_state_get_kind(state) == VMC_STATE_FAILED) {
        g_printerr("virt-vmconfig: VM '%s' failed: %s\n", vmc_event_get_name(event),
                   vmc_state_get_reason(state));
        g_atomic_int_set(&run->status, VMC_EXIT_FAILED);
    }
    g_main_loop_quit(run->loop);
}

/* A stop that had to force the VM off is a failure of the task: the
 * guest did not shut down cleanly. */
static gpointer
vmc_run_stop(gpointer data)
{
    VmcRun *run = data;
    g_autoptr(GError) error = NULL;

    if (!vmc_driver_stop(run->driver, run->handle, run->stop_timeout_ms, &error)) {
        g_printerr("virt-vmconfig: %s\n", error->message);
        g_atomic_int_set(&run->status, VMC_EXIT_FAILED);
    }
    return NULL;
}

static gboolean
vmc_run_on_interrupt(gpointer data)
{
    VmcRun *run = data;
    g_autoptr(GError) error = NULL;

    if (++run->interrupts == 1) {
        g_printerr("\nvirt-vmconfig: stopping VM '%s' (ACPI power button, killed after %u s); "
                   "press Ctrl-C again to kill it now\n", vmc_handle_get_name(run->handle),
                   run->stop_timeout_ms / 1000);
        run->stopper = g_thread_new("vmc-stop", vmc_run_stop, run);
    } else {
        g_printerr("\nvirt-vmconfig: killing VM '%s'\n", vmc_handle_get_name(run->handle));
        g_atomic_int_set(&run->status, VMC_EXIT_FAILED);
        if (!vmc_driver_kill(run->driver, run->handle, &error))
            g_printerr("virt-vmconfig: %s\n", error->message);
    }
    return G_SOURCE_CONTINUE;
}

int
vmc_cmd_run(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    int stop_timeout = VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS / 1000;
    g_autofree char *console_log = NULL;
    gboolean keep = FALSE;
    g_auto(GStrv) forward_specs = NULL;
    GOptionEntry entries[] = {
        { "stop-timeout", 0, 0, G_OPTION_ARG_INT, &stop_timeout,
          "seconds the guest gets to power off after SIGTERM/SIGINT before it is killed "
          "(default 10)", "SECS" },
        { "console-log", 0, 0, G_OPTION_ARG_FILENAME, &console_log,
          "write the console to FILE instead of stdout", "FILE" },
        { "keep", 0, 0, G_OPTION_ARG_NONE, &keep,
          "keep the VM defined when it stops (by default it is removed)", NULL },
        { "forward", 0, 0, G_OPTION_ARG_STRING_ARRAY, &forward_specs,
          "forward a port of the host to the guest on its user NIC, as [ADDRESS:]HOST:GUEST[/udp] "
          "(repeatable; the host's libvirt needs passt)", "SPEC" },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    VmcRun run = { 0 };
    guint watch, sigint, sigterm;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    if (stop_timeout < 1 || stop_timeout > 86400)
        return vmc_cli_usage(cmd, "--stop-timeout takes a number of seconds (1-86400), not %d",
                             stop_timeout);
    cfg = vmc_config_load_file(argv[1], &error);
    if (!cfg || !vmc_cli_add_forwards(cfg, forward_specs, &error) ||
        !vmc_config_validate(cfg, &error))
        return vmc_cli_fail(error);
    run.console = stdout;
    if (console_log) {
        run.console = fopen(console_log, "we");
        if (!run.console) {
            int saved = errno;
            g_printerr("virt-vmconfig: cannot open the console log %s: %s\n", console_log,
                       g_strerror(saved));
            return VMC_EXIT_FAILED;
        }
    }
    driver = vmc_cli_open(globals, &error);
    if (!driver) {
        if (console_log)
            fclose(run.console);
        return vmc_cli_fail(error);
    }

    loop = g_main_loop_new(NULL, FALSE);
    run.driver = driver;
    run.loop = loop;
    run.status = VMC_EXIT_OK;
    run.stop_timeout_ms = (guint) stop_timeout * 1000;
    /* Watch before booting, so that a VM that dies at once is seen. */
    watch = vmc_driver_watch(driver, vmc_config_get_name(cfg), NULL, vmc_run_on_event, &run, NULL);
    handle = vmc_driver_boot(driver, cfg, &error);
    if (!handle) {
        vmc_driver_unwatch(driver, watch);
        if (console_log)
            fclose(run.console);
        return vmc_cli_fail(error);
    }
    run.handle = handle;
    g_printerr("virt-vmconfig: VM '%s' started; its console follows%s%s (Ctrl-C or SIGTERM "
               "stops it)\n", vmc_handle_get_name(handle), console_log ? " in " : "",
               console_log ? console_log : "");
    run.follow = vmc_driver_follow_serial(driver, handle, vmc_run_on_serial, &run, &error);
    if (!run.follow) {
        g_printerr("virt-vmconfig: warning: %s\n", error->message);
        g_clear_error(&error);
    }
    sigint = g_unix_signal_add(SIGINT, vmc_run_on_interrupt, &run);
    sigterm = g_unix_signal_add(SIGTERM, vmc_run_on_interrupt, &run);

    g_main_loop_run(loop);

    g_source_remove(sigint);
    g_source_remove(sigterm);
    if (run.stopper)
        g_thread_join(run.stopper);
    if (run.follow)
        vmc_driver_unfollow_serial(driver, run.follow);
    vmc_driver_unwatch(driver, watch);
    if (console_log)
        fclose(run.console);
    /* A task leaves nothing behind: the stopped VM goes, unless kept. */
    if (!keep && !vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error)) {
        g_printerr("virt-vmconfig: %s\n", error->message);
        return VMC_EXIT_FAILED;
    }
    return g_atomic_int_get(&run.status);
}

int
vmc_cmd_wait(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    int timeout = VMC_CLI_DEFAULT_READY_SECS;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
          "seconds to wait before giving up (default 120)", "SECS" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print the ready VM as one JSON object (as 'state --json' does)", NULL },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    if (timeout < 1 || timeout > 86400)
        return vmc_cli_usage(cmd, "--timeout takes a number of seconds (1-86400), not %d",
                             timeout);
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    handle = vmc_driver_lookup(driver, argv[1], &error);
    if (!handle)
        return vmc_cli_fail(error);
    ready = vmc_cli_wait_ready(driver, handle, (guint) timeout * 1000, &error);
    if (!ready)
        return vmc_cli_fail(error);
    if (json)
        vmc_cli_print_vm_json(handle, ready);
    else
        g_print("VM '%s' is ready at %s\n", vmc_handle_get_name(handle), vmc_state_get_ip(ready));
    return VMC_EXIT_OK;
}

static gboolean
vmc_watch_on_signal(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_CONTINUE;
}

/* Ctrl-]: leaves an interactive console, as in `virsh console`. */
#define VMC_CONSOLE_ESCAPE 0x1d

typedef struct {
    VmcDriver *driver;
    const char *name;
    GMainLoop *loop;
    gboolean json;         /* --json: one object per chunk */
    gboolean interactive;  /* stdin goes to the guest */
    guint id;              /* the console, or 0 when the serial log is followed instead */
    guint64 skip;          /* follow: bytes of this boot's log not to print (printed before) */
    guint64 seen;          /* follow: bytes of this boot's log delivered so far */
    GByteArray *cut;       /* --json: a UTF-8 character that the next chunk completes */
    gboolean failed;       /* stdout went away */
    gboolean ended;        /* the console ended */
    gboolean stopped;      /* the VM stopped */
    gboolean detached;     /* Ctrl-], or the terminal went away */
    GError *send_error;    /* what was typed could not be sent */
    guint grace;           /* after the VM stopped: time for the console's last bytes */
    guint input;           /* the source on stdin */
    struct termios saved;  /* the terminal as it was */
    gboolean raw;          /* the terminal is in raw mode */
} VmcConsole;

/* How many bytes at the end of @data begin a UTF-8 character that they do
 * not complete (0 to 3). */
static gsize
vmc_utf8_cut_length(const guchar *data, gsize len)
{
    for (gsize back = 1; back <= MIN(len, 3); back++) {
        guchar b = data[len - back];
        gsize need;

        if ((b & 0xc0) == 0x80)
            continue;
        if (b >= 0xf0 && b < 0xf8)
            need = 4;
        else if (b >= 0xe0 && b < 0xf0)
            need = 3;
        else if (b >= 0xc0 && b < 0xe0)
            need = 2;
        else
            need = 1;
        return need > back ? back : 0;
    }
    return 0;
}

static void
vmc_console_print_json(VmcConsole *c, const char *member, const char *value)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, c->name);
    json_builder_set_member_name(b, member);
    json_builder_add_string_value(b, value);
    json_builder_end_object(b);
    vmc_cli_print_json(b, FALSE);
}

/* --json: what came so far as one {"name", "output"} object, but for a
 * character cut at its end, which waits for the next chunk (@last: it
 * does not come, so it is printed as it is). */
static void
vmc_console_json_output(VmcConsole *c, const char *data, gsize len, gboolean last)
{
    g_autofree char *text = NULL;
    gsize keep, use;

    g_byte_array_append(c->cut, (const guint8 *) data, (guint) len);
    keep = last ? 0 : vmc_utf8_cut_length(c->cut->data, c->cut->len);
    use = c->cut->len - keep;
    if (use == 0)
        return;
    text = g_utf8_make_valid((const char *) c->cut->data, (gssize) use);
    g_byte_array_remove_range(c->cut, 0, (guint) use);
    vmc_console_print_json(c, "output", text);
}

/* Output of the guest, as it is or as JSON; a reader that went away ends
 * the console. */
static void
vmc_console_output(VmcConsole *c, const char *data, gsize len)
{
    if (c->failed)
        return;
    if (c->json) {
        /* One object for at most 64 KiB: a whole log since boot is many. */
        for (gsize at = 0; at < len; at += 65536)
            vmc_console_json_output(c, data + at, MIN(len - at, 65536), FALSE);
    } else if (len > 0 && fwrite(data, 1, len, stdout) != len) {
        c->failed = TRUE;
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        c->failed = TRUE;
    if (c->failed)
        g_main_loop_quit(c->loop);
}

static void
vmc_console_on_output(const char *data, gsize len, gpointer user_data)
{
    VmcConsole *c = user_data;

    if (!data) {
        c->ended = TRUE;
        g_main_loop_quit(c->loop);
        return;
    }
    vmc_console_output(c, data, len);
}

/* The serial log followed instead of a console (a driver without one). */
static void
vmc_console_on_serial(const char *data, gsize len, gpointer user_data)
{
    VmcConsole *c = user_data;
    guint64 skipped;

    if (!data) {
        /* A new boot started the log over: all of it is new. */
        c->skip = c->seen = 0;
        return;
    }
    skipped = MIN(c->skip, (guint64) len);
    c->skip -= skipped;
    c->seen += len;
    if (skipped < len)
        vmc_console_output(c, data + skipped, len - skipped);
}

static gboolean
vmc_console_grace_over(gpointer data)
{
    VmcConsole *c = data;

    c->grace = 0;
    g_main_loop_quit(c->loop);
    return G_SOURCE_REMOVE;
}

static void
vmc_console_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcConsole *c = data;

    if (!vmc_event_ends_run(event) || c->stopped)
        return;
    c->stopped = TRUE;
    /* The console's stream may still hold the guest's last lines: it ends
     * by itself soon. */
    if (c->id && !c->ended)
        c->grace = g_timeout_add(1000, vmc_console_grace_over, c);
    else
        g_main_loop_quit(c->loop);
}

/* What the VM wrote after the last bytes the follow delivered: QEMU's last
 * lines can reach the log after libvirt said the VM stopped. */
static void
vmc_console_drain(VmcConsole *c, const char *path)
{
    g_autoptr(GMappedFile) log = g_mapped_file_new(path, FALSE, NULL);
    guint64 len, from;

    if (!log)
        return;
    len = g_mapped_file_get_length(log);
    from = c->seen + c->skip;
    if (from < len)
        vmc_console_output(c, g_mapped_file_get_contents(log) + from, len - from);
}

/* --since-boot on a local host: the serial log as it is now. */
static void
vmc_console_print_log(VmcConsole *c, const char *path)
{
    g_autoptr(GMappedFile) log = NULL;
    g_autoptr(GError) error = NULL;

    if (!path)
        return;
    log = g_mapped_file_new(path, FALSE, &error);
    if (!log) {
        g_printerr("virt-vmconfig: warning: cannot read what VM '%s' printed since it booted: "
                   "%s\n", c->name, error->message);
        return;
    }
    if (g_mapped_file_get_length(log) > 0)
        vmc_console_output(c, g_mapped_file_get_contents(log), g_mapped_file_get_length(log));
}

static gboolean
vmc_console_on_input(gint fd, GIOCondition condition, gpointer data)
{
    VmcConsole *c = data;
    char buf[4096];
    const char *escape;
    gssize n;
    gsize send;

    n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    escape = n > 0 ? memchr(buf, VMC_CONSOLE_ESCAPE, (gsize) n) : NULL;
    send = escape ? (gsize) (escape - buf) : (gsize) MAX(n, 0);
    if (send > 0 && !vmc_driver_console_send(c->driver, c->id, buf, send, &c->send_error)) {
        c->input = 0;
        g_main_loop_quit(c->loop);
        return G_SOURCE_REMOVE;
    }
    if (escape || n <= 0) {
        /* Ctrl-], or the terminal is gone. */
        c->detached = TRUE;
        c->input = 0;
        g_main_loop_quit(c->loop);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean
vmc_console_make_raw(VmcConsole *c, GError **error)
{
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, &c->saved) != 0) {
        int saved = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "cannot attach to the console of VM '%s': cannot read the terminal's "
                    "settings: %s", c->name, g_strerror(saved));
        return FALSE;
    }
    raw = c->saved;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) {
        int saved = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "cannot attach to the console of VM '%s': cannot put the terminal in raw "
                    "mode: %s", c->name, g_strerror(saved));
        return FALSE;
    }
    c->raw = TRUE;
    return TRUE;
}

static void
vmc_console_restore(VmcConsole *c)
{
    if (!c->raw)
        return;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &c->saved);
    c->raw = FALSE;
}

/* Adds @text to the message of @error (keeping its domain, code and
 * libvirt origin). */
static void
vmc_console_error_append(GError *error, const char *text)
{
    g_autofree char *was = error->message;

    error->message = g_strconcat(was, text, NULL);
}

/* Why the console could not be opened, said for this command: a console
 * that another client holds can be taken with --force; a driver without
 * consoles can still show the output. */
static void
vmc_console_explain(VmcConsole *c, const VmcHandle *handle, gboolean force, GError *error)
{
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) && c->interactive) {
        g_autofree char *hint = g_strdup_printf("; 'virt-vmconfig console %s --follow' shows "
                                                "its output without the keyboard", c->name);

        g_prefix_error(&error, "cannot attach to the console of VM '%s': ", c->name);
        vmc_console_error_append(error, hint);
    } else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
        g_prefix_error(&error, "cannot show the console of VM '%s': ", c->name);
    } else if (!force && g_error_matches(error, VMC_ERROR, VMC_ERROR_STATE_FAILED) &&
               !strstr(error->message, "--force")) {
        g_autoptr(VmcState) now = vmc_driver_get_state(c->driver, handle, NULL);

        /* Refused while the VM runs: another client holds the console. */
        if (now && vmc_state_is_running(now))
            vmc_console_error_append(error, " (--force takes it over)");
    }
}

/* The console ended by itself: fine when the VM stopped, else a failure
 * that says why (another client took it, or the host went away). */
static int
vmc_console_ended(VmcConsole *c, const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) now = NULL;

    if (c->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, c->name);
        json_builder_set_member_name(b, "event");
        json_builder_add_string_value(b, "ended");
        json_builder_end_object(b);
        vmc_cli_print_json(b, FALSE);
        fflush(stdout);
    } else {
        g_printerr("%svirt-vmconfig: the console of VM '%s' ended\n",
                   c->interactive ? "\n" : "", c->name);
    }
    if (c->stopped)
        return VMC_EXIT_OK;
    now = vmc_driver_get_state(c->driver, handle, &error);
    if (!now)
        return vmc_cli_fail(error);
    if (!vmc_state_is_running(now))
        return VMC_EXIT_OK;
    g_set_error(&error, VMC_ERROR, VMC_ERROR_STATE_FAILED,
                "VM '%s' still runs, but its console ended: another client took it over, or "
                "the connection to the host was lost", c->name);
    return vmc_cli_fail(error);
}

int
vmc_cmd_console(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean force = FALSE;
    gboolean follow = FALSE;
    gboolean json = FALSE;
    gboolean since_boot = FALSE;
    GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force,
          "take the console over from another client that holds it", NULL },
        { "follow", 0, 0, G_OPTION_ARG_NONE, &follow,
          "only show the output, even on a terminal (Ctrl-C leaves; the VM runs on)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print the output as JSON objects, one a line (as --follow)", NULL },
        { "since-boot", 'b', 0, G_OPTION_ARG_NONE, &since_boot,
          "first print what the VM printed since it booted (its serial log: local hosts only)",
          NULL },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GByteArray) cut = g_byte_array_new();
    VmcConsole c = { 0 };
    guint watch, follow_id = 0, sigint, sigterm, sighup;
    GStatBuf st;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    if (since_boot && !vmc_driver_is_local(driver))
        return vmc_cli_usage(cmd, "--since-boot prints the VM's serial log, which is on the "
                             "host of %s, not here: on a remote host the console shows only "
                             "what the VM prints from now on (as 'virsh -c URI console' does)",
                             vmc_driver_get_uri(driver));
    loop = g_main_loop_new(NULL, FALSE);
    c.driver = driver;
    c.name = argv[1];
    c.loop = loop;
    c.json = json;
    c.cut = cut;
    c.interactive = !follow && !json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    /* Watch first: a VM that stops after the state below is seen to. */
    watch = vmc_driver_watch(driver, argv[1], NULL, vmc_console_on_event, &c, NULL);
    handle = vmc_driver_lookup(driver, argv[1], &error);
    state = handle ? vmc_driver_get_state(driver, handle, &error) : NULL;
    if (state && !vmc_state_is_running(state)) {
        g_autofree char *text = vmc_state_to_string(state);

        g_set_error(&error, VMC_ERROR, VMC_ERROR_STATE_FAILED,
                    "VM '%s' is not running (%s); what it printed last is in %s", argv[1], text,
                    vmc_handle_get_serial_log(handle));
        g_clear_pointer(&state, vmc_state_free);
    }
    if (!state) {
        vmc_driver_unwatch(driver, watch);
        return vmc_cli_fail(error);
    }

    c.id = vmc_driver_open_console(driver, handle,
                                   force ? VMC_CONSOLE_FORCE : VMC_CONSOLE_DEFAULT,
                                   vmc_console_on_output, &c, &error);
    if (c.id) {
        /* Bytes that come meanwhile wait on this thread's main context. */
        if (since_boot)
            vmc_console_print_log(&c, vmc_handle_get_serial_log(handle));
    } else if (!c.interactive && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
        /* A driver without consoles: the serial log shows the output. It
         * is followed from its start; what is there now was printed
         * before this command came, and is shown only if asked for. */
        g_clear_error(&error);
        if (!since_boot && g_stat(vmc_handle_get_serial_log(handle), &st) == 0)
            c.skip = (guint64) st.st_size;
        follow_id = vmc_driver_follow_serial(driver, handle, vmc_console_on_serial, &c, &error);
        if (!follow_id) {
            g_prefix_error(&error, "cannot show the console of VM '%s': ", argv[1]);
            vmc_driver_unwatch(driver, watch);
            return vmc_cli_fail(error);
        }
    }
    if (!c.id && !follow_id) {
        vmc_console_explain(&c, handle, force, error);
        vmc_driver_unwatch(driver, watch);
        return vmc_cli_fail(error);
    }

    if (c.interactive) {
        g_printerr("virt-vmconfig: connected to the console of VM '%s' (escape character is "
                   "^])\n", argv[1]);
        if (!vmc_console_make_raw(&c, &error)) {
            vmc_driver_close_console(driver, c.id);
            vmc_driver_unwatch(driver, watch);
            return vmc_cli_fail(error);
        }
        c.input = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                vmc_console_on_input, &c);
    } else {
        /* Said once the console is there: what the VM prints from now on is shown. */
        g_printerr("virt-vmconfig: console of VM '%s' follows (Ctrl-C leaves it; the VM runs "
                   "on)\n", argv[1]);
    }
    sigint = g_unix_signal_add(SIGINT, vmc_watch_on_signal, loop);
    sigterm = g_unix_signal_add(SIGTERM, vmc_watch_on_signal, loop);
    sighup = g_unix_signal_add(SIGHUP, vmc_watch_on_signal, loop);

    if (!c.failed)
        g_main_loop_run(loop);

    g_source_remove(sigint);
    g_source_remove(sigterm);
    g_source_remove(sighup);
    if (c.input)
        g_source_remove(c.input);
    if (c.grace)
        g_source_remove(c.grace);
    vmc_console_restore(&c);
    if (c.id)
        vmc_driver_close_console(driver, c.id);
    if (follow_id) {
        vmc_driver_unfollow_serial(driver, follow_id);
        vmc_console_drain(&c, vmc_handle_get_serial_log(handle));
    }
    vmc_driver_unwatch(driver, watch);
    if (c.json && c.cut->len > 0 && !c.failed)
        vmc_console_json_output(&c, "", 0, TRUE);
    if (c.send_error) {
        g_autoptr(GError) send_error = g_steal_pointer(&c.send_error);

        g_prefix_error(&send_error, "cannot send to the console of VM '%s': ", argv[1]);
        return vmc_cli_fail(send_error);
    }
    if (c.failed)
        return VMC_EXIT_OK;
    if (c.detached) {
        g_printerr("\n");
        return VMC_EXIT_OK;
    }
    if (c.ended || c.stopped)
        return vmc_console_ended(&c, handle);
    /* Ctrl-C, SIGTERM or SIGHUP: the VM runs on. */
    if (c.interactive)
        g_printerr("\n");
    return VMC_EXIT_OK;
}

/* " [stopped/destroyed]", or "" for an event that is not libvirt's
 * (VMC_EVENT_READY: the guest printed its marker). */
static char *
vmc_cli_libvirt_event_text(const VmcEvent *event)
{
    const char *name = vmc_event_get_libvirt_event_name(event);
    const char *detail = vmc_event_get_libvirt_detail_name(event);

    if (!name)
        return g_strdup("");
    if (detail)
        return g_strdup_printf(" [%s/%s]", name, detail);
    return g_strdup_printf(" [%s/%d]", name, vmc_event_get_libvirt_detail(event));
}

static void
vmc_watch_print_json(const VmcEvent *event)
{
    const VmcState *state = vmc_event_get_state(event);
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, vmc_event_get_name(event));
    json_builder_set_member_name(b, "uuid");
    json_builder_add_string_value(b, vmc_event_get_uuid(event));
    vmc_cli_add_state_json(b, state);
    /* null for VMC_EVENT_READY, which is not libvirt's. */
    json_builder_set_member_name(b, "libvirt_event");
    if (vmc_event_get_libvirt_event(event) >= 0)
        json_builder_add_int_value(b, vmc_event_get_libvirt_event(event));
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "libvirt_detail");
    if (vmc_event_get_libvirt_event(event) >= 0)
        json_builder_add_int_value(b, vmc_event_get_libvirt_detail(event));
    else
        json_builder_add_null_value(b);
    json_builder_end_object(b);

    vmc_cli_print_json(b, FALSE);
}

typedef struct {
    gboolean json;
    GMainLoop *loop;
} VmcWatchOutput;

static void
vmc_watch_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcWatchOutput *out = data;
    const VmcState *state = vmc_event_get_state(event);
    g_autofree char *libvirt = NULL;

    if (out->json) {
        vmc_watch_print_json(event);
    } else {
        libvirt = vmc_cli_libvirt_event_text(event);
        switch (vmc_state_get_kind(state)) {
        case VMC_STATE_READY:
            g_print("%s ready %s%s\n", vmc_event_get_name(event), vmc_state_get_ip(state),
                    libvirt);
            break;
        case VMC_STATE_FAILED:
            g_print("%s failed: %s%s\n", vmc_event_get_name(event), vmc_state_get_reason(state),
                    libvirt);
            break;
        default:
            g_print("%s %s%s\n", vmc_event_get_name(event),
                    vmc_state_kind_to_string(vmc_state_get_kind(state)), libvirt);
            break;
        }
    }
    /* Lines are read by pipes as they come; a reader that went away (`|
     * head -1`) ends the watch, as SIGPIPE would have (it is ignored). */
    if (fflush(stdout) == EOF || ferror(stdout))
        g_main_loop_quit(out->loop);
}

int
vmc_cmd_watch(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *ns = NULL;
    GOptionEntry entries[] = {
        { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns, "only VMs of this namespace", "NS" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object per line", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(GError) error = NULL;
    VmcWatchOutput out = { FALSE, NULL };
    guint watch, sigint, sigterm;
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 1)
        return vmc_cli_usage(cmd, "takes no arguments");
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);

    loop = g_main_loop_new(NULL, FALSE);
    out.json = json;
    out.loop = loop;
    sigint = g_unix_signal_add(SIGINT, vmc_watch_on_signal, loop);
    sigterm = g_unix_signal_add(SIGTERM, vmc_watch_on_signal, loop);
    watch = vmc_driver_watch(driver, NULL, ns, vmc_watch_on_event, &out, NULL);
    /* Events from here on are seen: the driver subscribed when it opened. */
    if (ns)
        g_printerr("virt-vmconfig: watching the VMs of namespace '%s' on %s (Ctrl-C stops)\n",
                   ns, vmc_driver_get_uri(driver));
    else
        g_printerr("virt-vmconfig: watching the VMs on %s (Ctrl-C stops)\n",
                   vmc_driver_get_uri(driver));

    g_main_loop_run(loop);

    vmc_driver_unwatch(driver, watch);
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return VMC_EXIT_OK;
}
