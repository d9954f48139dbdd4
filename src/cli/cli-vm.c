/*
 * cli-vm.c: what the commands on VMs share: the driver with the global
 * options, one name argument, a VM as JSON, the --wait-ready option and the
 * wait for the ready marker itself
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

VmcDriver *
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
gboolean
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

void
vmc_cli_add_nullable(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* The members "state", "ip" and "reason" of a state. */
void
vmc_cli_add_state_json(JsonBuilder *b, const VmcState *state)
{
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, vmc_state_kind_to_string(vmc_state_get_kind(state)));
    vmc_cli_add_nullable(b, "ip", vmc_state_get_ip(state));
    vmc_cli_add_nullable(b, "reason", vmc_state_get_reason(state));
}

/* The members of a VM object: name, namespace, foreign, uuid, state, ip,
 * reason, libvirt_state, libvirt_reason, serial_log, vsock_cid, owned_taps. */
void
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
void
vmc_cli_print_vm_json(const VmcHandle *handle, const VmcState *state)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    vmc_cli_json_begin(b);
    vmc_cli_add_vm_members(b, handle, state);
    json_builder_end_object(b);
    vmc_cli_print_json(b, TRUE);
}

gboolean
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
VmcState *
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

/* --forward SPEC, as many times as given: each forward joins those of the
 * config's first user NIC (after the config's own, which are checked with
 * them by validation). A config without a user NIC is refused: the option
 * does not add NICs behind the config's back. */
gboolean
vmc_cli_add_forwards(VmcConfig *cfg, char **specs, GError **error)
{
    g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func(
        (GDestroyNotify) vmc_network_attachment_free);
    g_autoptr(GPtrArray) forwards = g_ptr_array_new_with_free_func(
        (GDestroyNotify) vmc_port_forward_free);
    gint user = -1;

    if (!specs || !*specs)
        return TRUE;
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        if (vmc_network_attachment_get_kind(vmc_config_get_network(cfg, i)) == VMC_NETWORK_USER) {
            user = (gint) i;
            break;
        }
    }
    if (user < 0) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "VM '%s': --forward needs a 'user' NIC in the config, and it has none: add "
                    "{\"type\": \"user\"} to its networks", vmc_config_get_name(cfg));
        return FALSE;
    }
    {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, (guint) user);

        for (guint k = 0; k < vmc_network_attachment_get_n_forwards(net); k++)
            g_ptr_array_add(forwards,
                            vmc_port_forward_copy(vmc_network_attachment_get_forward(net, k)));
    }
    for (char **s = specs; *s; s++) {
        g_autoptr(GError) local = NULL;
        VmcPortForward *fwd = vmc_port_forward_parse(*s, &local);

        if (!fwd) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "VM '%s': --forward: %s",
                        vmc_config_get_name(cfg), local->message);
            return FALSE;
        }
        g_ptr_array_add(forwards, fwd);
    }
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);

        if (i != (guint) user) {
            g_ptr_array_add(nets, vmc_network_attachment_copy(net));
            continue;
        }
        g_ptr_array_add(nets, vmc_network_attachment_new_with_forwards(
                                  VMC_NETWORK_USER, NULL, vmc_network_attachment_get_mac(net),
                                  (const VmcPortForward *const *) forwards->pdata,
                                  forwards->len));
    }
    vmc_config_clear_networks(cfg);
    while (nets->len)
        vmc_config_add_network(cfg, g_ptr_array_steal_index(nets, 0));
    return TRUE;
}
