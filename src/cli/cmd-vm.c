/*
 * cmd-vm.c: the commands that change VMs: up, down, kill, pause, resume, delete, gc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

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
    g_auto(GStrv) forward_specs = NULL;
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
        { "forward", 0, 0, G_OPTION_ARG_STRING_ARRAY, &forward_specs,
          "forward a port of the host to the guest on its user NIC, as [ADDRESS:]HOST:GUEST[/udp] "
          "(repeatable; the host's libvirt needs passt)", "SPEC" },
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
    if (!cfg || !vmc_cli_add_forwards(cfg, forward_specs, &error) ||
        !vmc_config_validate(cfg, &error))
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
        /* This process's console goes with it: a marker printed after that
         * is seen by no one (README.md, "Remote hosts"). */
        if (ready_secs <= 0 && !vmc_driver_is_local(driver))
            g_printerr("virt-vmconfig: VM '%s' runs on a remote host, where its ready marker "
                       "is seen only by a client that holds its console when it is printed: "
                       "run 'virt-vmconfig wait %s' now (or 'up --wait-ready'), which "
                       "records Ready for every client\n", vmc_handle_get_name(handle),
                       vmc_handle_get_name(handle));
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
