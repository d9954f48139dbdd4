/*
 * vmc-config.c: the VmcConfig model, driven by one table of fields
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <arpa/inet.h>
#include <string.h>

#define FIELD(member, type, is_path) \
    { #member, type, G_STRUCT_OFFSET(VmcConfig, member), is_path }

const VmcFieldInfo vmc_config_fields[] = {
    FIELD(name, VMC_FIELD_STRING, FALSE),
    FIELD(namespace, VMC_FIELD_STRING, FALSE),
    FIELD(kernel, VMC_FIELD_STRING, TRUE),
    FIELD(initramfs, VMC_FIELD_OPT_STRING, TRUE),
    FIELD(root_disk, VMC_FIELD_OPT_STRING, TRUE),
    FIELD(data_disk, VMC_FIELD_OPT_STRING, TRUE),
    FIELD(seed_iso, VMC_FIELD_OPT_STRING, TRUE),
    FIELD(cpus, VMC_FIELD_UINT, FALSE),
    FIELD(memory_mb, VMC_FIELD_UINT, FALSE),
    FIELD(networks, VMC_FIELD_NETWORKS, FALSE),
    FIELD(shared_dirs, VMC_FIELD_SHARED_DIRS, FALSE),
    FIELD(serial_log, VMC_FIELD_STRING, TRUE),
    FIELD(cmdline, VMC_FIELD_OPT_STRING, FALSE),
    FIELD(netns, VMC_FIELD_OPT_STRING, FALSE),
    FIELD(vsock, VMC_FIELD_BOOL, FALSE),
    FIELD(machine_id, VMC_FIELD_BYTES, FALSE),
    FIELD(efi_variable_store, VMC_FIELD_OPT_STRING, TRUE),
    FIELD(rosetta, VMC_FIELD_BOOL, FALSE),
};
const gsize vmc_config_n_fields = G_N_ELEMENTS(vmc_config_fields);

#undef FIELD

const VmcFieldInfo *
vmc_config_field_lookup(const char *name)
{
    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        if (strcmp(vmc_config_fields[i].name, name) == 0)
            return &vmc_config_fields[i];
    }
    return NULL;
}

VMC_ENUM_IMPL(vmc_network_kind, VMC_NETWORK_USER + 1,
              "tap",       /* VMC_NETWORK_TAP */
              "bridge",    /* VMC_NETWORK_BRIDGE */
              "network",   /* VMC_NETWORK_NETWORK */
              "user")      /* VMC_NETWORK_USER */

/**
 * vmc_network_kind_to_string:
 * @kind: a #VmcNetworkKind
 *
 * Returns: the kind's name in the JSON form ("tap", "bridge", "network",
 * "user"), or %NULL for an unknown kind.
 *
 * Since: 0.1
 */
const char *
vmc_network_kind_to_string(VmcNetworkKind kind)
{
    return vmc_network_kind_to_str((int) kind);
}

/**
 * vmc_network_kind_from_string:
 * @str: a kind's name
 * @kind: (out): where to store the kind
 *
 * Returns: %TRUE if @str names a kind.
 *
 * Since: 0.1
 */
gboolean
vmc_network_kind_from_string(const char *str, VmcNetworkKind *kind)
{
    int value = vmc_network_kind_from_str(str);

    if (value < 0)
        return FALSE;
    *kind = (VmcNetworkKind) value;
    return TRUE;
}

/**
 * vmc_network_attachment_new:
 * @kind: what the NIC is plugged into
 * @source: (nullable): the TAP, bridge or libvirt network name; %NULL for
 *   %VMC_NETWORK_USER
 * @mac: (nullable): the NIC's MAC address; %NULL picks a stable one per VM
 *   and NIC index when the domain is rendered
 *
 * The MAC is stored in lower case, as libvirt reports it.
 *
 * Returns: (transfer full): a new attachment; free with
 * vmc_network_attachment_free().
 *
 * Since: 0.1
 */
VmcNetworkAttachment *
vmc_network_attachment_new(VmcNetworkKind kind, const char *source, const char *mac)
{
    return vmc_network_attachment_new_with_forwards(kind, source, mac, NULL, 0);
}

/**
 * vmc_network_attachment_new_with_forwards:
 * @kind: what the NIC is plugged into
 * @source: (nullable): as for vmc_network_attachment_new()
 * @mac: (nullable): as for vmc_network_attachment_new()
 * @forwards: (array length=n_forwards) (nullable): the ports of the host
 *   forwarded to the guest through this NIC; only a %VMC_NETWORK_USER NIC
 *   may have any (vmc_config_validate() says so)
 * @n_forwards: the number of @forwards
 *
 * Returns: (transfer full): a new attachment holding copies of @forwards;
 * free with vmc_network_attachment_free().
 *
 * Since: 0.1
 */
