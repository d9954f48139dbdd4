/*
 * cmd-vm.c: commands that run VMs through libvirt
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VMC_CLI_DEFAULT_READY_SECS 120

static VmcDriver *
vmc_cli_open(const VmcCliGlobals *globals, GError **error)
{
    VmcDriver *driver;
    VmcAccel accel;

    /* This process reports libvirt's errors itself, once. */
    if (!vmc_driver_quiet_process(NULL, error))
        return NULL;
    driver = vmc_driver_open(globals->uri, error);

    if (driver && globals->accel && vmc_accel_from_string(globals->accel, &accel))
        vmc_driver_set_accel(driver, accel);
    return driver;
}

/* Parses the command's options and its one argument. */
static gboolean
vmc_cli_one_arg(const VmcCliCommand *cmd, const GOptionEntry *entries, int *argc, char ***argv,
                int *status)
{
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);

    if (!vmc_cli_parse(cmd, ctx, argc, argv, status))
        return FALSE;
    if (*argc != 2) {
        *status = vmc_cli_usage(cmd, "name one %s", cmd->args);
        return FALSE;
    }
    return TRUE;
}

static void
vmc_cli_add_nullable(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* The members "state", "ip" and "reason" of a state. */
static void
vmc_cli_add_state_json(JsonBuilder *b, const VmcState *state)
{
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, vmc_state_kind_to_string(vmc_state_get_kind(state)));
    vmc_cli_add_nullable(b, "ip", vmc_state_get_ip(state));
    vmc_cli_add_nullable(b, "reason", vmc_state_get_reason(state));
}

/* The members of a VM object: name, namespace, foreign, uuid, state, ip,
 * reason, libvirt_state, libvirt_reason, serial_log, vsock_cid, owned_taps. */
static void
vmc_cli_add_vm_members(JsonBuilder *b, const VmcHandle *handle, const VmcState *state)
{
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, vmc_handle_get_name(handle));
    json_builder_set_member_name(b, "namespace");
    if (vmc_handle_is_foreign(handle))
        json_builder_add_null_value(b);
    else
        json_builder_add_string_value(b, vmc_handle_get_namespace(handle));
    json_builder_set_member_name(b, "foreign");
    json_builder_add_boolean_value(b, vmc_handle_is_foreign(handle));
    json_builder_set_member_name(b, "uuid");
    json_builder_add_string_value(b, vmc_handle_get_uuid(handle));
    vmc_cli_add_state_json(b, state);
    json_builder_set_member_name(b, "libvirt_state");
    json_builder_add_int_value(b, vmc_state_get_libvirt_state(state));
    json_builder_set_member_name(b, "libvirt_reason");
    json_builder_add_int_value(b, vmc_state_get_libvirt_reason(state));
    json_builder_set_member_name(b, "serial_log");
    json_builder_add_string_value(b, vmc_handle_get_serial_log(handle));
    json_builder_set_member_name(b, "vsock_cid");
    json_builder_add_int_value(b, vmc_handle_get_vsock_cid(handle));
    json_builder_set_member_name(b, "owned_taps");
    json_builder_begin_array(b);
    for (const char *const *tap = vmc_handle_get_owned_taps(handle); *tap; tap++)
        json_builder_add_string_value(b, *tap);
    json_builder_end_array(b);
}

/* One VM as a document of its own: {"version", VM members...}. */
static void
vmc_cli_print_vm_json(const VmcHandle *handle, const VmcState *state)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    vmc_cli_add_vm_members(b, handle, state);
    json_builder_end_object(b);
    vmc_cli_print_json(b, TRUE);
}

