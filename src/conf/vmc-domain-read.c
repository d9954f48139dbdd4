/*
 * vmc-domain-read.c: libvirt domain XML back to a VmcConfig
 *
 * Our own documents read back to the config they came from; the metadata
 * element says what was generated rather than given. A foreign domain
 * reads into the closest config, and every part of it that a VmcConfig
 * cannot hold is named in a warning.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"
#include "vmc-meta-private.h"

#include <string.h>

typedef struct {
    VmcConfig *cfg;
    GPtrArray *warnings;
    gboolean ours;
    GHashTable *share_views;   /* tag -> host_path of a share served from a view */
    GPtrArray *quoted;         /* what vmc_q() and vmc_e() gave out */
} VmcReader;

/* @value from the document, quoted for a warning (vmc_quote_value());
 * the reader keeps the string until it is done. */
static const char *
vmc_q(VmcReader *r, const char *value)
{
    char *q = vmc_quote_value(value ? value : "");

    g_ptr_array_add(r->quoted, q);
    return q;
}

/* An element name from the document, escaped but not quoted. */
static const char *
vmc_e(VmcReader *r, const xmlChar *name)
{
    char *e = vmc_escape_text((const char *) name);

    g_ptr_array_add(r->quoted, e);
    return e;
}

static void G_GNUC_PRINTF(2, 3)
vmc_warn(VmcReader *r, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    g_ptr_array_add(r->warnings, g_strdup_vprintf(fmt, args));
    va_end(args);
}

static gboolean
vmc_name_is(xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && strcmp((const char *) node->name, name) == 0;
}

static xmlNode *
vmc_first_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next) {
        if (vmc_name_is(n, name))
            return n;
    }
    return NULL;
}

/* The size in @node (with its unit attribute, KiB by default) in MiB. */
static gboolean
vmc_read_mib(VmcReader *r, xmlNode *node, guint *out, GError **error)
{
    static const struct {
        const char *unit;
        guint64 bytes;
    } units[] = {
        { "b", 1 }, { "bytes", 1 },
        { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
        { "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
        { "GB", 1000000000 }, { "G", 1 << 30 }, { "GiB", 1 << 30 },
        { "TB", 1000000000000 }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
    };
    g_autofree char *text = vmc_xml_text(node);
    g_autofree char *unit = vmc_xml_prop(node, "unit");
    guint64 value, scale = 0, bytes, mib;

    for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_strcmp0(unit ? unit : "KiB", units[i].unit) == 0)
            scale = units[i].bytes;
    }
    if (!text || !g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, G_MAXUINT64, &value, NULL) ||
        scale == 0 || value > G_MAXUINT64 / scale) {
        g_autofree char *qt = vmc_quote_value(text ? text : "");
        g_autofree char *qu = vmc_quote_value(unit ? unit : "KiB");
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML: <memory> %s (unit %s) is not a size: a whole number of "
                    "bytes, KiB, MiB, GiB or TiB below 16 EiB", qt, qu);
        return FALSE;
    }
    bytes = value * scale;
    mib = bytes >> 20;
    if (bytes & ((1 << 20) - 1)) {
        vmc_warn(r, "memory of %" G_GUINT64_FORMAT " bytes is not whole MiB; rounded up", bytes);
        mib++;
    }
    if (mib > G_MAXUINT) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML: <memory> of %" G_GUINT64_FORMAT " MiB is more than a VmcConfig "
                    "holds (%u MiB)", mib, G_MAXUINT);
        return FALSE;
    }
    *out = (guint) mib;
    return TRUE;
}

/* A count in @text: digits only, 1 to G_MAXUINT. */
static gboolean
vmc_read_count(const char *what, const char *text, guint *out, GError **error)
{
    g_autofree char *copy = g_strdup(text ? text : "");
    guint64 value;

    if (!g_ascii_string_to_unsigned(g_strstrip(copy), 10, 1, G_MAXUINT, &value, NULL)) {
        g_autofree char *q = vmc_quote_value(text ? text : "");
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML: %s %s is not a count: digits only, 1 to %u", what, q, G_MAXUINT);
        return FALSE;
    }
    *out = (guint) value;
    return TRUE;
}

