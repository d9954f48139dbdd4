/*
 * vmc-validate.c: the rules a VmcConfig must meet before it is rendered
 *
 * Only rules that hold on any host live here. Whether files exist is a
 * question for boot time on the host that boots the VM.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <string.h>

static gboolean G_GNUC_PRINTF(3, 4)
vmc_invalid(GError **error, const VmcConfig *cfg, const char *fmt, ...)
{
    g_autofree char *detail = NULL;
    va_list args;

    va_start(args, fmt);
    detail = g_strdup_vprintf(fmt, args);
    va_end(args);

    if (cfg->name && *cfg->name) {
        /* all of it (a name may have 128 characters), escaped */
        g_autofree char *name = vmc_escape_text(cfg->name);
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s", name, detail);
    } else
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, detail);
    return FALSE;
}

static gboolean
vmc_is_safe_char(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

static gboolean
vmc_all_safe(const char *s)
{
    for (; *s; s++) {
        if (!vmc_is_safe_char(*s))
            return FALSE;
    }
    return TRUE;
}

/* Byte offset of the first character that is a control or a format
 * character (what vmc_quote_value() escapes), or -1. @s is UTF-8. */
static gssize
vmc_find_control(const char *s)
{
    const char *p = s;

    while (*p) {
        /* Paths and names are mostly printable ASCII: decoded only past it. */
        if ((guchar) *p >= 0x20 && (guchar) *p < 0x7f) {
            p++;
            continue;
        }
        if (!vmc_char_is_inert(g_utf8_get_char(p)))
            return p - s;
        p = g_utf8_next_char(p);
    }
    return -1;
}

static gboolean
vmc_validate_name(const VmcConfig *cfg, GError **error)
{
    const char *name = cfg->name ? cfg->name : "";
    g_autofree char *q = NULL;
    gsize len = strlen(name);

    /* The first four rules and their words are vm-rs's. */
    if (len == 0)
        return vmc_invalid(error, cfg, "VM name must not be empty");
    if (len <= VMC_CONFIG_NAME_MAX && vmc_all_safe(name) && name[0] != '.' && name[0] != '-')
        return TRUE;
    /* Quoted only for a message: every render validates its config. */
    q = vmc_quote_value(name);
    if (len > VMC_CONFIG_NAME_MAX)
        return vmc_invalid(error, cfg,
                           "VM name must be %d characters or fewer (got %zu characters: %s)",
                           VMC_CONFIG_NAME_MAX, len, q);
    if (!vmc_all_safe(name))
        return vmc_invalid(error, cfg,
                           "VM name must contain only alphanumeric characters, hyphens, "
                           "underscores, and dots (got %s)", q);
    if (name[0] == '.' || name[0] == '-')
        return vmc_invalid(error, cfg, "VM name must not start with '.' or '-' (got %s)", q);
    return TRUE;
}

static gboolean
vmc_validate_text(const VmcConfig *cfg, const char *field, const char *value, GError **error)
{
    gssize ctl;

    if (!g_utf8_validate(value, -1, NULL))
        return vmc_invalid(error, cfg, "%s must be valid UTF-8", field);
    ctl = vmc_find_control(value);
    if (ctl >= 0) {
        g_autofree char *q = vmc_quote_value(value);
        gunichar c = g_utf8_get_char(value + ctl);

        if (c < 0x80)
            return vmc_invalid(error, cfg,
                               "%s must not contain control characters (found \\x%02x at byte "
                               "%zd of %s)", field, c, ctl, q);
        return vmc_invalid(error, cfg,
                           "%s must not contain control characters, invisible formatting or "
                           "noncharacters (found U+%04X at byte %zd of %s)", field, c, ctl, q);
    }
    return TRUE;
}

/* libvirt's schema takes a file path as "/" and at least one character
 * more (absFilePath), a directory as "/" and anything (absDirPath). */
static gboolean
vmc_validate_path(const VmcConfig *cfg, const char *field, const char *path, gboolean is_dir,
                  GError **error)
{
    g_autofree char *q = NULL;

    if (!vmc_validate_text(cfg, field, path, error))
        return FALSE;
    if (g_path_is_absolute(path) && strlen(path) <= VMC_CONFIG_PATH_MAX &&
        (is_dir || path[strspn(path, "/")] != '\0'))
        return TRUE;
    /* Quoted only for a message: every render validates its config. */
    q = vmc_quote_value(path);
    if (!g_path_is_absolute(path))
        return vmc_invalid(error, cfg,
                           "%s must be an absolute path (got %s): the config may be used on "
                           "another host or from another directory", field, q);
    if (strlen(path) > VMC_CONFIG_PATH_MAX)
        return vmc_invalid(error, cfg, "%s is %zu bytes long: a path has at most %d (PATH_MAX)",
                           field, strlen(path), VMC_CONFIG_PATH_MAX);
    if (!is_dir && path[strspn(path, "/")] == '\0')
        return vmc_invalid(error, cfg, "%s %s names the root directory, not a file", field, q);
    return TRUE;
}

/* Linux interface names: 1-15 bytes, no '/', ':' or spaces, not "." or "..". */
static gboolean
vmc_validate_ifname(const VmcConfig *cfg, guint index, const char *key, const char *ifname,
                    const char *what, GError **error)
{
    g_autofree char *q = NULL;

    if (!ifname || !*ifname)
        return vmc_invalid(error, cfg, "networks[%u].%s must name the %s (it is empty)", index,
                           key, what);
    if (strlen(ifname) > VMC_CONFIG_IFNAME_MAX || !vmc_all_safe(ifname) ||
        strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0) {
        q = vmc_quote_value(ifname);
        return vmc_invalid(error, cfg,
                           "networks[%u].%s %s is not a valid %s name: use 1-%d characters of "
                           "A-Z a-z 0-9 _ . - (Linux interface names)",
                           index, key, q, what, VMC_CONFIG_IFNAME_MAX);
    }
    return TRUE;
}

static gboolean
vmc_validate_mac(const VmcConfig *cfg, guint i, GError **error)
{
    const VmcNetworkAttachment *net = g_ptr_array_index(cfg->networks, i);
    static const guint8 zero[6] = { 0 };
    g_autofree char *q = NULL;
    guint8 mac[6];
    gboolean ok = vmc_mac_parse(net->mac, mac);

    if (ok && !(mac[0] & 1) && memcmp(mac, zero, 6) != 0) {
        for (guint j = 0; j < i; j++) {
            const VmcNetworkAttachment *other = g_ptr_array_index(cfg->networks, j);
            if (g_strcmp0(other->mac, net->mac) == 0) {
                q = vmc_quote_value(net->mac);
                return vmc_invalid(error, cfg,
                                   "networks[%u].mac %s is already used by networks[%u]; "
                                   "every NIC needs its own MAC", i, q, j);
            }
        }
        return TRUE;
    }
    q = vmc_quote_value(net->mac);
    if (!ok)
        return vmc_invalid(error, cfg,
                           "networks[%u].mac %s is not a MAC address: use six two-digit hex "
                           "octets separated by ':', e.g. 52:54:00:12:34:56", i, q);
    if (mac[0] & 1)
        return vmc_invalid(error, cfg,
                           "networks[%u].mac %s is a multicast address: a NIC needs a unicast "
                           "MAC (first octet even), e.g. 52:54:00:12:34:56", i, q);
    return vmc_invalid(error, cfg, "networks[%u].mac %s is all zeros: use a real unicast MAC",
                       i, q);
}

/* Whether two forwards listen on the same host socket: one protocol and
 * port, and addresses that overlap (the same one, or either is every
 * address). */
static gboolean
vmc_forwards_clash(const VmcPortForward *a, const VmcPortForward *b)
{
    return a->proto == b->proto && a->host_port == b->host_port &&
           (!a->host_address || !b->host_address ||
            g_strcmp0(a->host_address, b->host_address) == 0);
}

/* The port forwards of NIC @i: only on a user NIC, ports 1-65535, a host
 * address that is an IP address, and no host socket taken twice in the
 * whole config. */
static gboolean
vmc_validate_forwards(const VmcConfig *cfg, guint i, GError **error)
{
    const VmcNetworkAttachment *net = g_ptr_array_index(cfg->networks, i);
    guint n = vmc_network_attachment_get_n_forwards(net);

    if (n && net->kind != VMC_NETWORK_USER)
        return vmc_invalid(error, cfg,
                           "networks[%u].forwards: only a 'user' NIC forwards ports (this one "
                           "is '%s'); reach a %s NIC's guest by its own address", i,
                           vmc_network_kind_to_string(net->kind),
                           vmc_network_kind_to_string(net->kind));
    if (n > VMC_CONFIG_FORWARDS_MAX)
        return vmc_invalid(error, cfg, "networks[%u].forwards has %u entries: at most %d", i, n,
                           VMC_CONFIG_FORWARDS_MAX);
    for (guint k = 0; k < n; k++) {
        const VmcPortForward *fwd = g_ptr_array_index(net->forwards, k);

        if (fwd->host_port < 1 || fwd->host_port > VMC_CONFIG_PORT_MAX)
            return vmc_invalid(error, cfg,
                               "networks[%u].forwards[%u].host_port %u is not a port: use 1-%d",
                               i, k, fwd->host_port, VMC_CONFIG_PORT_MAX);
        if (fwd->guest_port < 1 || fwd->guest_port > VMC_CONFIG_PORT_MAX)
            return vmc_invalid(error, cfg,
                               "networks[%u].forwards[%u].guest_port %u is not a port: use 1-%d",
                               i, k, fwd->guest_port, VMC_CONFIG_PORT_MAX);
        if (fwd->host_address && !vmc_ip_address_valid(fwd->host_address)) {
            g_autofree char *q = vmc_quote_value(fwd->host_address);
            return vmc_invalid(error, cfg,
                               "networks[%u].forwards[%u].host_address %s is not an IPv4 or "
                               "IPv6 address (leave it out for every address of the host)",
                               i, k, q);
        }
        /* Every earlier forward of this config, on this NIC or another. */
        for (guint j = 0; j <= i; j++) {
            const VmcNetworkAttachment *other = g_ptr_array_index(cfg->networks, j);
            guint m = j == i ? k : vmc_network_attachment_get_n_forwards(other);

            for (guint l = 0; l < m; l++) {
                const VmcPortForward *seen = g_ptr_array_index(other->forwards, l);

                if (vmc_forwards_clash(seen, fwd))
                    return vmc_invalid(error, cfg,
                                       "networks[%u].forwards[%u]: host port %u/%s is already "
                                       "forwarded by networks[%u].forwards[%u]; a host port "
                                       "reaches one guest port", i, k, fwd->host_port,
                                       vmc_forward_proto_to_string(fwd->proto), j, l);
            }
        }
    }
    return TRUE;
}

static gboolean
vmc_validate_networks(const VmcConfig *cfg, GError **error)
{
    if (cfg->networks->len > VMC_CONFIG_NETWORKS_MAX)
        return vmc_invalid(error, cfg,
                           "networks has %u NICs: a VM takes at most %d (each is a PCIe device "
                           "of its own)", cfg->networks->len, VMC_CONFIG_NETWORKS_MAX);
    for (guint i = 0; i < cfg->networks->len; i++) {
        const VmcNetworkAttachment *net = g_ptr_array_index(cfg->networks, i);

        switch (net->kind) {
        case VMC_NETWORK_TAP:
            if (!vmc_validate_ifname(cfg, i, "name", net->source, "TAP device", error))
                return FALSE;
            for (guint j = 0; j < i; j++) {
                const VmcNetworkAttachment *other = g_ptr_array_index(cfg->networks, j);
                if (other->kind == VMC_NETWORK_TAP && g_strcmp0(other->source, net->source) == 0) {
                    g_autofree char *q = vmc_quote_value(net->source);
                    return vmc_invalid(error, cfg,
                                       "networks[%u].name: TAP device %s is already used by "
                                       "networks[%u]; a TAP device can back only one NIC",
                                       i, q, j);
                }
            }
            break;
        case VMC_NETWORK_BRIDGE:
            if (!vmc_validate_ifname(cfg, i, "bridge", net->source, "bridge", error))
                return FALSE;
            break;
        case VMC_NETWORK_NETWORK:
            if (!net->source || !*net->source)
                return vmc_invalid(error, cfg,
                                   "networks[%u].network must name a libvirt network (it is empty)",
                                   i);
            if (!g_utf8_validate(net->source, -1, NULL) || vmc_find_control(net->source) >= 0) {
                g_autofree char *field = g_strdup_printf("networks[%u].network", i);
                return vmc_validate_text(cfg, field, net->source, error);
            }
            if (strchr(net->source, '/')) {
                g_autofree char *q = vmc_quote_value(net->source);
                return vmc_invalid(error, cfg, "networks[%u].network %s must not contain '/'", i,
                                   q);
            }
            break;
        case VMC_NETWORK_USER:
            if (net->source) {
                g_autofree char *q = vmc_quote_value(net->source);
                return vmc_invalid(error, cfg,
                                   "networks[%u]: a 'user' network takes no source (got %s)",
                                   i, q);
            }
            break;
        default:
            return vmc_invalid(error, cfg, "networks[%u]: unknown network kind %d", i, net->kind);
        }

        if (net->mac && !vmc_validate_mac(cfg, i, error))
            return FALSE;
        if (!vmc_validate_forwards(cfg, i, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
vmc_validate_shared_dirs(const VmcConfig *cfg, GError **error)
{
    if (cfg->shared_dirs->len > VMC_CONFIG_SHARED_DIRS_MAX)
        return vmc_invalid(error, cfg,
                           "shared_dirs has %u shares: a VM takes at most %d (each is a PCIe "
                           "device and a virtiofsd process of its own)", cfg->shared_dirs->len,
                           VMC_CONFIG_SHARED_DIRS_MAX);
    for (guint i = 0; i < cfg->shared_dirs->len; i++) {
        const VmcSharedDir *dir = g_ptr_array_index(cfg->shared_dirs, i);
        g_autofree char *q = NULL;
        gsize len = dir->tag ? strlen(dir->tag) : 0;

        if (!dir->host_path || !*dir->host_path)
            return vmc_invalid(error, cfg, "shared_dirs[%u].host_path must not be empty", i);
        {
            g_autofree char *path_field = g_strdup_printf("shared_dirs[%u].host_path", i);
            if (!vmc_validate_path(cfg, path_field, dir->host_path, TRUE, error))
                return FALSE;
        }
        if (len == 0 || len > VMC_CONFIG_TAG_MAX || !vmc_all_safe(dir->tag)) {
            q = vmc_quote_value(dir->tag);
            return vmc_invalid(error, cfg,
                               "shared_dirs[%u].tag %s is not a valid virtiofs tag: use 1-%d "
                               "characters of A-Z a-z 0-9 _ . - (the device holds at most %d bytes)",
                               i, q, VMC_CONFIG_TAG_MAX, VMC_CONFIG_TAG_MAX);
        }
        for (guint j = 0; j < i; j++) {
            const VmcSharedDir *other = g_ptr_array_index(cfg->shared_dirs, j);
            if (strcmp(other->tag, dir->tag) == 0) {
                q = vmc_quote_value(dir->tag);
                return vmc_invalid(error, cfg,
                                   "shared_dirs[%u].tag %s is already used by shared_dirs[%u]; "
                                   "the guest mounts shares by tag, so tags must be unique", i, q, j);
            }
        }
    }
    return TRUE;
}

/**
 * vmc_config_validate:
 * @cfg: a config
 * @error: return location for a #GError, or %NULL
 *
 * Checks every rule a config must meet on any host: vm-rs's seven rules
 * (with its messages) first, then absolute paths, the initramfs boot
 * needs, the kernel command line, virtiofs tags, NICs, the machine id,
 * Apple-only features and upper bounds. Files are not looked at.
 *
 * Returns: %TRUE if @cfg is valid; otherwise %FALSE with
 * %VMC_ERROR_INVALID_CONFIG set, its message naming the VM, the field and
 * the value, and what is allowed.
 *
 * Since: 0.1
 */
gboolean
vmc_config_validate(const VmcConfig *cfg, GError **error)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (!vmc_validate_name(cfg, error))
        return FALSE;
    if (cfg->cpus == 0)
        return vmc_invalid(error, cfg, "cpus must be at least 1 (got 0)");
    if (cfg->memory_mb == 0)
        return vmc_invalid(error, cfg, "memory_mb must be at least 1 (got 0)");
    if (!cfg->kernel || !*cfg->kernel)
        return vmc_invalid(error, cfg, "kernel path must not be empty");

    if (cfg->namespace && *cfg->namespace &&
        (strlen(cfg->namespace) > VMC_CONFIG_NAME_MAX || !vmc_all_safe(cfg->namespace))) {
        g_autofree char *q = vmc_quote_value(cfg->namespace);
        return vmc_invalid(error, cfg,
                           "namespace %s is not valid: use at most %d characters of "
                           "A-Z a-z 0-9 _ . - (or leave it empty)", q, VMC_CONFIG_NAME_MAX);
    }
    if (cfg->cpus > VMC_CONFIG_CPUS_MAX)
        return vmc_invalid(error, cfg, "cpus must be at most %d (got %u)",
                           VMC_CONFIG_CPUS_MAX, cfg->cpus);
    if (cfg->memory_mb > VMC_CONFIG_MEMORY_MB_MAX)
        return vmc_invalid(error, cfg, "memory_mb must be at most %u (16 TiB) (got %u)",
                           VMC_CONFIG_MEMORY_MB_MAX, cfg->memory_mb);
    if (!cfg->serial_log || !*cfg->serial_log)
        return vmc_invalid(error, cfg,
                           "serial_log must not be empty: the guest console and its ready "
                           "marker are written there");

    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        const char *path;

        if (!f->is_path)
            continue;
        path = *(char *const *) VMC_FIELD_CPTR(cfg, f);
        if (path && !*path && f->type == VMC_FIELD_OPT_STRING)
            return vmc_invalid(error, cfg, "%s is empty: leave it out (or null) when not used",
                               f->name);
        if (path && !vmc_validate_path(cfg, f->name, path, FALSE, error))
            return FALSE;
    }

    if (!cfg->root_disk && !cfg->initramfs)
        return vmc_invalid(error, cfg,
                           "initramfs is required when there is no root_disk: an initramfs "
                           "boot needs it as the root file system");

    if (cfg->cmdline) {
        if (!vmc_validate_text(cfg, "cmdline", cfg->cmdline, error))
            return FALSE;
        if (strlen(cfg->cmdline) > VMC_CONFIG_CMDLINE_MAX)
            return vmc_invalid(error, cfg,
                               "cmdline is %zu bytes long: the kernel takes at most %d",
                               strlen(cfg->cmdline), VMC_CONFIG_CMDLINE_MAX);
    }

    if (cfg->netns &&
        (!*cfg->netns || strlen(cfg->netns) > 64 || !vmc_all_safe(cfg->netns) ||
         strcmp(cfg->netns, ".") == 0 || strcmp(cfg->netns, "..") == 0)) {
        g_autofree char *q = vmc_quote_value(cfg->netns);
        return vmc_invalid(error, cfg,
                           "netns %s is not a valid network namespace name: use 1-64 "
                           "characters of A-Z a-z 0-9 _ . -", q);
    }

    if (!vmc_validate_networks(cfg, error))
        return FALSE;
    if (!vmc_validate_shared_dirs(cfg, error))
        return FALSE;

    if (cfg->machine_id && g_bytes_get_size(cfg->machine_id) != VMC_CONFIG_MACHINE_ID_LEN)
        return vmc_invalid(error, cfg,
                           "machine_id is %zu bytes long: it must be exactly %d bytes "
                           "(32 hex digits, a UUID), as it becomes the domain UUID",
                           g_bytes_get_size(cfg->machine_id), VMC_CONFIG_MACHINE_ID_LEN);

    if (cfg->rosetta)
        return vmc_invalid(error, cfg,
                           "rosetta is true, but Rosetta is Apple's x86 translation for "
                           "Apple Silicon and no libvirt host can provide it: set it to false");
    return TRUE;
}