static gboolean
vmc_cli_parse_ready(const char *option, const char *value, gpointer data, GError **error)
{
    int *secs = data;
    guint64 n;

    if (!value) {
        *secs = VMC_CLI_DEFAULT_READY_SECS;
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(value, 10, 1, 86400, &n, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s takes a number of seconds (1-86400), not '%s'", option, value);
        return FALSE;
    }
    *secs = (int) n;
    return TRUE;
}

/* How a wait for the ready marker goes: one line on stderr, redrawn in
 * place, when stderr is a terminal; nothing at all when it is not. */
typedef struct {
    const char *name;
    gsize drawn;   /* columns of the line on screen, 0 when none */
} VmcCliProgress;

static char *
vmc_cli_format_bytes(guint64 bytes)
{
    if (bytes < 1024)
        return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
    if (bytes < 1024 * 1024)
        return g_strdup_printf("%.1f KiB", bytes / 1024.0);
    return g_strdup_printf("%.1f MiB", bytes / (1024.0 * 1024.0));
}

static void
vmc_cli_progress_draw(guint64 elapsed_ms, guint64 serial_bytes, gpointer data)
{
    VmcCliProgress *p = data;
    g_autofree char *size = vmc_cli_format_bytes(serial_bytes);
    double secs = (double) elapsed_ms / 1000.0;
    g_autoptr(GString) line = g_string_new("\r");
    struct winsize ws;
    gsize cols = 0, len;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
        cols = ws.ws_col;
    /* VM names are ASCII: a byte is a column. A line that wrapped could
     * not be redrawn with \r: on a narrow terminal the numbers come first. */
    g_string_append_printf(line, "waiting for '%s' to print VMRS_READY: %.1f s, %s of console",
                           p->name, secs, size);
    if (cols > 1 && line->len > cols) {
        g_string_truncate(line, 1);
        g_string_append_printf(line, "%.1f s, %s of console, waiting for '%s'", secs, size,
                               p->name);
    }
    if (cols > 1 && line->len > cols)
        g_string_truncate(line, cols);   /* "\r" and cols - 1 columns */
    len = line->len - 1;
    /* Spaces, not an escape sequence, cover what was longer: any terminal does that. */
    for (gsize i = len; i < p->drawn; i++)
        g_string_append_c(line, ' ');
    fputs(line->str, stderr);
    fflush(stderr);
    p->drawn = len;
}

static void
vmc_cli_progress_clear(VmcCliProgress *p)
{
    g_autoptr(GString) line = NULL;

    if (!p->drawn)
        return;
    line = g_string_new("\r");
    for (gsize i = 0; i < p->drawn; i++)
        g_string_append_c(line, ' ');
    g_string_append_c(line, '\r');
    fputs(line->str, stderr);
    fflush(stderr);
    p->drawn = 0;
}

/* Waits for the VM's ready marker, showing how it goes on a terminal; the
 * status line is gone when this returns. */
static VmcState *
vmc_cli_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    VmcCliProgress progress = { vmc_handle_get_name(handle), 0 };
    gboolean tty = isatty(STDERR_FILENO);
    VmcState *ready;

    ready = vmc_driver_wait_ready_full(driver, handle, timeout_ms,
                                       tty ? vmc_cli_progress_draw : NULL, &progress, error);
    vmc_cli_progress_clear(&progress);
    return ready;
}

typedef struct {
    gboolean tty;
    guint uploads;
} VmcStageShown;

/* On a terminal, a line that grows with each upload; else one line per
 * file uploaded. */
static void
vmc_cli_stage_progress(const char *field, const char *path, guint64 done, guint64 total,
                       gpointer user_data)
{
    VmcStageShown *shown = user_data;

    if (done == 0)
        shown->uploads++;
    if (shown->tty)
        g_printerr("\rvirt-vmconfig: staging %s %s: %.1f of %.1f MiB%s", field, path,
                   done / 1048576.0, total / 1048576.0, done == total ? "\n" : "");
    else if (done == total)
        g_printerr("virt-vmconfig: staged %s %s (%.1f MiB)\n", field, path, total / 1048576.0);
}

int
vmc_cmd_gc(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object: the files removed",
          NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) removed = NULL;
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 1)
        return vmc_cli_usage(cmd, "takes no arguments");
    driver = vmc_cli_open(globals, &error);
    removed = driver ? vmc_driver_gc_staged(driver, &error) : NULL;
    if (!removed)
        return vmc_cli_fail(error);
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        json_builder_set_member_name(b, "removed");
        json_builder_begin_array(b);
        for (char **r = removed; *r; r++)
            json_builder_add_string_value(b, *r);
        json_builder_end_array(b);
        json_builder_end_object(b);
        vmc_cli_print_json(b, TRUE);
        return VMC_EXIT_OK;
    }
    for (char **r = removed; *r; r++)
        g_print("removed %s\n", *r);
    g_print("%u staged file%s removed\n", g_strv_length(removed),
            g_strv_length(removed) == 1 ? "" : "s");
    return VMC_EXIT_OK;
}