static void
vmc_read_metadata(VmcReader *r, xmlDoc *doc, gboolean *uuid_generated,
                  gboolean *cmdline_generated, GHashTable *generated_macs)
{
    xmlNode *vm = vmc_meta_find(doc);
    g_autoptr(VmcMeta) meta = NULL;
    g_auto(GStrv) indexes = NULL;

    if (!vm) {
        vmc_warn(r, "no virt-vmconfig metadata: the domain was not made by virt-vmconfig; "
                    "its namespace is left empty");
        return;
    }
    meta = vmc_meta_read(vm);
    /* An adopted domain is ours to manage, but another tool wrote it: what
     * rendering it again would change is still said. */
    r->ours = !meta->adopted;
    vmc_config_set_namespace(r->cfg, meta->ns);
    if (meta->netns)
        vmc_config_set_netns(r->cfg, meta->netns);
    /* Read-only shares that a driver served from a view of host_path. */
    for (guint i = 0; i < meta->shares->len; i++) {
        const VmcMetaShare *share = g_ptr_array_index(meta->shares, i);

        g_hash_table_insert(r->share_views, g_strdup(share->tag), g_strdup(share->host_path));
    }
    *uuid_generated = meta->generated_uuid;
    *cmdline_generated = meta->generated_cmdline;
    indexes = g_strsplit(meta->generated_macs ? meta->generated_macs : "", " ", -1);
    for (char **i = indexes; *i; i++) {
        guint64 index;

        if (!**i)
            continue;
        if (g_ascii_string_to_unsigned(*i, 10, 0, VMC_CONFIG_NETWORKS_MAX, &index, NULL)) {
            g_hash_table_add(generated_macs, GUINT_TO_POINTER((guint) index + 1));
        } else {
            g_autofree char *q = vmc_quote_value(*i);
            vmc_warn(r, "metadata: generated MAC index %s is not a NIC index; ignored", q);
        }
    }
}

static void
vmc_read_os(VmcReader *r, xmlNode *os, gboolean cmdline_generated)
{
    for (xmlNode *n = os ? os->children : NULL; n; n = n->next) {
        g_autofree char *text = NULL;

        if (n->type != XML_ELEMENT_NODE)
            continue;
        text = vmc_xml_text(n);
        if (vmc_name_is(n, "kernel")) {
            vmc_config_set_kernel(r->cfg, text);
        } else if (vmc_name_is(n, "initrd")) {
            vmc_config_set_initramfs(r->cfg, text);
        } else if (vmc_name_is(n, "cmdline")) {
            if (!cmdline_generated)
                vmc_config_set_cmdline(r->cfg, text);
        } else if (vmc_name_is(n, "nvram")) {
            g_autofree char *source = NULL;
            xmlNode *src = vmc_first_child(n, "source");

            /* libvirt 9 may write the path as a <source file=...> child */
            if (src && (source = vmc_xml_prop(src, "file")))
                vmc_config_set_efi_variable_store(r->cfg, source);
            else
                vmc_config_set_efi_variable_store(r->cfg, text);
        } else if (vmc_name_is(n, "type") && !r->ours) {
            g_autofree char *machine = vmc_xml_prop(n, "machine");
            g_autofree char *arch = vmc_xml_prop(n, "arch");

            /* Rendered again, an x86_64 VM gets q35. */
            if (machine && (!arch || g_str_equal(arch, "x86_64")) &&
                !g_str_has_prefix(machine, "q35") && !g_str_has_prefix(machine, "pc-q35"))
                vmc_warn(r, "machine type %s becomes q35 (PCIe) when rendered again",
                         vmc_q(r, machine));
        } else if (vmc_name_is(n, "type") || vmc_name_is(n, "firmware") ||
                   (vmc_name_is(n, "loader") && r->ours)) {
            /* rendered from the options, or chosen by libvirt for firmware='efi' */
        } else if (vmc_name_is(n, "boot")) {
            /* libvirt adds <boot dev='hd'/>; a direct kernel boot ignores it, and
             * without a kernel the warning below says enough */
        } else {
            vmc_warn(r, "os/%s has no VmcConfig equivalent; dropped", vmc_e(r, n->name));
        }
    }
    if (!vmc_config_get_kernel(r->cfg))
        vmc_warn(r, "no os/kernel: the domain does not boot a kernel directly; set 'kernel' "
                    "before using the config");
}

