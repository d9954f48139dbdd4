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

        if (cfg && vmc_config_validate(cfg, &error)) {
            g_print("%s: ok\n", argv[i]);
            continue;
        }
        /* Messages from loading already start with the file's name. */
        if (g_str_has_prefix(error->message, argv[i]))
            g_printerr("%s\n", error->message);
        else
            g_printerr("%s: %s\n", argv[i], error->message);
        if (status == VMC_EXIT_OK)
            status = vmc_cli_exit_code(error);
    }
    return status;
}
