/*
 * vmc-lv-preflight.c: a local host checked before boot: the config's
 * files, the directories above them for QEMU's user, TAP devices and
 * netns, KVM and vsock; and the TAP devices moved to and from netns
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
vmc_check_file(const VmcConfig *cfg, const char *field, const char *path, gboolean dir,
               gboolean writable, GError **error)
{
    struct stat st;

    if (!path)
        return TRUE;
    if (stat(path, &st) < 0)
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' %s",
                        vmc_config_get_name(cfg), field, path,
                        errno == ENOENT ? "does not exist" : g_strerror(errno));
    if (dir != !!S_ISDIR(st.st_mode))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' is %s, not %s",
                        vmc_config_get_name(cfg), field, path, dir ? "a file" : "a directory",
                        dir ? "a directory" : "a file");
    if (access(path, R_OK | (writable ? W_OK : 0) | (dir ? X_OK : 0)) < 0)
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' cannot be %s: %s",
                        vmc_config_get_name(cfg), field, path,
                        writable ? "read and written" : "read", g_strerror(errno));
    return TRUE;
}

/* Under qemu:///system QEMU runs as another user: libvirt relabels the
 * files themselves, but every directory above them must let that user
 * through, or QEMU fails late with "Permission denied". */
static gboolean
vmc_check_traversable(const VmcConfig *cfg, const char *field, const char *path,
                      const struct passwd *qemu_user, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);

    while (strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
        struct stat st;
        gboolean ok;
        char *parent;

        if (stat(dir, &st) < 0)
            break;
        /* As the kernel decides: owner, then any group of the user, then others. */
        ok = vmc_host_user_may(qemu_user, &st, X_OK);
        if (!ok)
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': QEMU runs as user '%s', which cannot enter directory '%s' "
                            "to reach %s '%s': allow it (chmod o+x '%s') or move the file",
                            vmc_config_get_name(cfg), qemu_user->pw_name, dir, field, path, dir);
        parent = g_path_get_dirname(dir);
        g_free(dir);
        dir = parent;
    }
    return TRUE;
}

/* NICs on this host: a TAP that does not exist is made at boot (and is
 * the driver's to remove); a bridge must exist and be a Linux bridge.
 * With netns every NIC must be a TAP device: nothing else can be moved
 * there. */
static gboolean
vmc_check_nics(const VmcConfig *cfg, GError **error)
{
    const char *netns = vmc_config_get_netns(cfg);
    const char *name = vmc_config_get_name(cfg);

    if (netns && !vmc_netns_exists(netns))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': network namespace '%s' does not exist (ip netns add %s)",
                        name, netns, netns);
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        VmcNetworkKind kind = vmc_network_attachment_get_kind(net);
        const char *source = vmc_network_attachment_get_source(net);

        if (netns && kind != VMC_NETWORK_TAP)
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': networks[%u] is a '%s' NIC, but with netns every NIC "
                            "must be a TAP device (it is moved into '%s' after start)",
                            name, i, vmc_network_kind_to_string(kind), netns);
        if (kind == VMC_NETWORK_BRIDGE) {
            g_autofree char *dev = g_build_filename("/sys/class/net", source, NULL);
            g_autofree char *bridge = g_build_filename(dev, "bridge", NULL);

            if (!g_file_test(dev, G_FILE_TEST_EXISTS))
                return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                "VM '%s': networks[%u].bridge: bridge '%s' does not exist on "
                                "this host (ip link add %s type bridge; ip link set %s up)",
                                name, i, source, source, source);
            if (!g_file_test(bridge, G_FILE_TEST_IS_DIR))
                return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                "VM '%s': networks[%u].bridge: '%s' is a network device but "
                                "not a Linux bridge; name a bridge, or use a tap NIC",
                                name, i, source);
        }
    }
    return TRUE;
}

/**
 * vmc_check_networks:
 * @driver: a driver
 * @conn: its connection
 * @cfg: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Each libvirt network that a NIC names must exist and be active, on
 * whichever host libvirt runs.
 *
 * Returns: %TRUE, or %FALSE with %VMC_ERROR_INVALID_CONFIG naming the
 * network and what to do.
 */