VmcNetworkAttachment *
vmc_network_attachment_new_with_forwards(VmcNetworkKind kind, const char *source,
                                         const char *mac, const VmcPortForward *const *forwards,
                                         guint n_forwards)
{
    VmcNetworkAttachment *net = g_new0(VmcNetworkAttachment, 1);

    g_return_val_if_fail(forwards != NULL || n_forwards == 0, net);
    net->kind = kind;
    net->source = g_strdup(source);
    net->mac = mac ? g_ascii_strdown(mac, -1) : NULL;
    if (n_forwards) {
        net->forwards = g_ptr_array_new_full(n_forwards, (GDestroyNotify) vmc_port_forward_free);
        for (guint i = 0; i < n_forwards; i++)
            g_ptr_array_add(net->forwards, vmc_port_forward_copy(forwards[i]));
    }
    return net;
}

/**
 * vmc_network_attachment_get_n_forwards:
 * @net: an attachment
 *
 * Returns: the number of ports forwarded to the guest through @net.
 *
 * Since: 0.1
 */
guint
vmc_network_attachment_get_n_forwards(const VmcNetworkAttachment *net)
{
    g_return_val_if_fail(net != NULL, 0);
    return net->forwards ? net->forwards->len : 0;
}

/**
 * vmc_network_attachment_get_forward:
 * @net: an attachment
 * @index: which forward, from 0
 *
 * Returns: (transfer none): the forward, owned by @net.
 *
 * Since: 0.1
 */
const VmcPortForward *
vmc_network_attachment_get_forward(const VmcNetworkAttachment *net, guint index)
{
    g_return_val_if_fail(net != NULL, NULL);
    g_return_val_if_fail(index < vmc_network_attachment_get_n_forwards(net), NULL);
    return g_ptr_array_index(net->forwards, index);
}

/**
 * vmc_network_attachment_copy:
 * @net: an attachment
 *
 * Returns: (transfer full): a copy of @net; free with
 * vmc_network_attachment_free().
 *
 * Since: 0.1
 */
VmcNetworkAttachment *
vmc_network_attachment_copy(const VmcNetworkAttachment *net)
{
    g_return_val_if_fail(net != NULL, NULL);
    return vmc_network_attachment_new_with_forwards(
        net->kind, net->source, net->mac,
        net->forwards ? (const VmcPortForward *const *) net->forwards->pdata : NULL,
        vmc_network_attachment_get_n_forwards(net));
}

/**
 * vmc_network_attachment_free:
 * @net: (nullable): an attachment
 *
 * Frees @net.
 *
 * Since: 0.1
 */
void
vmc_network_attachment_free(VmcNetworkAttachment *net)
{
    if (!net)
        return;
    g_free(net->source);
    g_free(net->mac);
    if (net->forwards)
        g_ptr_array_unref(net->forwards);
    g_free(net);
}

/**
 * vmc_network_attachment_get_kind:
 * @net: an attachment
 *
 * Returns: what the NIC is plugged into.
 *
 * Since: 0.1
 */
VmcNetworkKind
vmc_network_attachment_get_kind(const VmcNetworkAttachment *net)
{
    g_return_val_if_fail(net != NULL, VMC_NETWORK_USER);
    return net->kind;
}

/**
 * vmc_network_attachment_get_source:
 * @net: an attachment
 *
 * Returns: (nullable): the TAP, bridge or libvirt network name, or %NULL
 *   when there is none (%VMC_NETWORK_USER).
 *
 * Since: 0.1
 */
const char *
vmc_network_attachment_get_source(const VmcNetworkAttachment *net)
{
    g_return_val_if_fail(net != NULL, NULL);
    return net->source;
}

/**
 * vmc_network_attachment_get_mac:
 * @net: an attachment
 *
 * Returns: (nullable): the NIC's MAC address in lower case, or %NULL when
 *   none was given.
 *
 * Since: 0.1
 */
const char *
vmc_network_attachment_get_mac(const VmcNetworkAttachment *net)
{
    g_return_val_if_fail(net != NULL, NULL);
    return net->mac;
}

/**
 * vmc_network_attachment_equal:
 * @a: (nullable): an attachment
 * @b: (nullable): another attachment
 *
 * Returns: %TRUE when @a and @b have the same kind, source and MAC, or
 *   are both %NULL.
 *
 * Since: 0.1
 */
gboolean
vmc_network_attachment_equal(const VmcNetworkAttachment *a, const VmcNetworkAttachment *b)
{
    if (a == b)
        return TRUE;
    if (!a || !b)
        return FALSE;
    if (a->kind != b->kind || g_strcmp0(a->source, b->source) != 0 ||
        g_strcmp0(a->mac, b->mac) != 0 ||
        vmc_network_attachment_get_n_forwards(a) != vmc_network_attachment_get_n_forwards(b))
        return FALSE;
    for (guint i = 0; i < vmc_network_attachment_get_n_forwards(a); i++) {
        if (!vmc_port_forward_equal(g_ptr_array_index(a->forwards, i),
                                    g_ptr_array_index(b->forwards, i)))
            return FALSE;
    }
    return TRUE;
}

VMC_ENUM_IMPL(vmc_forward_proto, VMC_FORWARD_UDP + 1,
              "tcp",  /* VMC_FORWARD_TCP */
              "udp")  /* VMC_FORWARD_UDP */