typedef struct {
    xmlNode *node;
    char *path;
    char *alias;
    gboolean read_only;
} VmcDiskSeen;

static void
vmc_read_disks(VmcReader *r, GPtrArray *disks)
{
    const char *roles[] = { "root_disk", "seed_iso", "data_disk" };
    char *assigned[G_N_ELEMENTS(roles)] = { NULL };
    GPtrArray *unassigned = g_ptr_array_new();

    /* Our aliases say each disk's role; foreign disks fill the roles in order. */
    for (guint i = 0; i < disks->len; i++) {
        VmcDiskSeen *d = g_ptr_array_index(disks, i);
        gboolean placed = FALSE;

        for (gsize k = 0; k < G_N_ELEMENTS(roles) && d->alias; k++) {
            g_autofree char *want = g_strdup_printf("%s%s", VMC_DISK_ALIAS_PREFIX, roles[k]);
            g_strdelimit(want, "_", '-');
            if (!assigned[k] && strcmp(d->alias, want) == 0) {
                assigned[k] = d->path;
                placed = TRUE;
            }
        }
        if (!placed)
            g_ptr_array_add(unassigned, d);
    }
    for (guint i = 0; i < unassigned->len; i++) {
        VmcDiskSeen *d = g_ptr_array_index(unassigned, i);
        gsize k = d->read_only ? 1 : (!assigned[0] ? 0 : 2);

        if (!assigned[k]) {
            assigned[k] = d->path;
            continue;
        }
        vmc_warn(r, "disk %s is one disk more than a VmcConfig holds (root, seed, data); "
                    "dropped", vmc_q(r, d->path));
    }
    vmc_config_set_root_disk(r->cfg, assigned[0]);
    vmc_config_set_seed_iso(r->cfg, assigned[1]);
    vmc_config_set_data_disk(r->cfg, assigned[2]);
    g_ptr_array_unref(unassigned);
}

static void
vmc_disk_seen_free(gpointer data)
{
    VmcDiskSeen *d = data;

    g_free(d->path);
    g_free(d->alias);
    g_free(d);
}

static void
vmc_read_disk(VmcReader *r, xmlNode *disk, GPtrArray *disks)
{
    g_autofree char *type = vmc_xml_prop(disk, "type");
    g_autofree char *device = vmc_xml_prop(disk, "device");
    xmlNode *source = vmc_first_child(disk, "source");
    g_autofree char *path = vmc_xml_prop(source, g_strcmp0(type, "block") == 0 ? "dev" : "file");
    VmcDiskSeen *d;

    if (g_strcmp0(type, "file") != 0 && g_strcmp0(type, "block") != 0) {
        vmc_warn(r, "disk of type %s has no VmcConfig equivalent (only files and block "
                    "devices); dropped", vmc_q(r, type));
        return;
    }
    if (g_strcmp0(device, "disk") != 0 && g_strcmp0(device, "cdrom") != 0) {
        vmc_warn(r, "disk device %s has no VmcConfig equivalent; dropped", vmc_q(r, device));
        return;
    }
    if (!path) {
        vmc_warn(r, "%s without a medium; dropped", vmc_q(r, device));
        return;
    }
    d = g_new0(VmcDiskSeen, 1);
    d->node = disk;
    d->path = g_steal_pointer(&path);
    d->alias = vmc_xml_prop(vmc_first_child(disk, "alias"), "name");
    d->read_only = vmc_first_child(disk, "readonly") != NULL || g_strcmp0(device, "cdrom") == 0;
    g_ptr_array_add(disks, d);
}