int
vmc_cmd_up(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    int ready_secs = -1;
    gboolean stage = FALSE;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "wait-ready", 'w', G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
          (gpointer) vmc_cli_parse_ready,
          "wait until the guest prints its ready marker (default 120 s)", "SECS" },
        { "stage", 0, 0, G_OPTION_ARG_NONE, &stage,
          "copy kernel, initramfs, seed ISO and disks from this host to the libvirt host "
          "first (its storage API; unchanged files are not copied again)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print the VM as one JSON object (as 'state --json' does) once it is up, or ready", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, NULL);
    g_autoptr(GOptionGroup) group = g_option_group_new("up", "", "", &ready_secs, NULL);
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;
    int status = VMC_EXIT_OK;

    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, g_steal_pointer(&group));
    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 2)
        return vmc_cli_usage(cmd, "name one config file");

    cfg = vmc_config_load_file(argv[1], &error);
    if (!cfg || !vmc_config_validate(cfg, &error))
        return vmc_cli_fail(error);
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    if (stage) {
        VmcStageShown shown = { isatty(STDERR_FILENO), 0 };
        /* With --json, stderr carries nothing but an error. */
        VmcConfig *staged = vmc_driver_stage(driver, cfg, json ? NULL : vmc_cli_stage_progress,
                                             &shown, &error);

        if (!staged)
            return vmc_cli_fail(error);
        vmc_config_free(cfg);
        cfg = staged;
        if (shown.uploads == 0 && !json)
            g_printerr("virt-vmconfig: every file was staged on %s already\n",
                       vmc_driver_get_uri(driver));
    }
    handle = vmc_driver_boot(driver, cfg, &error);
    if (!handle)
        return vmc_cli_fail(error);
    if (!json) {
        g_print("VM '%s' started (UUID %s, serial log %s", vmc_handle_get_name(handle),
                vmc_handle_get_uuid(handle), vmc_handle_get_serial_log(handle));
        if (vmc_handle_get_vsock_cid(handle))
            g_print(", vsock CID %u", vmc_handle_get_vsock_cid(handle));
        g_print(")\n");
    }

    if (ready_secs > 0) {
        ready = vmc_cli_wait_ready(driver, handle, (guint) ready_secs * 1000, &error);
        if (!ready)
            return vmc_cli_fail(error);
        if (!json)
            g_print("VM '%s' is ready at %s\n", vmc_handle_get_name(handle),
                    vmc_state_get_ip(ready));
    }
    if (json)
        vmc_cli_print_vm_json(handle, ready ? ready : vmc_handle_get_state(handle));
    return VMC_EXIT_OK;
}

typedef enum {
    VMC_ACT_DOWN,
    VMC_ACT_KILL,
    VMC_ACT_PAUSE,
    VMC_ACT_RESUME,
    VMC_ACT_DELETE,
} VmcAction;

static int
vmc_cli_act(const VmcCliGlobals *globals, const char *name, VmcAction action, guint timeout_ms,
            VmcDeleteFlags flags, gboolean json)
{
    static const char *const done[] = { "stopped", "killed", "paused", "resumed", "deleted" };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    gboolean ok = FALSE;

    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    handle = vmc_driver_lookup(driver, name, &error);
    if (!handle)
        return vmc_cli_fail(error);
    switch (action) {
    case VMC_ACT_DOWN:
        ok = vmc_driver_stop(driver, handle, timeout_ms, &error);
        break;
    case VMC_ACT_KILL:
        ok = vmc_driver_kill(driver, handle, &error);
        break;
    case VMC_ACT_PAUSE:
        ok = vmc_driver_pause(driver, handle, &error);
        break;
    case VMC_ACT_RESUME:
        ok = vmc_driver_resume(driver, handle, &error);
        break;
    case VMC_ACT_DELETE:
        ok = vmc_driver_delete(driver, handle, flags, &error);
        break;
    }
    if (!ok)
        return vmc_cli_fail(error);
    if (!json) {
        g_print("VM '%s' %s\n", name, done[action]);
        return VMC_EXIT_OK;
    }
    if (action == VMC_ACT_DELETE) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        json_builder_set_member_name(b, "deleted");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, vmc_handle_get_name(handle));
        json_builder_set_member_name(b, "namespace");
        json_builder_add_string_value(b, vmc_handle_get_namespace(handle));
        json_builder_set_member_name(b, "uuid");
        json_builder_add_string_value(b, vmc_handle_get_uuid(handle));
        json_builder_end_object(b);
        json_builder_end_object(b);
        vmc_cli_print_json(b, TRUE);
        return VMC_EXIT_OK;
    }
    /* The state it is in now that the action is done. */
    state = vmc_driver_get_state(driver, handle, &error);
    if (!state)
        return vmc_cli_fail(error);
    vmc_cli_print_vm_json(handle, state);
    return VMC_EXIT_OK;
}

