/*
 * cmd-host.c: check-host, what this host can run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <json-glib/json-glib.h>

static void
vmc_cli_host_json(GPtrArray *checks)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "can_boot");
    json_builder_add_boolean_value(b, vmc_host_checks_can_boot(checks));
    json_builder_set_member_name(b, "checks");
    json_builder_begin_array(b);
    for (guint i = 0; i < checks->len; i++) {
        const VmcHostCheck *c = g_ptr_array_index(checks, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, vmc_host_check_get_id(c));
        json_builder_set_member_name(b, "title");
        json_builder_add_string_value(b, vmc_host_check_get_title(c));
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b,
                                      vmc_host_check_status_to_string(vmc_host_check_get_status(c)));
        json_builder_set_member_name(b, "detail");
        json_builder_add_string_value(b, vmc_host_check_get_detail(c));
        json_builder_set_member_name(b, "hint");
        if (vmc_host_check_get_hint(c))
            json_builder_add_string_value(b, vmc_host_check_get_hint(c));
        else
            json_builder_add_null_value(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    vmc_cli_print_json(b, TRUE);
}

static void
vmc_cli_host_text(GPtrArray *checks)
{
    guint warnings = 0, failures = 0;

    for (guint i = 0; i < checks->len; i++) {
        const VmcHostCheck *c = g_ptr_array_index(checks, i);
        VmcHostCheckStatus status = vmc_host_check_get_status(c);

        g_print("%-4s  %s: %s\n", vmc_host_check_status_to_string(status),
                vmc_host_check_get_title(c), vmc_host_check_get_detail(c));
        if (vmc_host_check_get_hint(c) && status != VMC_HOST_CHECK_PASS)
            g_print("      to do: %s\n", vmc_host_check_get_hint(c));
        warnings += status == VMC_HOST_CHECK_WARN;
        failures += status == VMC_HOST_CHECK_FAIL;
    }
    if (failures)
        g_print("This host cannot boot VMs: %u check%s failed.\n", failures,
                failures == 1 ? "" : "s");
    else if (warnings)
        g_print("This host can boot VMs, with %u warning%s.\n", warnings,
                warnings == 1 ? "" : "s");
    else
        g_print("This host can boot VMs.\n");
}

int
vmc_cmd_check_host(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the checks as one JSON object", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(GPtrArray) checks = NULL;
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 1)
        return vmc_cli_usage(cmd, "takes no arguments");

    vmc_driver_quiet_process(NULL, NULL);   /* a failure shows in the checks */
    checks = vmc_host_check(globals->uri);
    if (json)
        vmc_cli_host_json(checks);
    else
        vmc_cli_host_text(checks);
    return vmc_host_checks_can_boot(checks) ? VMC_EXIT_OK : VMC_EXIT_FAILED;
}
