/*
 * cmd-config.c: commands that work on config files alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

int
vmc_cmd_validate(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, NULL);
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc < 2)
        return vmc_cli_usage(cmd, "name at least one config file");

    for (int i = 1; i < argc; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcConfig) cfg = vmc_config_load_file(argv[i], &error);
        g_autofree char *file = vmc_escape_text(argv[i]);

        if (cfg && vmc_config_validate(cfg, &error)) {
            g_print("%s: ok\n", file);
            continue;
        }
        /* Messages from loading already start with the file's name. */
        if (g_str_has_prefix(error->message, file))
            g_printerr("%s\n", error->message);
        else
            g_printerr("%s: %s\n", file, error->message);
        if (status == VMC_EXIT_OK)
            status = vmc_cli_exit_code(error);
    }
    return status;
}

int
vmc_cmd_xml(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean remote = FALSE;
    const GOptionEntry entries[] = {
        { "remote-paths", 0, 0, G_OPTION_ARG_NONE, &remote,
          "the config's files are on another host: do not read disk headers here "
          "(disks are rendered as raw)", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    int status = VMC_EXIT_OK;
    VmcAccel accel;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 2)
        return vmc_cli_usage(cmd, "name one config file");
    /* As boot on this host would: kvm only where a vCPU really runs. */
    if (!globals->accel || !vmc_accel_from_string(globals->accel, &accel))
        accel = vmc_host_kvm_runs(NULL) ? VMC_ACCEL_KVM : VMC_ACCEL_QEMU;
    vmc_render_options_set_accel(opts, accel);
    vmc_render_options_set_remote_paths(opts, remote);

    cfg = vmc_config_load_file(argv[1], &error);
    if (!cfg)
        return vmc_cli_fail(error);
    xml = vmc_config_to_domain_xml(cfg, opts, &error);
    if (!xml)
        return vmc_cli_fail(error);
    g_print("%s", xml);
    return VMC_EXIT_OK;
}

int
vmc_cmd_import(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, NULL);
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *json = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autofree char *file = NULL;
    int status = VMC_EXIT_OK;
    gsize length = 0;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 2)
        return vmc_cli_usage(cmd, "name one domain XML file");

    if (!g_file_get_contents(argv[1], &xml, &length, &error)) {
        g_printerr("virt-vmconfig: cannot read domain XML: %s\n", error->message);
        return VMC_EXIT_FAILED;
    }
    file = vmc_escape_text(argv[1]);
    cfg = vmc_config_from_domain_xml_data(xml, (gssize) MIN(length, G_MAXSSIZE), &warnings, &error);
    if (!cfg) {
        g_printerr("%s: %s\n", file, error->message);
        return vmc_cli_exit_code(error);
    }
    for (char **w = warnings; *w; w++)
        g_printerr("%s: warning: %s\n", file, *w);
    json = vmc_config_to_json(cfg);
    g_print("%s", json);
    return VMC_EXIT_OK;
}