#define VMC_CLI_ACT_JSON_ENTRY(json) \
    { "json", 0, 0, G_OPTION_ARG_NONE, (json), \
      "print the VM as one JSON object (as 'state --json' does) when it is done", NULL }

int
vmc_cmd_down(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    int timeout = VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS / 1000;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
          "seconds the guest may take to power off before it is forced off (default 10)", "SECS" },
        VMC_CLI_ACT_JSON_ENTRY(&json),
        { NULL },
    };
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    if (timeout < 1)
        return vmc_cli_usage(cmd, "--timeout must be at least 1 second");
    return vmc_cli_act(globals, argv[1], VMC_ACT_DOWN, (guint) timeout * 1000, 0, json);
}

/* kill, pause and resume: a name and nothing else. */
int
vmc_cmd_act(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    static const struct {
        const char *name;
        VmcAction action;
    } actions[] = {
        { "kill", VMC_ACT_KILL },
        { "pause", VMC_ACT_PAUSE },
        { "resume", VMC_ACT_RESUME },
    };
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        VMC_CLI_ACT_JSON_ENTRY(&json),
        { NULL },
    };
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    for (gsize i = 0; i < G_N_ELEMENTS(actions); i++) {
        if (strcmp(cmd->name, actions[i].name) == 0)
            return vmc_cli_act(globals, argv[1], actions[i].action, 0, 0, json);
    }
    g_assert_not_reached();
}

int
vmc_cmd_delete(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean remove_nvram = FALSE;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "remove-nvram", 0, 0, G_OPTION_ARG_NONE, &remove_nvram,
          "remove the NVRAM file of a UEFI VM too (it is kept by default)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object: the name, namespace and UUID of the VM deleted", NULL },
        { NULL },
    };
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    return vmc_cli_act(globals, argv[1], VMC_ACT_DELETE, 0,
                       remove_nvram ? VMC_DELETE_REMOVE_NVRAM : VMC_DELETE_DEFAULT, json);
}

int
vmc_cmd_state(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the VM as one JSON object", NULL },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    handle = vmc_driver_lookup(driver, argv[1], &error);
    state = handle ? vmc_driver_get_state(driver, handle, &error) : NULL;
    if (!state)
        return vmc_cli_fail(error);
    if (json) {
        vmc_cli_print_vm_json(handle, state);
    } else {
        g_autofree char *text = vmc_state_to_string(state);
        const char *const *taps = vmc_handle_get_owned_taps(handle);

        g_print("%s", text);
        if (vmc_handle_get_vsock_cid(handle))
            g_print(" (vsock CID %u)", vmc_handle_get_vsock_cid(handle));
        if (taps[0]) {
            g_autofree char *list = g_strjoinv(", ", (char **) taps);
            g_print(" (TAP devices made for it: %s)", list);
        }
        g_print("\n");
    }
    return VMC_EXIT_OK;
}

