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
    GOptionEntry entries[] = {
        { "stop-timeout", 0, 0, G_OPTION_ARG_INT, &stop_timeout,
          "seconds the guest gets to power off after SIGTERM/SIGINT before it is killed "
          "(default 10)", "SECS" },
        { "console-log", 0, 0, G_OPTION_ARG_FILENAME, &console_log,
          "write the console to FILE instead of stdout", "FILE" },
        { "keep", 0, 0, G_OPTION_ARG_NONE, &keep,
          "keep the VM defined when it stops (by default it is removed)", NULL },
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
    if (!cfg || !vmc_config_validate(cfg, &error))
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

typedef struct {
    GMainLoop *loop;
    guint64 skip;      /* bytes of this boot's log not to print (printed before we came) */
    guint64 seen;      /* bytes of this boot's log delivered so far */
    gboolean failed;   /* stdout went away */
} VmcConsole;

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
    if (skipped == len)
        return;
    if (fwrite(data + skipped, 1, len - skipped, stdout) != len - skipped ||
        fflush(stdout) == EOF) {
        c->failed = TRUE;
        g_main_loop_quit(c->loop);
    }
}

static void
vmc_console_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcConsole *c = data;

    if (vmc_event_ends_run(event))
        g_main_loop_quit(c->loop);
}

/* What the VM wrote after the last bytes the follow delivered: QEMU's last
 * lines can reach the log after libvirt said the VM stopped. */
static void
vmc_console_drain(VmcConsole *c, const char *path)
{
    g_autoptr(GMappedFile) log = g_mapped_file_new(path, FALSE, NULL);
    guint64 len, from;

    if (!log || c->failed)
        return;
    len = g_mapped_file_get_length(log);
    from = c->seen + c->skip;
    if (from < len)
        fwrite(g_mapped_file_get_contents(log) + from, 1, len - from, stdout);
    fflush(stdout);
}

int
vmc_cmd_console(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean since_boot = FALSE;
    GOptionEntry entries[] = {
        { "since-boot", 'b', 0, G_OPTION_ARG_NONE, &since_boot,
          "first print what the VM printed since it booted", NULL },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(GError) error = NULL;
    VmcConsole console = { 0 };
    guint watch, follow, sigint, sigterm;
    GStatBuf st;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    loop = g_main_loop_new(NULL, FALSE);
    console.loop = loop;
    /* Watch first: a VM that stops after the state below is seen to. */
    watch = vmc_driver_watch(driver, argv[1], NULL, vmc_console_on_event, &console, NULL);
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
    /* The follow delivers the log from its start; what is there now was
     * printed before this command came, and is shown only if asked for. */
    if (!since_boot && g_stat(vmc_handle_get_serial_log(handle), &st) == 0)
        console.skip = (guint64) st.st_size;
    follow = vmc_driver_follow_serial(driver, handle, vmc_console_on_serial, &console, &error);
    if (!follow) {
        vmc_driver_unwatch(driver, watch);
        return vmc_cli_fail(error);
    }
    /* Said once the follow is there: what the VM prints from now on is shown. */
    g_printerr("virt-vmconfig: console of VM '%s' follows (Ctrl-C leaves it; the VM runs on)\n",
               argv[1]);
    sigint = g_unix_signal_add(SIGINT, vmc_watch_on_signal, loop);
    sigterm = g_unix_signal_add(SIGTERM, vmc_watch_on_signal, loop);

    g_main_loop_run(loop);

    g_source_remove(sigint);
    g_source_remove(sigterm);
    vmc_driver_unfollow_serial(driver, follow);
    vmc_driver_unwatch(driver, watch);
    vmc_console_drain(&console, vmc_handle_get_serial_log(handle));
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