/**
 * vmc_forward_proto_to_string:
 * @proto: a forward's protocol
 *
 * Returns: (transfer none): "tcp" or "udp"; %NULL for a value outside
 *   #VmcForwardProto.
 *
 * Since: 0.1
 */
const char *
vmc_forward_proto_to_string(VmcForwardProto proto)
{
    return vmc_forward_proto_to_str((int) proto);
}

/**
 * vmc_forward_proto_from_string:
 * @str: "tcp" or "udp"
 * @proto: (out): the protocol @str names
 *
 * Returns: %TRUE when @str names a protocol; else @proto is untouched.
 *
 * Since: 0.1
 */
gboolean
vmc_forward_proto_from_string(const char *str, VmcForwardProto *proto)
{
    int value = vmc_forward_proto_from_str(str);

    if (value < 0)
        return FALSE;
    *proto = (VmcForwardProto) value;
    return TRUE;
}

/**
 * vmc_port_forward_new:
 * @proto: TCP or UDP
 * @host_address: (nullable): the host address it listens on (IPv4 or
 *   IPv6); %NULL for every address of the host
 * @host_port: the host port, 1-65535
 * @guest_port: the guest port it reaches, 1-65535
 *
 * Nothing is checked until vmc_config_validate().
 *
 * Returns: (transfer full): a new forward; free with vmc_port_forward_free().
 *
 * Since: 0.1
 */
VmcPortForward *
vmc_port_forward_new(VmcForwardProto proto, const char *host_address, guint host_port,
                     guint guest_port)
{
    VmcPortForward *fwd = g_new0(VmcPortForward, 1);

    fwd->proto = proto;
    fwd->host_address = g_strdup(host_address);
    fwd->host_port = host_port;
    fwd->guest_port = guest_port;
    return fwd;
}

/* A port of a forward's spec: 1-65535 in decimal digits. */
static gboolean
vmc_parse_port(const char *text, gsize len, guint *port)
{
    guint value = 0;

    if (len == 0 || len > 5)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isdigit(text[i]))
            return FALSE;
        value = value * 10 + (guint) (text[i] - '0');
    }
    if (value == 0 || value > VMC_CONFIG_PORT_MAX)
        return FALSE;
    *port = value;
    return TRUE;
}

/**
 * vmc_port_forward_parse:
 * @spec: `[ADDRESS:]HOST_PORT:GUEST_PORT[/tcp|/udp]`, as `up --forward`
 *   takes it; an IPv6 address is written in brackets (`[::1]:2222:22`)
 * @error: return location for a %VMC_ERROR_INVALID_CONFIG error
 *
 * Returns: (transfer full) (nullable): the forward @spec describes (TCP
 *   unless it says /udp), or %NULL with @error set.
 *
 * Since: 0.1
 */
VmcPortForward *
vmc_port_forward_parse(const char *spec, GError **error)
{
    g_autofree char *text = NULL;
    g_autofree char *address = NULL;
    g_autofree char *q = NULL;
    VmcForwardProto proto = VMC_FORWARD_TCP;
    const char *slash, *guest, *host;
    guint host_port, guest_port;
    char *end;

    g_return_val_if_fail(spec != NULL, NULL);
    text = g_strdup(spec);
    q = vmc_quote_value(spec);
    slash = strrchr(text, '/');
    if (slash) {
        if (!vmc_forward_proto_from_string(slash + 1, &proto)) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                        "forward %s: unknown protocol after '/' (tcp or udp)", q);
            return NULL;
        }
        text[slash - text] = '\0';
    }
    end = text + strlen(text);
    guest = strrchr(text, ':');
    if (!guest) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "forward %s is not [ADDRESS:]HOST_PORT:GUEST_PORT[/udp], e.g. "
                    "127.0.0.1:2222:22", q);
        return NULL;
    }
    if (!vmc_parse_port(guest + 1, (gsize) (end - guest - 1), &guest_port)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "forward %s: the guest port must be a number from 1 to %d", q,
                    VMC_CONFIG_PORT_MAX);
        return NULL;
    }
    text[guest - text] = '\0';
    host = strrchr(text, ':');
    /* An IPv6 address without brackets has colons of its own. */
    if (host && text[0] != '[' && strchr(text, ':') != host) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "forward %s: write an IPv6 address in brackets, e.g. [::1]:2222:22", q);
        return NULL;
    }
    host = host ? host + 1 : text;
    if (!vmc_parse_port(host, strlen(host), &host_port)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "forward %s: the host port must be a number from 1 to %d", q,
                    VMC_CONFIG_PORT_MAX);
        return NULL;
    }
    if (host != text) {
        gsize len = (gsize) (host - 1 - text);

        if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
            address = g_strndup(text + 1, len - 2);
        else
            address = g_strndup(text, len);
        if (!*address || !vmc_ip_address_valid(address)) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                        "forward %s: the host address is not an IPv4 or IPv6 address", q);
            return NULL;
        }
    }
    return vmc_port_forward_new(proto, address, host_port, guest_port);
}