static void
vmc_read_filesystem(VmcReader *r, xmlNode *fs)
{
    xmlNode *driver = vmc_first_child(fs, "driver");
    g_autofree char *driver_type = vmc_xml_prop(driver, "type");
    g_autofree char *type = vmc_xml_prop(fs, "type");
    g_autofree char *dir = vmc_xml_prop(vmc_first_child(fs, "source"), "dir");
    g_autofree char *tag = vmc_xml_prop(vmc_first_child(fs, "target"), "dir");
    const char *host_path;

    if ((type && strcmp(type, "mount") != 0) || !dir || !tag) {
        vmc_warn(r, "filesystem of type %s has no VmcConfig equivalent; dropped", vmc_q(r, type));
        return;
    }
    if (g_strcmp0(driver_type, "virtiofs") != 0)
        vmc_warn(r, "filesystem %s uses %s, not virtiofs; it becomes a virtiofs share",
                 vmc_q(r, tag), driver_type ? vmc_q(r, driver_type) : "the default driver");
    host_path = g_hash_table_lookup(r->share_views, tag);
    vmc_config_add_shared_dir(r->cfg,
                              vmc_shared_dir_new(host_path ? host_path : dir, tag,
                                                 host_path || vmc_first_child(fs, "readonly")));
}

/* The <portForward> elements of a user interface, each of one <range>
 * (start and to); a range of several ports, an exclusion or a port
 * without a number has no VmcConfig equivalent. */
static GPtrArray *
vmc_read_port_forwards(VmcReader *r, xmlNode *iface)
{
    GPtrArray *forwards = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_port_forward_free);

    for (xmlNode *pf = iface->children; pf; pf = pf->next) {
        g_autofree char *proto_name = NULL;
        g_autofree char *address = NULL;
        g_autofree char *start = NULL;
        g_autofree char *to = NULL;
        g_autofree char *end = NULL;
        g_autofree char *exclude = NULL;
        xmlNode *range;
        VmcForwardProto proto;
        guint64 host_port, guest_port;
        guint ranges = 0;

        if (!vmc_name_is(pf, "portForward"))
            continue;
        proto_name = vmc_xml_prop(pf, "proto");
        address = vmc_xml_prop(pf, "address");
        range = vmc_first_child(pf, "range");
        for (xmlNode *n = pf->children; n; n = n->next)
            ranges += vmc_name_is(n, "range");
        if (ranges != 1) {
            vmc_warn(r, "a port forward without exactly one range has no VmcConfig "
                        "equivalent; dropped");
            continue;
        }
        start = vmc_xml_prop(range, "start");
        to = vmc_xml_prop(range, "to");
        end = vmc_xml_prop(range, "end");
        exclude = vmc_xml_prop(range, "exclude");
        if (!vmc_forward_proto_from_string(proto_name, &proto) || !start || end || exclude ||
            !g_ascii_string_to_unsigned(start, 10, 1, VMC_CONFIG_PORT_MAX, &host_port, NULL) ||
            !g_ascii_string_to_unsigned(to ? to : start, 10, 1, VMC_CONFIG_PORT_MAX,
                                        &guest_port, NULL)) {
            vmc_warn(r, "port forward %s %s has no VmcConfig equivalent; dropped",
                     vmc_q(r, proto_name), vmc_q(r, start));
            continue;
        }
        g_ptr_array_add(forwards, vmc_port_forward_new(proto, address, (guint) host_port,
                                                       (guint) guest_port));
    }
    return forwards;
}