gboolean
vmc_check_networks(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg, GError **error)
{
    const char *name = vmc_config_get_name(cfg);

    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *network = vmc_network_attachment_get_source(net);
        virNetworkPtr found;
        int active;

        if (vmc_network_attachment_get_kind(net) != VMC_NETWORK_NETWORK)
            continue;
        found = virNetworkLookupByName(conn, network);
        if (!found) {
            int code = virGetLastErrorCode();
            g_autofree char *why = g_strdup(virGetLastErrorMessage());

            if (code == VIR_ERR_NO_NETWORK || code == VIR_ERR_NO_SUPPORT)
                virResetLastError();
            if (code == VIR_ERR_NO_NETWORK)
                return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                "VM '%s': networks[%u].network: libvirt network '%s' does not "
                                "exist on %s (virsh net-list --all shows those that do)",
                                name, i, network, driver->hub->uri);
            if (code == VIR_ERR_NO_SUPPORT)
                return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                "VM '%s': networks[%u].network: %s has no libvirt networks "
                                "(%s): use a bridge, tap or user NIC, or the system daemon",
                                name, i, driver->hub->uri, why);
            return vmc_libvirt_error(error, VMC_OP_START,
                                     "VM '%s': cannot look up libvirt network '%s'", name,
                                     network);
        }
        active = virNetworkIsActive(found);
        virNetworkFree(found);
        if (active == 0)
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': networks[%u].network: libvirt network '%s' is not active "
                            "(virsh net-start %s)", name, i, network, network);
        virResetLastError();
    }
    return TRUE;
}

/* Where each of the VM's TAP devices is now: TRUE for inside its netns.
 * NULL for a VM without netns. */
GArray *
vmc_taps_where(const VmcConfig *cfg)
{
    const char *netns = vmc_config_get_netns(cfg);
    GArray *inside;

    if (!netns)
        return NULL;
    inside = g_array_new(FALSE, FALSE, sizeof(gboolean));
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const char *tap = vmc_network_attachment_get_source(vmc_config_get_network(cfg, i));
        gboolean in = vmc_netns_has_link(netns, tap);
        g_array_append_val(inside, in);
    }
    return inside;
}

/* Puts each TAP device back where vmc_taps_where() found it: what a boot
 * that failed undoes. Best effort: a device that cannot be moved is where
 * libvirt left it. */
void
vmc_taps_restore(const VmcConfig *cfg, GArray *where)
{
    const char *netns = vmc_config_get_netns(cfg);

    for (guint i = 0; netns && where && i < where->len; i++) {
        const char *tap = vmc_network_attachment_get_source(vmc_config_get_network(cfg, i));
        gboolean in = g_array_index(where, gboolean, i);

        if (vmc_netns_has_link(in ? netns : NULL, tap))
            continue;
        vmc_netns_move_link(tap, in ? NULL : netns, in ? netns : NULL, NULL);
    }
}

/* Moves the VM's TAP devices between the host's namespace and its netns. */
gboolean
vmc_move_taps(const VmcConfig *cfg, gboolean into, GError **error)
{
    const char *netns = vmc_config_get_netns(cfg);

    for (guint i = 0; netns && i < vmc_config_get_n_networks(cfg); i++) {
        const char *tap = vmc_network_attachment_get_source(vmc_config_get_network(cfg, i));

        if (vmc_netns_has_link(into ? netns : NULL, tap))
            continue;
        if (!vmc_netns_move_link(tap, into ? NULL : netns, into ? netns : NULL, error)) {
            g_prefix_error(error, "VM '%s': ", vmc_config_get_name(cfg));
            return FALSE;
        }
    }
    return TRUE;
}

/* The first port a process without privileges may bind here. */
static guint
vmc_unprivileged_port_start(void)
{
    g_autofree char *text = NULL;
    guint64 port;

    if (g_file_get_contents("/proc/sys/net/ipv4/ip_unprivileged_port_start", &text, NULL, NULL) &&
        g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, 65536, &port, NULL))
        return (guint) port;
    return 1024;
}

gboolean
vmc_check_forwards(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    const char *name = vmc_config_get_name(cfg);
    g_autofree char *why = NULL;

    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        guint n = vmc_network_attachment_get_n_forwards(net);

        if (!n)
            continue;
        if (!why && (why = vmc_lv_no_passt_why(driver)))
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': networks[%u].forwards: the host of %s cannot forward "
                            "ports to a user NIC: %s; its user NICs are QEMU's slirp, which "
                            "would take the forwards and forward nothing. Nothing was defined. "
                            "Port forwards need a libvirt that takes <backend type='passt'/> "
                            "(Debian 13's 11.3 does, Debian 12's 9.0 does not) and the passt "
                            "package on that host",
                            name, i, driver->hub->uri, why);
        if (!driver->local)
            continue;
        /* libvirt runs passt as QEMU's user. */
        {
            g_autofree struct passwd *user = vmc_host_qemu_user(driver->hub->uri);
            guint first = vmc_unprivileged_port_start();

            for (guint k = 0; user && user->pw_uid != 0 && k < n; k++) {
                const VmcPortForward *fwd = vmc_network_attachment_get_forward(net, k);

                if (vmc_port_forward_get_host_port(fwd) < first)
                    return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                    "VM '%s': networks[%u].forwards[%u]: host port %u is "
                                    "privileged, and passt runs as user '%s', which may not "
                                    "listen on it (the first port it may take is %u, "
                                    "net.ipv4.ip_unprivileged_port_start): pick a host port "
                                    "of %u or above", name, i, k,
                                    vmc_port_forward_get_host_port(fwd), user->pw_name, first,
                                    first);
            }
        }
    }
    return TRUE;
}