/**
 * vmc_port_forward_copy:
 * @fwd: a forward
 *
 * Returns: (transfer full): a copy of @fwd; free with vmc_port_forward_free().
 *
 * Since: 0.1
 */
VmcPortForward *
vmc_port_forward_copy(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, NULL);
    return vmc_port_forward_new(fwd->proto, fwd->host_address, fwd->host_port, fwd->guest_port);
}

/**
 * vmc_port_forward_free:
 * @fwd: (nullable): a forward
 *
 * Frees @fwd.
 *
 * Since: 0.1
 */
void
vmc_port_forward_free(VmcPortForward *fwd)
{
    if (!fwd)
        return;
    g_free(fwd->host_address);
    g_free(fwd);
}

/**
 * vmc_port_forward_get_proto:
 * @fwd: a forward
 *
 * Returns: its protocol.
 *
 * Since: 0.1
 */
VmcForwardProto
vmc_port_forward_get_proto(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, VMC_FORWARD_TCP);
    return fwd->proto;
}

/**
 * vmc_port_forward_get_host_address:
 * @fwd: a forward
 *
 * Returns: (nullable): the host address it listens on, or %NULL for every
 *   address of the host.
 *
 * Since: 0.1
 */
const char *
vmc_port_forward_get_host_address(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, NULL);
    return fwd->host_address;
}

/**
 * vmc_port_forward_get_host_port:
 * @fwd: a forward
 *
 * Returns: the host port.
 *
 * Since: 0.1
 */
guint
vmc_port_forward_get_host_port(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, 0);
    return fwd->host_port;
}

/**
 * vmc_port_forward_get_guest_port:
 * @fwd: a forward
 *
 * Returns: the guest port.
 *
 * Since: 0.1
 */
guint
vmc_port_forward_get_guest_port(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, 0);
    return fwd->guest_port;
}

/**
 * vmc_port_forward_equal:
 * @a: (nullable): a forward
 * @b: (nullable): another forward
 *
 * Returns: %TRUE when @a and @b forward the same host address and port to
 *   the same guest port by the same protocol, or are both %NULL.
 *
 * Since: 0.1
 */
gboolean
vmc_port_forward_equal(const VmcPortForward *a, const VmcPortForward *b)
{
    if (a == b)
        return TRUE;
    if (!a || !b)
        return FALSE;
    return a->proto == b->proto && g_strcmp0(a->host_address, b->host_address) == 0 &&
           a->host_port == b->host_port && a->guest_port == b->guest_port;
}

/**
 * vmc_port_forward_to_string:
 * @fwd: a forward
 *
 * Returns: (transfer full): @fwd in the form vmc_port_forward_parse()
 *   takes, with its protocol always written (`127.0.0.1:2222:22/tcp`).
 *
 * Since: 0.1
 */
char *
vmc_port_forward_to_string(const VmcPortForward *fwd)
{
    g_return_val_if_fail(fwd != NULL, NULL);
    if (!fwd->host_address)
        return g_strdup_printf("%u:%u/%s", fwd->host_port, fwd->guest_port,
                               vmc_forward_proto_to_string(fwd->proto));
    return g_strdup_printf(strchr(fwd->host_address, ':') ? "[%s]:%u:%u/%s" : "%s:%u:%u/%s",
                           fwd->host_address, fwd->host_port, fwd->guest_port,
                           vmc_forward_proto_to_string(fwd->proto));
}

/**
 * vmc_shared_dir_new:
 * @host_path: the host directory to share
 * @tag: the virtiofs mount tag the guest mounts it by
 * @read_only: whether the guest may only read it
 *
 * Returns: (transfer full): a new share; free with vmc_shared_dir_free().
 *
 * Since: 0.1
 */
VmcSharedDir *
vmc_shared_dir_new(const char *host_path, const char *tag, gboolean read_only)
{
    VmcSharedDir *dir = g_new0(VmcSharedDir, 1);

    dir->host_path = g_strdup(host_path);
    dir->tag = g_strdup(tag);
    dir->read_only = !!read_only;
    return dir;
}

/**
 * vmc_shared_dir_copy:
 * @dir: a share
 *
 * Returns: (transfer full): a copy of @dir; free with vmc_shared_dir_free().
 *
 * Since: 0.1
 */
VmcSharedDir *
vmc_shared_dir_copy(const VmcSharedDir *dir)
{
    g_return_val_if_fail(dir != NULL, NULL);
    return vmc_shared_dir_new(dir->host_path, dir->tag, dir->read_only);
}

/**
 * vmc_shared_dir_free:
 * @dir: (nullable): a share
 *
 * Frees @dir.
 *
 * Since: 0.1
 */
void
vmc_shared_dir_free(VmcSharedDir *dir)
{
    if (!dir)
        return;
    g_free(dir->host_path);
    g_free(dir->tag);
    g_free(dir);
}

/**
 * vmc_shared_dir_get_host_path:
 * @dir: a share
 *
 * Returns: the host directory shared.
 *
 * Since: 0.1
 */