static void
vmc_read_interface(VmcReader *r, xmlNode *iface, GHashTable *generated_macs)
{
    g_autofree char *type = vmc_xml_prop(iface, "type");
    g_autofree char *mac = vmc_xml_prop(vmc_first_child(iface, "mac"), "address");
    g_autofree char *model = vmc_xml_prop(vmc_first_child(iface, "model"), "type");
    xmlNode *source = vmc_first_child(iface, "source");
    g_autofree char *source_name = NULL;
    guint index = vmc_config_get_n_networks(r->cfg);
    VmcNetworkKind kind;

    if (g_strcmp0(type, "ethernet") == 0) {
        kind = VMC_NETWORK_TAP;
        source_name = vmc_xml_prop(vmc_first_child(iface, "target"), "dev");
        if (!source_name) {
            vmc_warn(r, "ethernet interface without a target device; dropped");
            return;
        }
    } else if (g_strcmp0(type, "bridge") == 0) {
        kind = VMC_NETWORK_BRIDGE;
        source_name = vmc_xml_prop(source, "bridge");
    } else if (g_strcmp0(type, "network") == 0) {
        kind = VMC_NETWORK_NETWORK;
        source_name = vmc_xml_prop(source, "network");
    } else if (g_strcmp0(type, "user") == 0) {
        kind = VMC_NETWORK_USER;
    } else {
        vmc_warn(r, "interface of type %s has no VmcConfig equivalent; dropped", vmc_q(r, type));
        return;
    }
    if (kind != VMC_NETWORK_USER && !source_name) {
        vmc_warn(r, "%s interface without a source; dropped", vmc_q(r, type));
        return;
    }
    if (model && strcmp(model, "virtio") != 0)
        vmc_warn(r, "interface model %s becomes virtio", vmc_q(r, model));
    if (g_hash_table_contains(generated_macs, GUINT_TO_POINTER(index + 1)))
        g_clear_pointer(&mac, g_free);
    if (kind == VMC_NETWORK_USER) {
        g_autoptr(GPtrArray) forwards = vmc_read_port_forwards(r, iface);

        vmc_config_add_network(r->cfg, vmc_network_attachment_new_with_forwards(
                                           kind, NULL, mac,
                                           (const VmcPortForward *const *) forwards->pdata,
                                           forwards->len));
        return;
    }
    vmc_config_add_network(r->cfg, vmc_network_attachment_new(kind, source_name, mac));
}

static void
vmc_read_serial(VmcReader *r, xmlNode *serial)
{
    g_autofree char *type = vmc_xml_prop(serial, "type");
    g_autofree char *path = vmc_xml_prop(vmc_first_child(serial, "source"), "path");
    g_autofree char *log = vmc_xml_prop(vmc_first_child(serial, "log"), "file");

    if (vmc_config_get_serial_log(r->cfg)) {
        vmc_warn(r, "a second serial port has no VmcConfig equivalent; dropped");
        return;
    }
    if (g_strcmp0(type, "file") == 0 && path) {
        vmc_config_set_serial_log(r->cfg, path);
    } else if (g_strcmp0(type, "pty") == 0 && log) {
        /* What the render makes: a console on a pty, logged to the file. */
        vmc_config_set_serial_log(r->cfg, log);
    } else if (log) {
        vmc_config_set_serial_log(r->cfg, log);
        vmc_warn(r, "serial port of type %s logs to %s; serial_log takes that file and the "
                    "port becomes a plain file", vmc_q(r, type), vmc_q(r, log));
    } else {
        vmc_warn(r, "serial port of type %s writes to no file; set serial_log", vmc_q(r, type));
    }
}

/* Devices libvirt adds on its own, or that we always render: nothing to say. */
static const char *const vmc_implied_devices[] = {
    "emulator", "controller", "input", "memballoon", "rng", "console", "panic", NULL,
};