int
vmc_cmd_list(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    gboolean all = FALSE;
    g_autofree char *ns = NULL;
    GOptionEntry entries[] = {
        { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns, "only VMs of this namespace", "NS" },
        { "all", 'a', 0, G_OPTION_ARG_NONE, &all,
          "every domain of the host: the others are marked foreign", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object whose \"vms\" holds a VM object for each", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(GPtrArray) handles = NULL;
    g_autoptr(GError) error = NULL;
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 1)
        return vmc_cli_usage(cmd, "takes no arguments");
    if (all && ns)
        return vmc_cli_usage(cmd, "--all and --namespace do not go together");
    driver = vmc_cli_open(globals, &error);
    if (driver)
        handles = all ? vmc_driver_list_all(driver, &error) : vmc_driver_list(driver, ns, &error);
    if (!handles)
        return vmc_cli_fail(error);

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        json_builder_set_member_name(b, "vms");
        json_builder_begin_array(b);
        for (guint i = 0; i < handles->len; i++) {
            const VmcHandle *h = g_ptr_array_index(handles, i);

            json_builder_begin_object(b);
            vmc_cli_add_vm_members(b, h, vmc_handle_get_state(h));
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        vmc_cli_print_json(b, TRUE);
        return VMC_EXIT_OK;
    }
    g_print("%-24s %-16s %-10s %s\n", "NAME", "NAMESPACE", "STATE", "IP");
    for (guint i = 0; i < handles->len; i++) {
        const VmcHandle *h = g_ptr_array_index(handles, i);
        const VmcState *s = vmc_handle_get_state(h);

        g_autofree char *name = vmc_escape_text(vmc_handle_get_name(h));
        g_autofree char *shown_ns = vmc_escape_text(vmc_handle_get_namespace(h));

        g_print("%-24s %-16s %-10s %s\n", name, vmc_handle_is_foreign(h) ? "(foreign)" : shown_ns,
                vmc_state_kind_to_string(vmc_state_get_kind(s)),
                vmc_state_get_ip(s) ? vmc_state_get_ip(s) : "-");
    }
    return VMC_EXIT_OK;
}

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

int
vmc_cmd_export(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autofree char *text = NULL;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object with the config and the warnings (none on stderr)", NULL },
        { NULL },
    };
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    driver = vmc_cli_open(globals, &error);
    handle = driver ? vmc_driver_lookup(driver, argv[1], &error) : NULL;
    cfg = handle ? vmc_driver_export(driver, handle, &warnings, &error) : NULL;
    if (!cfg)
        return vmc_cli_fail(error);
    if (json) {
        vmc_cli_print_config_json(cfg, warnings);
        return VMC_EXIT_OK;
    }
    for (char **w = warnings; w && *w; w++)
        g_printerr("VM '%s': warning: %s\n", argv[1], *w);
    text = vmc_config_to_json(cfg);
    g_print("%s", text);
    return VMC_EXIT_OK;
}

int
vmc_cmd_adopt(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    g_autofree char *ns = NULL;
    gboolean force = FALSE;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns, "the namespace it joins (required)",
          "NS" },
        { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
          "adopt it though a VM config cannot hold all of it (what is listed)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print the adopted VM as one JSON object, with \"lost\": what its next boot drops",
          NULL },
        { NULL },
    };
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lost = NULL;
    int status;

    if (!vmc_cli_one_arg(cmd, entries, &argc, &argv, &status))
        return status;
    if (!ns)
        return vmc_cli_usage(cmd, "--namespace NS is required");
    driver = vmc_cli_open(globals, &error);
    if (!driver)
        return vmc_cli_fail(error);
    handle = vmc_driver_adopt(driver, argv[1], ns, force ? VMC_ADOPT_FORCE : VMC_ADOPT_DEFAULT,
                              &lost, &error);
    /* With --json the refusal's message says what would be lost. */
    for (char **l = lost; !json && l && *l; l++)
        g_printerr("domain '%s': %s: %s\n", argv[1], handle ? "dropped at its next boot" : "lost",
                   *l);
    if (!handle)
        return vmc_cli_fail(error);
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        vmc_cli_add_vm_members(b, handle, vmc_handle_get_state(handle));
        json_builder_set_member_name(b, "lost");
        json_builder_begin_array(b);
        for (char **l = lost; l && *l; l++)
            json_builder_add_string_value(b, *l);
        json_builder_end_array(b);
        json_builder_end_object(b);
        vmc_cli_print_json(b, TRUE);
        return VMC_EXIT_OK;
    }
    g_print("VM '%s' adopted into namespace '%s'\n", argv[1], ns);
    return VMC_EXIT_OK;
}