const char *
vmc_shared_dir_get_host_path(const VmcSharedDir *dir)
{
    g_return_val_if_fail(dir != NULL, NULL);
    return dir->host_path;
}

/**
 * vmc_shared_dir_get_tag:
 * @dir: a share
 *
 * Returns: the virtiofs mount tag the guest mounts it by.
 *
 * Since: 0.1
 */
const char *
vmc_shared_dir_get_tag(const VmcSharedDir *dir)
{
    g_return_val_if_fail(dir != NULL, NULL);
    return dir->tag;
}

/**
 * vmc_shared_dir_get_read_only:
 * @dir: a share
 *
 * Returns: %TRUE when the guest may only read the share.
 *
 * Since: 0.1
 */
gboolean
vmc_shared_dir_get_read_only(const VmcSharedDir *dir)
{
    g_return_val_if_fail(dir != NULL, FALSE);
    return dir->read_only;
}

/**
 * vmc_shared_dir_equal:
 * @a: (nullable): a share
 * @b: (nullable): another share
 *
 * Returns: %TRUE when @a and @b have the same host path, tag and
 *   read-only flag, or are both %NULL.
 *
 * Since: 0.1
 */
gboolean
vmc_shared_dir_equal(const VmcSharedDir *a, const VmcSharedDir *b)
{
    if (a == b)
        return TRUE;
    if (!a || !b)
        return FALSE;
    return g_strcmp0(a->host_path, b->host_path) == 0 &&
           g_strcmp0(a->tag, b->tag) == 0 &&
           a->read_only == b->read_only;
}

static GPtrArray *
vmc_list_new(VmcFieldType type)
{
    if (type == VMC_FIELD_NETWORKS)
        return g_ptr_array_new_with_free_func((GDestroyNotify) vmc_network_attachment_free);
    return g_ptr_array_new_with_free_func((GDestroyNotify) vmc_shared_dir_free);
}

/**
 * vmc_config_new:
 * @name: (nullable): the VM's name
 *
 * Makes a config with every other field empty: no paths, no NICs, no
 * shares, 0 CPUs and 0 MiB (which vmc_config_validate() rejects until set).
 *
 * Returns: (transfer full): a new config; free with vmc_config_free().
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_new(const char *name)
{
    VmcConfig *cfg = g_new0(VmcConfig, 1);

    cfg->name = g_strdup(name);
    cfg->namespace = g_strdup("");
    cfg->networks = vmc_list_new(VMC_FIELD_NETWORKS);
    cfg->shared_dirs = vmc_list_new(VMC_FIELD_SHARED_DIRS);
    return cfg;
}

/**
 * vmc_config_free:
 * @cfg: (nullable): a config
 *
 * Frees @cfg and everything it holds.
 *
 * Since: 0.1
 */
void
vmc_config_free(VmcConfig *cfg)
{
    if (!cfg)
        return;
    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        gpointer p = VMC_FIELD_PTR(cfg, f);

        switch (f->type) {
        case VMC_FIELD_STRING:
        case VMC_FIELD_OPT_STRING:
            g_free(*(char **) p);
            break;
        case VMC_FIELD_BYTES:
            g_clear_pointer((GBytes **) p, g_bytes_unref);
            break;
        case VMC_FIELD_NETWORKS:
        case VMC_FIELD_SHARED_DIRS:
            g_ptr_array_unref(*(GPtrArray **) p);
            break;
        case VMC_FIELD_UINT:
        case VMC_FIELD_BOOL:
            break;
        }
    }
    g_free(cfg);
}

/**
 * vmc_config_copy:
 * @cfg: a config
 *
 * Returns: (transfer full): a deep copy of @cfg.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_copy(const VmcConfig *cfg)
{
    VmcConfig *copy;

    g_return_val_if_fail(cfg != NULL, NULL);

    copy = g_new0(VmcConfig, 1);
    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        gconstpointer src = VMC_FIELD_CPTR(cfg, f);
        gpointer dst = VMC_FIELD_PTR(copy, f);

        switch (f->type) {
        case VMC_FIELD_STRING:
        case VMC_FIELD_OPT_STRING:
            *(char **) dst = g_strdup(*(char *const *) src);
            break;
        case VMC_FIELD_UINT:
            *(guint *) dst = *(const guint *) src;
            break;
        case VMC_FIELD_BOOL:
            *(gboolean *) dst = *(const gboolean *) src;
            break;
        case VMC_FIELD_BYTES: {
            GBytes *bytes = *(GBytes *const *) src;
            *(GBytes **) dst = bytes ? g_bytes_ref(bytes) : NULL;
            break;
        }
        case VMC_FIELD_NETWORKS:
        case VMC_FIELD_SHARED_DIRS: {
            GPtrArray *from = *(GPtrArray *const *) src;
            GPtrArray *to = vmc_list_new(f->type);

            for (guint j = 0; j < from->len; j++) {
                gpointer item = g_ptr_array_index(from, j);
                g_ptr_array_add(to, f->type == VMC_FIELD_NETWORKS
                                        ? (gpointer) vmc_network_attachment_copy(item)
                                        : (gpointer) vmc_shared_dir_copy(item));
            }
            *(GPtrArray **) dst = to;
            break;
        }
        }
    }
    return copy;
}

static gboolean
vmc_list_equal(VmcFieldType type, GPtrArray *a, GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++) {
        gpointer x = g_ptr_array_index(a, i);
        gpointer y = g_ptr_array_index(b, i);

        if (type == VMC_FIELD_NETWORKS ? !vmc_network_attachment_equal(x, y)
                                       : !vmc_shared_dir_equal(x, y))
            return FALSE;
    }
    return TRUE;
}

/**
 * vmc_config_equal:
 * @a: a config
 * @b: another config
 *
 * Two configs are equal when every field is: strings byte for byte (an
 * unset optional field differs from an empty one), lists item by item in
 * order.
 *
 * Returns: %TRUE when @a and @b describe the same VM.
 *
 * Since: 0.1
 */