static void
vmc_read_devices(VmcReader *r, xmlNode *devices, GHashTable *generated_macs)
{
    g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(vmc_disk_seen_free);
    gboolean usb_warned = FALSE;

    for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (vmc_name_is(n, "disk")) {
            vmc_read_disk(r, n, disks);
        } else if (vmc_name_is(n, "filesystem")) {
            vmc_read_filesystem(r, n);
        } else if (vmc_name_is(n, "interface")) {
            vmc_read_interface(r, n, generated_macs);
        } else if (vmc_name_is(n, "serial")) {
            vmc_read_serial(r, n);
        } else if (vmc_name_is(n, "vsock")) {
            g_autofree char *address = vmc_xml_prop(vmc_first_child(n, "cid"), "address");
            g_autofree char *automatic = vmc_xml_prop(vmc_first_child(n, "cid"), "auto");
            vmc_config_set_vsock(r->cfg, TRUE);
            if (address && g_strcmp0(automatic, "yes") != 0)
                vmc_warn(r, "vsock CID %s was fixed; a VmcConfig always picks it automatically",
                         vmc_q(r, address));
        } else if (vmc_name_is(n, "controller") && !r->ours) {
            g_autofree char *type = vmc_xml_prop(n, "type");
            g_autofree char *model = vmc_xml_prop(n, "model");

            /* PCI controllers are libvirt's to add; USB is not rendered at all. */
            if (g_strcmp0(type, "usb") == 0 && g_strcmp0(model, "none") != 0 && !usb_warned) {
                vmc_warn(r, "USB controller%s%s dropped: VMs get no USB", model ? " " : "",
                         model ? vmc_q(r, model) : "");
                usb_warned = TRUE;
            }
        } else if (!g_strv_contains(vmc_implied_devices, (const char *) n->name)) {
            g_autofree char *type = vmc_xml_prop(n, "type");

            if (vmc_name_is(n, "audio") && g_strcmp0(type, "none") == 0)
                continue;  /* libvirt's way of saying "no sound" */
            if (vmc_name_is(n, "watchdog")) {
                g_autofree char *model = vmc_xml_prop(n, "model");
                g_autofree char *action = vmc_xml_prop(n, "action");

                /* The iTCO watchdog built into every q35 machine, which a
                 * newer libvirt writes in (11.3 does, 9.0 does not): nothing
                 * to say. */
                if (g_strcmp0(model, "itco") == 0 &&
                    (!action || g_strcmp0(action, "reset") == 0))
                    continue;
                vmc_warn(r, "watchdog %s%s%s has no VmcConfig equivalent; dropped",
                         model ? vmc_q(r, model) : "(no model)", action ? " with action " : "",
                         action ? vmc_q(r, action) : "");
                continue;
            }
            if (type)
                vmc_warn(r, "device <%s type=%s> has no VmcConfig equivalent; dropped",
                         vmc_e(r, n->name), vmc_q(r, type));
            else
                vmc_warn(r, "device <%s> has no VmcConfig equivalent; dropped",
                         vmc_e(r, n->name));
        }
    }
    vmc_read_disks(r, disks);
    if (!vmc_first_child(devices, "serial"))
        vmc_warn(r, "the domain has no serial port: serial_log is empty");
}

/* Top-level elements that carry nothing a VmcConfig holds nor changes. */
/* The CPU libvirt writes into a TCG domain that names none (ours too):
 * custom mode, model qemu64, no features. */
static gboolean
vmc_cpu_is_libvirt_default(xmlNode *cpu)
{
    g_autofree char *mode = vmc_xml_prop(cpu, "mode");
    g_autofree char *model = vmc_xml_text(vmc_first_child(cpu, "model"));

    if (g_strcmp0(mode ? mode : "custom", "custom") != 0 || vmc_first_child(cpu, "feature") ||
        vmc_first_child(cpu, "topology") || vmc_first_child(cpu, "numa"))
        return FALSE;
    return !model || g_strcmp0(g_strstrip(model), "qemu64") == 0;
}

/* What a foreign domain sets that rendering it again would change: the
 * clock, power management, hypervisor features and lifecycle actions. */