/* libvirt's embedded driver makes a VM's QEMU monitor socket at
 * ROOT/lib/qemu/domain-ID-NAME/monitor.sock, NAME cut to 20 characters,
 * and a UNIX socket's path holds 107 bytes at most: past that the start
 * fails ("UNIX socket path ... too long"), as it does under a long home
 * directory. Room is left for IDs of up to 4 digits. */
#define VMC_SOCKET_PATH_MAX 107
#define VMC_EMBED_SOCKET_ROOM (sizeof("/lib/qemu/domain-") - 1 + 4 + 1 + \
                               sizeof("/monitor.sock") - 1)

static gboolean
vmc_check_embed_root(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_autofree char *root = vmc_lv_embed_root(driver);
    const char *name = vmc_config_get_name(cfg);
    gsize name_len = MIN(strlen(name), 20);
    gsize need;

    if (!root)
        return TRUE;
    need = strlen(root) + VMC_EMBED_SOCKET_ROOM + name_len;
    if (need <= VMC_SOCKET_PATH_MAX)
        return TRUE;
    return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                    "VM '%s': the embedded driver's root '%s' is too long for it: libvirt "
                    "makes QEMU's monitor socket at %s/lib/qemu/domain-ID-%.20s/monitor.sock, "
                    "up to %" G_GSIZE_FORMAT " bytes, and a UNIX socket path holds %d at most: "
                    "use a root of at most %" G_GSIZE_FORMAT " bytes (VMC_EMBED_ROOT, or -c "
                    "'qemu:///embed?root=DIR')%s",
                    name, root, root, name, need, VMC_SOCKET_PATH_MAX,
                    VMC_SOCKET_PATH_MAX - VMC_EMBED_SOCKET_ROOM - name_len,
                    name_len > 8 ? " or a shorter VM name" : "");
}

gboolean
vmc_driver_preflight(VmcDriver *driver, const VmcConfig *cfg, VmcAccel accel, GError **error)
{
    const struct {
        const char *field;
        const char *path;
        gboolean writable;
    } files[] = {
        { "kernel", vmc_config_get_kernel(cfg), FALSE },
        { "initramfs", vmc_config_get_initramfs(cfg), FALSE },
        { "root_disk", vmc_config_get_root_disk(cfg), TRUE },
        { "seed_iso", vmc_config_get_seed_iso(cfg), FALSE },
        { "data_disk", vmc_config_get_data_disk(cfg), TRUE },
    };
    g_autofree struct passwd *qemu_user = driver->system ? vmc_host_getpw("libvirt-qemu", 0)
                                                          : NULL;
    g_autofree char *log_dir = g_path_get_dirname(vmc_config_get_serial_log(cfg));
    const char *nvram = vmc_config_get_efi_variable_store(cfg);
    g_autoptr(GError) kvm_error = NULL;

    if (!vmc_check_embed_root(driver, cfg, error))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        if (!vmc_check_file(cfg, files[i].field, files[i].path, FALSE, files[i].writable, error))
            return FALSE;
        if (files[i].path && qemu_user &&
            !vmc_check_traversable(cfg, files[i].field, files[i].path, qemu_user, error))
            return FALSE;
    }
    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++) {
        const char *share = vmc_shared_dir_get_host_path(vmc_config_get_shared_dir(cfg, i));
        g_autofree char *share_field = g_strdup_printf("shared_dirs[%u].host_path", i);

        if (!vmc_check_file(cfg, share_field, share, TRUE, FALSE, error))
            return FALSE;
    }
    if (!vmc_check_file(cfg, "serial_log's directory", log_dir, TRUE, TRUE, error))
        return FALSE;
    if (qemu_user && !vmc_check_traversable(cfg, "serial_log", vmc_config_get_serial_log(cfg),
                                            qemu_user, error))
        return FALSE;
    if (nvram) {
        g_autofree char *nvram_dir = g_path_get_dirname(nvram);
        if (!vmc_check_file(cfg, "efi_variable_store's directory", nvram_dir, TRUE, TRUE, error))
            return FALSE;
    }
    if (!vmc_check_nics(cfg, error))
        return FALSE;
    if (accel == VMC_ACCEL_KVM && !vmc_host_kvm_runs(&kvm_error))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': accelerator 'kvm' was asked for, but on this host (%s) %s: "
                        "boot it with --accel qemu (TCG), or leave --accel out",
                        vmc_config_get_name(cfg), vmc_lv_get_uri(driver), kvm_error->message);
    if (vmc_config_get_vsock(cfg) && !vmc_host_has_vhost_vsock())
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': vsock is on, but this host has no /dev/vhost-vsock: load the "
                        "vhost_vsock kernel module (modprobe vhost_vsock) or set vsock to false",
                        vmc_config_get_name(cfg));
    return TRUE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)