gboolean
vmc_config_equal(const VmcConfig *a, const VmcConfig *b)
{
    if (a == b)
        return TRUE;
    if (!a || !b)
        return FALSE;

    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        gconstpointer pa = VMC_FIELD_CPTR(a, f);
        gconstpointer pb = VMC_FIELD_CPTR(b, f);
        gboolean same = TRUE;

        switch (f->type) {
        case VMC_FIELD_STRING:
        case VMC_FIELD_OPT_STRING:
            same = g_strcmp0(*(char *const *) pa, *(char *const *) pb) == 0;
            break;
        case VMC_FIELD_UINT:
            same = *(const guint *) pa == *(const guint *) pb;
            break;
        case VMC_FIELD_BOOL:
            same = !*(const gboolean *) pa == !*(const gboolean *) pb;
            break;
        case VMC_FIELD_BYTES: {
            GBytes *x = *(GBytes *const *) pa;
            GBytes *y = *(GBytes *const *) pb;
            same = (!x && !y) || (x && y && g_bytes_equal(x, y));
            break;
        }
        case VMC_FIELD_NETWORKS:
        case VMC_FIELD_SHARED_DIRS:
            same = vmc_list_equal(f->type, *(GPtrArray *const *) pa, *(GPtrArray *const *) pb);
            break;
        }
        if (!same)
            return FALSE;
    }
    return TRUE;
}

#define VMC_STRING_ACCESSORS(member) \
    const char *vmc_config_get_##member(const VmcConfig *cfg) \
    { \
        g_return_val_if_fail(cfg != NULL, NULL); \
        return cfg->member; \
    } \
    void vmc_config_set_##member(VmcConfig *cfg, const char *value) \
    { \
        g_return_if_fail(cfg != NULL); \
        if (cfg->member != value) { \
            g_free(cfg->member); \
            cfg->member = g_strdup(value); \
        } \
    }

#define VMC_SCALAR_ACCESSORS(member, ctype) \
    ctype vmc_config_get_##member(const VmcConfig *cfg) \
    { \
        g_return_val_if_fail(cfg != NULL, 0); \
        return cfg->member; \
    } \
    void vmc_config_set_##member(VmcConfig *cfg, ctype value) \
    { \
        g_return_if_fail(cfg != NULL); \
        cfg->member = value; \
    }

/**
 * vmc_config_get_name:
 * @cfg: a config
 *
 * Returns: (nullable): the VM's name (the libvirt domain name), or
 *   %NULL if unset.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_name:
 * @cfg: a config
 * @value: (nullable): the VM's name; copied
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(name)

/**
 * vmc_config_get_namespace:
 * @cfg: a config
 *
 * Returns: the VM's namespace (a group, say a stack); "" for none, never
 *   %NULL.
 *
 * Since: 0.1
 */
const char *
vmc_config_get_namespace(const VmcConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    return cfg->namespace;
}

/* No namespace is the empty one: the domain's metadata cannot tell them
 * apart, so neither does the config. */
/**
 * vmc_config_set_namespace:
 * @cfg: a config
 * @value: (nullable): the namespace; copied. %NULL is the same as "", no
 *   namespace.
 *
 * Since: 0.1
 */
void
vmc_config_set_namespace(VmcConfig *cfg, const char *value)
{
    g_return_if_fail(cfg != NULL);
    if (cfg->namespace != value) {
        g_free(cfg->namespace);
        cfg->namespace = g_strdup(value ? value : "");
    }
}