static void
vmc_read_foreign_settings(VmcReader *r, xmlNode *root)
{
    static const struct {
        const char *element;
        const char *ours;
    } actions[] = {
        { "on_poweroff", "destroy" },
        { "on_reboot", "restart" },
        { "on_crash", "destroy" },
    };
    xmlNode *clock = vmc_first_child(root, "clock");
    xmlNode *pm = vmc_first_child(root, "pm");
    xmlNode *features = vmc_first_child(root, "features");

    if (clock) {
        g_autofree char *offset = vmc_xml_prop(clock, "offset");

        if (offset && strcmp(offset, "utc") != 0)
            vmc_warn(r, "clock offset %s becomes utc", vmc_q(r, offset));
        if (vmc_first_child(clock, "timer"))
            vmc_warn(r, "clock timer settings dropped (libvirt's defaults apply)");
    }
    for (xmlNode *n = pm ? pm->children : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            vmc_warn(r, "power management settings (<pm>) dropped");
            break;
        }
    }
    for (xmlNode *n = features ? features->children : NULL; n; n = n->next) {
        /* ACPI is rendered; QEMU gives x86 guests an APIC and PAE anyway. */
        if (n->type == XML_ELEMENT_NODE && !vmc_name_is(n, "acpi") && !vmc_name_is(n, "apic") &&
            !vmc_name_is(n, "pae"))
            vmc_warn(r, "features/%s dropped", vmc_e(r, n->name));
    }
    for (gsize i = 0; i < G_N_ELEMENTS(actions); i++) {
        g_autofree char *action = vmc_xml_text(vmc_first_child(root, actions[i].element));

        if (action && strcmp(g_strstrip(action), actions[i].ours) != 0)
            vmc_warn(r, "%s %s becomes '%s'", actions[i].element, vmc_q(r, action),
                     actions[i].ours);
    }
}

static const char *const vmc_implied_elements[] = {
    "clock", "on_poweroff", "on_reboot", "on_crash", "pm", "resource", "seclabel",
    "currentMemory", "features", NULL,
};