/* The target directory of a storage pool, from its XML. */
static char *
vmc_pool_target(virStoragePoolPtr pool)
{
    char *raw = virStoragePoolGetXMLDesc(pool, 0);
    g_autoptr(xmlDoc) doc = raw ? vmc_xml_parse(raw, -1, NULL) : NULL;
    g_autoptr(xmlXPathContext) ctxt = doc ? xmlXPathNewContext(doc) : NULL;
    xmlNode *path = ctxt ? vmc_xml_find(ctxt, "/pool/target/path") : NULL;

    free(raw);
    virResetLastError();
    return path ? vmc_xml_text(path) : NULL;
}

/* @path on the remote host, through its storage pools: a file a pool
 * holds is there; a file missing from the directory of a pool (refreshed
 * first) is not, and is refused before anything is defined; a path in no
 * pool's directory is left to libvirt, whose refusal at start names it. */
static gboolean
vmc_check_remote_file(VmcDriver *driver, virConnectPtr conn, virStoragePoolPtr *pools,
                      int n_pools, const VmcConfig *cfg, const char *field, const char *path,
                      GError **error)
{
    g_autoptr(virStorageVol) vol = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *base = NULL;

    if (!path)
        return TRUE;
    vol = virStorageVolLookupByPath(conn, path);
    virResetLastError();
    if (vol)
        return TRUE;
    dir = g_path_get_dirname(path);
    base = g_path_get_basename(path);
    for (int i = 0; i < n_pools; i++) {
        g_autofree char *target = vmc_pool_target(pools[i]);
        g_autoptr(virStorageVol) there = NULL;

        if (g_strcmp0(target, dir) != 0)
            continue;
        if (virStoragePoolRefresh(pools[i], 0) == 0)
            there = virStorageVolLookupByName(pools[i], base);
        virResetLastError();
        if (!there)
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': %s '%s' does not exist on host '%s' (its storage pool "
                            "'%s' has no volume '%s'): paths name files on that host; copy "
                            "the file there, or let 'up --stage' do it; nothing was defined",
                            vmc_config_get_name(cfg), field, path, driver->hub->uri,
                            virStoragePoolGetName(pools[i]), base);
    }
    return TRUE;
}

/**
 * vmc_check_remote_files:
 * @driver: a driver of a remote host
 * @conn: its connection
 * @cfg: the VM
 * @error: return location for a #GError, or %NULL
 *
 * The config's files checked on the host that will run the VM, through
 * libvirt alone (never this machine's file system): see
 * vmc_check_remote_file().
 *
 * Returns: %FALSE with %VMC_ERROR_INVALID_CONFIG naming the field and the
 * host.
 */
gboolean
vmc_check_remote_files(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                       GError **error)
{
    const struct {
        const char *field;
        const char *path;
    } files[] = {
        { "kernel", vmc_config_get_kernel(cfg) },
        { "initramfs", vmc_config_get_initramfs(cfg) },
        { "root_disk", vmc_config_get_root_disk(cfg) },
        { "seed_iso", vmc_config_get_seed_iso(cfg) },
        { "data_disk", vmc_config_get_data_disk(cfg) },
    };
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    gboolean ok = TRUE;

    virResetLastError();
    for (gsize i = 0; ok && i < G_N_ELEMENTS(files); i++)
        ok = vmc_check_remote_file(driver, conn, pools, MAX(n, 0), cfg, files[i].field,
                                   files[i].path, error);
    for (int i = 0; i < n; i++)
        virStoragePoolFree(pools[i]);
    free(pools);
    return ok;
}