/**
 * vmc_config_get_kernel:
 * @cfg: a config
 *
 * Returns: (nullable): the path of the kernel image, or %NULL if unset.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_kernel:
 * @cfg: a config
 * @value: (nullable): the path of the kernel image (direct kernel boot);
 *   copied
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(kernel)

/**
 * vmc_config_get_initramfs:
 * @cfg: a config
 *
 * Returns: (nullable): the path of the initramfs, or %NULL for none.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_initramfs:
 * @cfg: a config
 * @value: (nullable): the path of the initramfs; copied. %NULL for
 *   none
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(initramfs)

/**
 * vmc_config_get_root_disk:
 * @cfg: a config
 *
 * Returns: (nullable): the path of the root disk image, or %NULL for
 *   none.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_root_disk:
 * @cfg: a config
 * @value: (nullable): the path of the root disk image (raw or qcow2);
 *   copied. %NULL for none
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(root_disk)

/**
 * vmc_config_get_data_disk:
 * @cfg: a config
 *
 * Returns: (nullable): the path of the data disk image, or %NULL for
 *   none.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_data_disk:
 * @cfg: a config
 * @value: (nullable): the path of the data disk image (raw or qcow2);
 *   copied. %NULL for none
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(data_disk)

/**
 * vmc_config_get_seed_iso:
 * @cfg: a config
 *
 * Returns: (nullable): the path of the cloud-init NoCloud seed, or
 *   %NULL for none.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_seed_iso:
 * @cfg: a config
 * @value: (nullable): the path of a cloud-init NoCloud seed, attached
 *   read-only; copied. %NULL for none
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(seed_iso)

/**
 * vmc_config_get_serial_log:
 * @cfg: a config
 *
 * Returns: (nullable): the file that receives the guest's serial
 *   console, or %NULL if unset.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_serial_log:
 * @cfg: a config
 * @value: (nullable): the file that receives the guest's serial
 *   console; copied
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(serial_log)

/**
 * vmc_config_get_cmdline:
 * @cfg: a config
 *
 * Returns: (nullable): the kernel command line, or %NULL for the
 *   default one.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_cmdline:
 * @cfg: a config
 * @value: (nullable): the kernel command line; copied. %NULL for the
 *   default one
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(cmdline)

/**
 * vmc_config_get_netns:
 * @cfg: a config
 *
 * Returns: (nullable): the named network namespace of the VM's NICs,
 *   or %NULL for none.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_netns:
 * @cfg: a config
 * @value: (nullable): a named network namespace (`ip netns add NAME`)
 *   for the VM's TAP NICs; copied. %NULL for none
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(netns)

/**
 * vmc_config_get_efi_variable_store:
 * @cfg: a config
 *
 * Returns: (nullable): the UEFI NVRAM file, or %NULL when the VM does
 *   not boot with UEFI.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_efi_variable_store:
 * @cfg: a config
 * @value: (nullable): the UEFI NVRAM file; copied. %NULL boots
 *   without UEFI
 *
 * Since: 0.1
 */
VMC_STRING_ACCESSORS(efi_variable_store)

/**
 * vmc_config_get_cpus:
 * @cfg: a config
 *
 * Returns: the number of vCPUs; 0 until set.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_cpus:
 * @cfg: a config
 * @value: the number of vCPUs
 *
 * Since: 0.1
 */
VMC_SCALAR_ACCESSORS(cpus, guint)

/**
 * vmc_config_get_memory_mb:
 * @cfg: a config
 *
 * Returns: the memory in MiB; 0 until set.
 *
 * Since: 0.1
 */

/**
 * vmc_config_set_memory_mb:
 * @cfg: a config
 * @value: the memory in MiB
 *
 * Since: 0.1
 */
VMC_SCALAR_ACCESSORS(memory_mb, guint)

/**
 * vmc_config_get_vsock:
 * @cfg: a config
 *
 * Returns: %TRUE when the VM gets a virtio-vsock device.
 *
 * Since: 0.1
 */
gboolean
vmc_config_get_vsock(const VmcConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    return cfg->vsock;
}

/**
 * vmc_config_set_vsock:
 * @cfg: a config
 * @vsock: whether the VM gets a virtio-vsock device
 *
 * Since: 0.1
 */
void
vmc_config_set_vsock(VmcConfig *cfg, gboolean vsock)
{
    g_return_if_fail(cfg != NULL);
    cfg->vsock = !!vsock;
}

/**
 * vmc_config_get_rosetta:
 * @cfg: a config
 *
 * Returns: the rosetta field (Apple's x86 translation; vmc_config_validate()
 *   refuses %TRUE).
 *
 * Since: 0.1
 */
gboolean
vmc_config_get_rosetta(const VmcConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    return cfg->rosetta;
}

/**
 * vmc_config_set_rosetta:
 * @cfg: a config
 * @rosetta: the rosetta field (Apple only; vmc_config_validate() refuses
 *   %TRUE)
 *
 * Since: 0.1
 */
void
vmc_config_set_rosetta(VmcConfig *cfg, gboolean rosetta)
{
    g_return_if_fail(cfg != NULL);
    cfg->rosetta = !!rosetta;
}

/**
 * vmc_config_get_machine_id:
 * @cfg: a config
 * @len: (out) (optional): where to store the length in bytes
 *
 * Returns: (transfer none) (nullable): the machine id, or %NULL if unset.
 *
 * Since: 0.1
 */
const guint8 *
vmc_config_get_machine_id(const VmcConfig *cfg, gsize *len)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    if (!cfg->machine_id) {
        if (len)
            *len = 0;
        return NULL;
    }
    return g_bytes_get_data(cfg->machine_id, len);
}

