/*
 * cmd-query.c: the commands that read VMs: state, list, export, adopt
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "vmc-quote-private.h"

#include <stdio.h>
#include <string.h>

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
