/*
 * cmd-config.c: commands that work on config files alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "vmc-quote-private.h"

/* A config as a JSON node, from its JSON text. */
static JsonNode *
vmc_cli_config_node(const VmcConfig *cfg)
{
    g_autofree char *text = vmc_config_to_json(cfg);
    g_autoptr(JsonParser) parser = json_parser_new();

    if (!json_parser_load_from_data(parser, text, -1, NULL))
        g_assert_not_reached();   /* the library wrote it */
    return json_node_copy(json_parser_get_root(parser));
}

void
vmc_cli_print_config_json(const VmcConfig *cfg, char **warnings)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "config");
    json_builder_add_value(b, vmc_cli_config_node(cfg));
    json_builder_set_member_name(b, "warnings");
    json_builder_begin_array(b);
    for (char **w = warnings; w && *w; w++)
        json_builder_add_string_value(b, *w);
    json_builder_end_array(b);
    json_builder_end_object(b);
    vmc_cli_print_json(b, TRUE);
}

int
vmc_cmd_validate(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object: each file, whether it is ok, and its error", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(JsonBuilder) b = json_builder_new();
    int status = VMC_EXIT_OK;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc < 2)
        return vmc_cli_usage(cmd, "name at least one config file");

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "files");
    json_builder_begin_array(b);
    for (int i = 1; i < argc; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcConfig) cfg = vmc_config_load_file(argv[i], &error);
        g_autofree char *file = vmc_escape_text(argv[i]);
        gboolean ok = cfg && vmc_config_validate(cfg, &error);

        if (json) {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "file");
            json_builder_add_string_value(b, argv[i]);
            json_builder_set_member_name(b, "ok");
            json_builder_add_boolean_value(b, ok);
            json_builder_set_member_name(b, "error");
            if (ok) {
                json_builder_add_null_value(b);
            } else {
                json_builder_begin_object(b);
                vmc_cli_add_error_members(b, vmc_cli_error_code_name(error), error->message,
                                          error);
                json_builder_end_object(b);
            }
            json_builder_end_object(b);
        } else if (ok) {
            g_print("%s: ok\n", file);
        } else if (g_str_has_prefix(error->message, file)) {
            /* Messages from loading already start with the file's name. */
            g_printerr("%s\n", error->message);
        } else {
            g_printerr("%s: %s\n", file, error->message);
        }
        if (!ok && status == VMC_EXIT_OK)
            status = vmc_cli_exit_code(error);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    if (json)
        vmc_cli_print_json(b, TRUE);
    return status;
}

int
vmc_cmd_xml(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean remote = FALSE;
    gboolean json = FALSE;
    g_autofree char *backend_name = NULL;
    g_auto(GStrv) forward_specs = NULL;
    const GOptionEntry entries[] = {
        { "remote-paths", 0, 0, G_OPTION_ARG_NONE, &remote,
          "the config's files are on another host: do not read disk headers here "
          "(disks are rendered as raw)", NULL },
        { "user-backend", 0, 0, G_OPTION_ARG_STRING, &backend_name,
          "what carries user NICs: slirp (the default) or passt (which port forwards need); "
          "'up' asks the host instead", "BACKEND" },
        { "forward", 0, 0, G_OPTION_ARG_STRING_ARRAY, &forward_specs,
          "add a port forward to the user NIC, as 'up --forward' does", "SPEC" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object with the VM's name and the XML as a string", NULL },
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
    if (backend_name) {
        VmcUserBackend backend;

        if (!vmc_user_backend_from_string(backend_name, &backend))
            return vmc_cli_usage(cmd, "--user-backend is slirp or passt");
        vmc_render_options_set_user_backend(opts, backend);
    }

    cfg = vmc_config_load_file(argv[1], &error);
    if (!cfg || !vmc_cli_add_forwards(cfg, forward_specs, &error))
        return vmc_cli_fail(error);
    xml = vmc_config_to_domain_xml(cfg, opts, &error);
    if (!xml)
        return vmc_cli_fail(error);
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();

        vmc_cli_json_begin(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, vmc_config_get_name(cfg));
        json_builder_set_member_name(b, "xml");
        json_builder_add_string_value(b, xml);
        json_builder_end_object(b);
        vmc_cli_print_json(b, TRUE);
    } else {
        g_print("%s", xml);
    }
    return VMC_EXIT_OK;
}

int
vmc_cmd_import(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "print one JSON object with the config and the warnings (none on stderr)", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = vmc_cli_option_context(cmd, entries);
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autofree char *file = NULL;
    int status = VMC_EXIT_OK;
    gsize length = 0;

    if (!vmc_cli_parse(cmd, ctx, &argc, &argv, &status))
        return status;
    if (argc != 2)
        return vmc_cli_usage(cmd, "name one domain XML file");

    file = vmc_escape_text(argv[1]);
    if (!g_file_get_contents(argv[1], &xml, &length, &error)) {
        g_autoptr(GError) io = g_error_new(VMC_ERROR, VMC_ERROR_IO,
                                           "cannot read domain XML: %s", error->message);
        return vmc_cli_fail(io);
    }
    cfg = vmc_config_from_domain_xml_data(xml, (gssize) MIN(length, G_MAXSSIZE), &warnings, &error);
    if (!cfg)
        return vmc_cli_fail_about(file, error);
    if (json) {
        vmc_cli_print_config_json(cfg, warnings);
    } else {
        g_autofree char *text = vmc_config_to_json(cfg);

        for (char **w = warnings; *w; w++)
            g_printerr("%s: warning: %s\n", file, *w);
        g_print("%s", text);
    }
    return VMC_EXIT_OK;
}