/**
 * vmc_config_from_domain_xml:
 * @xml: libvirt domain XML
 * @warnings: (out) (optional) (transfer full): what the config could not
 *   keep, one sentence each; free with g_strfreev()
 * @error: return location for a #GError, or %NULL
 *
 * The inverse of vmc_config_to_domain_xml(): every document it renders
 * (and libvirt's own rewrite of it) reads back to an equal config, with no
 * warnings. Any other domain reads into the closest config; every part of
 * it that a VmcConfig cannot hold is named in @warnings, never silently
 * dropped. The result is not validated.
 *
 * Returns: (transfer full): the config, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG set when @xml is not a domain.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_from_domain_xml(const char *xml, char ***warnings, GError **error)
{
    g_return_val_if_fail(xml != NULL, NULL);
    return vmc_config_from_domain_xml_data(xml, -1, warnings, error);
}

/**
 * vmc_config_from_domain_xml_data:
 * @xml: libvirt domain XML, @length bytes long
 * @length: the length of @xml in bytes, or -1 when it ends with a NUL
 * @warnings: (out) (optional) (transfer full): as for
 *   vmc_config_from_domain_xml()
 * @error: return location for a #GError, or %NULL
 *
 * vmc_config_from_domain_xml() of the contents of a file: a NUL byte
 * within @length is an error, not the end of the document. At most 4 MiB
 * are read; a document type declaration (and so any entity) is refused.
 *
 * Returns: (transfer full): the config, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG set.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_from_domain_xml_data(const char *xml, gssize length, char ***warnings, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_new(NULL);
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) generated_macs = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) share_views = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                              g_free);
    g_autoptr(GPtrArray) quoted = g_ptr_array_new_with_free_func(g_free);
    VmcReader r = { cfg, found, FALSE, share_views, quoted };
    gboolean uuid_generated = FALSE, cmdline_generated = FALSE;
    xmlNode *root, *node;
    guint memory = 0;

    g_return_val_if_fail(xml != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    doc = vmc_xml_parse(xml, length, error);
    if (!doc)
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!root || !vmc_name_is(root, "domain")) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML: the root element is <%s>, not <domain>",
                    root ? vmc_e(&r, root->name) : "");
        return NULL;
    }

    {
        g_autofree char *name = vmc_xml_text(vmc_first_child(root, "name"));
        vmc_config_set_name(cfg, name);
    }
    vmc_read_metadata(&r, doc, &uuid_generated, &cmdline_generated, generated_macs);

    node = vmc_first_child(root, "uuid");
    if (node && !uuid_generated) {
        g_autofree char *text = vmc_xml_text(node);
        g_autoptr(GBytes) bytes = vmc_bytes_from_hex(g_strstrip(text));
        if (!bytes || g_bytes_get_size(bytes) != 16) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                        "domain XML: <uuid> %s is not a UUID", vmc_q(&r, text));
            return NULL;
        }
        vmc_config_set_machine_id(cfg, g_bytes_get_data(bytes, NULL), 16);
    }

    node = vmc_first_child(root, "memory");
    if (node && !vmc_read_mib(&r, node, &memory, error))
        return NULL;
    vmc_config_set_memory_mb(cfg, memory);
    node = vmc_first_child(root, "vcpu");
    if (node) {
        g_autofree char *text = vmc_xml_text(node);
        g_autofree char *current = vmc_xml_prop(node, "current");
        guint cpus, now;

        if (!vmc_read_count("<vcpu>", text, &cpus, error))
            return NULL;
        if (current) {
            if (!vmc_read_count("<vcpu current>", current, &now, error))
                return NULL;
            if (now != cpus)
                vmc_warn(&r, "vcpu current=%u of %u: the config takes the current count", now,
                         cpus);
            cpus = now;
        }
        vmc_config_set_cpus(cfg, cpus);
    }

    for (node = root->children; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (vmc_name_is(node, "os")) {
            vmc_read_os(&r, node, cmdline_generated);
        } else if (vmc_name_is(node, "devices")) {
            vmc_read_devices(&r, node, generated_macs);
        } else if (vmc_name_is(node, "memoryBacking")) {
            for (xmlNode *n = node->children; n; n = n->next) {
                if (n->type == XML_ELEMENT_NODE && !vmc_name_is(n, "source") &&
                    !vmc_name_is(n, "access"))
                    vmc_warn(&r, "memoryBacking/%s has no VmcConfig equivalent; dropped",
                             vmc_e(&r, n->name));
            }
        } else if (vmc_name_is(node, "cpu") && !r.ours && !vmc_cpu_is_libvirt_default(node)) {
            g_autofree char *mode = vmc_xml_prop(node, "mode");
            vmc_warn(&r, "cpu mode %s has no VmcConfig equivalent; libvirt's default CPU is used",
                     vmc_q(&r, mode ? mode : "custom"));
        } else if (!vmc_name_is(node, "name") && !vmc_name_is(node, "uuid") &&
                   !vmc_name_is(node, "metadata") && !vmc_name_is(node, "memory") &&
                   !vmc_name_is(node, "vcpu") && !vmc_name_is(node, "cpu") &&
                   !g_strv_contains(vmc_implied_elements, (const char *) node->name)) {
            vmc_warn(&r, "<%s> has no VmcConfig equivalent; dropped", vmc_e(&r, node->name));
        }
    }

    if (!r.ours)
        vmc_read_foreign_settings(&r, root);
    node = vmc_first_child(root, "features");
    if (!vmc_first_child(node, "acpi"))
        vmc_warn(&r, "the domain has no ACPI; rendered again it gets ACPI, which graceful stop "
                     "needs");

    if (warnings) {
        g_ptr_array_add(found, NULL);
        *warnings = (char **) g_ptr_array_steal(found, NULL);
    }
    return g_steal_pointer(&cfg);
}