/**
 * vmc_config_set_machine_id:
 * @cfg: a config
 * @id: (nullable) (array length=len): the bytes; %NULL unsets the field
 * @len: the number of bytes (vmc_config_validate() wants 16)
 *
 * Since: 0.1
 */
void
vmc_config_set_machine_id(VmcConfig *cfg, const guint8 *id, gsize len)
{
    g_return_if_fail(cfg != NULL);
    g_clear_pointer(&cfg->machine_id, g_bytes_unref);
    if (id)
        cfg->machine_id = g_bytes_new(id, len);
}

/**
 * vmc_config_get_n_networks:
 * @cfg: a config
 *
 * Returns: the number of NICs.
 *
 * Since: 0.1
 */
guint
vmc_config_get_n_networks(const VmcConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, 0);
    return cfg->networks->len;
}

/**
 * vmc_config_get_network:
 * @cfg: a config
 * @index: the NIC's position, from 0
 *
 * Returns: (transfer none): the NIC at @index.
 *
 * Since: 0.1
 */
const VmcNetworkAttachment *
vmc_config_get_network(const VmcConfig *cfg, guint index)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    g_return_val_if_fail(index < cfg->networks->len, NULL);
    return g_ptr_array_index(cfg->networks, index);
}

/**
 * vmc_config_add_network:
 * @cfg: a config
 * @net: (transfer full): the NIC to append
 *
 * Since: 0.1
 */
void
vmc_config_add_network(VmcConfig *cfg, VmcNetworkAttachment *net)
{
    g_return_if_fail(cfg != NULL);
    g_return_if_fail(net != NULL);
    g_ptr_array_add(cfg->networks, net);
}

/**
 * vmc_config_clear_networks:
 * @cfg: a config
 *
 * Removes and frees every NIC.
 *
 * Since: 0.1
 */
void
vmc_config_clear_networks(VmcConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    g_ptr_array_set_size(cfg->networks, 0);
}

/**
 * vmc_config_get_n_shared_dirs:
 * @cfg: a config
 *
 * Returns: the number of shares.
 *
 * Since: 0.1
 */
guint
vmc_config_get_n_shared_dirs(const VmcConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, 0);
    return cfg->shared_dirs->len;
}

/**
 * vmc_config_get_shared_dir:
 * @cfg: a config
 * @index: the share's position, from 0
 *
 * Returns: (transfer none): the share at @index.
 *
 * Since: 0.1
 */
const VmcSharedDir *
vmc_config_get_shared_dir(const VmcConfig *cfg, guint index)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    g_return_val_if_fail(index < cfg->shared_dirs->len, NULL);
    return g_ptr_array_index(cfg->shared_dirs, index);
}

/**
 * vmc_config_add_shared_dir:
 * @cfg: a config
 * @dir: (transfer full): the share to append
 *
 * Since: 0.1
 */
void
vmc_config_add_shared_dir(VmcConfig *cfg, VmcSharedDir *dir)
{
    g_return_if_fail(cfg != NULL);
    g_return_if_fail(dir != NULL);
    g_ptr_array_add(cfg->shared_dirs, dir);
}

/**
 * vmc_config_clear_shared_dirs:
 * @cfg: a config
 *
 * Removes and frees every share.
 *
 * Since: 0.1
 */
void
vmc_config_clear_shared_dirs(VmcConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    g_ptr_array_set_size(cfg->shared_dirs, 0);
}

gboolean
vmc_mac_parse(const char *mac, guint8 out[6])
{
    if (!mac || strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 6; i++) {
        int hi = g_ascii_xdigit_value(mac[i * 3]);
        int lo = g_ascii_xdigit_value(mac[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && mac[i * 3 + 2] != ':'))
            return FALSE;
        out[i] = (guint8) (hi << 4 | lo);
    }
    return TRUE;
}

gboolean
vmc_ip_address_valid(const char *address)
{
    struct in6_addr buf;

    return address && (inet_pton(AF_INET, address, &buf) == 1 ||
                       inet_pton(AF_INET6, address, &buf) == 1);
}

char *
vmc_bytes_to_hex(GBytes *bytes)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(bytes, &len);
    GString *out = g_string_sized_new(len * 2 + 4);

    for (gsize i = 0; i < len; i++) {
        /* 16 bytes read as a UUID: 8-4-4-4-12 */
        if (len == 16 && (i == 4 || i == 6 || i == 8 || i == 10))
            g_string_append_c(out, '-');
        g_string_append_printf(out, "%02x", data[i]);
    }
    return g_string_free(out, FALSE);
}

GBytes *
vmc_bytes_from_hex(const char *hex)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    int high = -1;

    for (const char *p = hex; *p; p++) {
        int v;

        if (*p == '-')
            continue;
        v = g_ascii_xdigit_value(*p);
        if (v < 0)
            return NULL;
        if (high < 0) {
            high = v;
        } else {
            guint8 b = (guint8) (high << 4 | v);
            g_byte_array_append(out, &b, 1);
            high = -1;
        }
    }
    if (high >= 0)
        return NULL;
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}
