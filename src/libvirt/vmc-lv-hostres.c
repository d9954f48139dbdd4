/*
 * vmc-lv-hostres.c: what a boot makes on the host for a VM, and its
 * removal: TAP devices that did not exist, and read-only views of shares
 * for a libvirt that refuses virtiofs <readonly/>
 *
 * Both outlive QEMU (a TAP is persistent so that libvirt can open it by
 * name; a view is a mount). What a boot makes is recorded before it is
 * made: a boot first writes its mark (the TAPs it is about to create, in
 * the driver's run directory: <run>/virt-vmconfig/boots/<host>-<name>);
 * once defined, the domain's metadata names the TAPs the driver made; the
 * views of a VM live in one directory (<run>/virt-vmconfig/views/...).
 * One function, vmc_release(), removes exactly what those name, and is the
 * only code that removes TAPs and views: a failed boot's undo, the next
 * boot, stop, kill, delete, the stopped-VM path of the hub and gc call
 * it, always under the boot lock of the name. Readers (state, list,
 * lookup, wait, watch, export) never call it: a read would race a boot of
 * the same name on another client. A boot that completes removes its
 * mark; a mark found by any other caller is what a boot killed half-way
 * (the process SIGKILLed, libvirtd lost) left, and its release says in one
 * message (G_LOG_LEVEL_MESSAGE) what it removed. Removal is idempotent
 * and best effort: the VM is already stopped, so a device or mount that
 * will not go is logged (G_MESSAGES_DEBUG=vmconfig) and tried again by
 * the next of those operations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-resources.h"
#include "vmc-meta-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* <run>/virt-vmconfig/@kind: where the driver keeps what it makes on
 * this host, for every host URI; and the file of VM @name there. */
static char *
vmc_run_dir(const char *kind)
{
    return g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(), "virt-vmconfig",
                            kind, NULL);
}

static char *
vmc_run_prefix(VmcDriver *driver)
{
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, driver->hub->uri,
                                                              -1);

    return g_strdup_printf("%.16s-", uri_hash);
}

static char *
vmc_run_path(VmcDriver *driver, const char *kind, const char *name)
{
    g_autofree char *dir = vmc_run_dir(kind);
    g_autofree char *prefix = vmc_run_prefix(driver);
    g_autofree char *file = g_strconcat(prefix, name, NULL);

    return g_build_filename(dir, file, NULL);
}

/* <run>/virt-vmconfig/views/<host>-<name>: the views of one VM. */
char *
vmc_views_dir(VmcDriver *driver, const char *name)
{
    return vmc_run_path(driver, "views", name);
}

/* <run>/virt-vmconfig/boots/<host>-<name>: the mark of a boot of one VM
 * that has not completed. */
char *
vmc_boot_mark_path(VmcDriver *driver, const char *name)
{
    return vmc_run_path(driver, "boots", name);
}

/* Adds @what (taken) to the list of what a release removed. */
static void
vmc_removed_add(GStrvBuilder *removed, char *what)
{
    g_strv_builder_add(removed, what);
    g_free(what);
}

/* Unmounts and removes every view of @name: each is a directory with a
 * mount on it, or an empty one a failed boot left. */
static void
vmc_views_remove(VmcDriver *driver, const char *name, GStrvBuilder *removed)
{
    g_autofree char *dir = vmc_views_dir(driver, name);
    g_autoptr(GDir) views = g_dir_open(dir, 0, NULL);
    const char *tag;

    if (!views)
        return;
    while ((tag = g_dir_read_name(views))) {
        g_autofree char *view = g_build_filename(dir, tag, NULL);

        /* Detached at once: virtiofsd of a dying VM may still hold it. */
        if (umount2(view, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
            errno != ENOENT)
            g_debug("cannot unmount the read-only view %s: %s", view, g_strerror(errno));
        if (g_rmdir(view) == 0)
            vmc_removed_add(removed, g_strdup_printf("read-only view %s", view));
    }
    g_rmdir(dir);
}

static gboolean
vmc_view_make(const char *host_path, const char *view, GError **error)
{
    int saved;

    if (g_mkdir(view, 0755) < 0 && errno != EEXIST) {
        saved = errno;
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot create %s: %s", view,
                    g_strerror(saved));
        return FALSE;
    }
    /* Not recursive: a mount below host_path would stay writable, so it is
     * not shown at all. Private: nothing of it propagates elsewhere. */
    if (mount(host_path, view, NULL, MS_BIND, NULL) < 0) {
        saved = errno;
        g_rmdir(view);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot bind-mount it on %s: %s", view,
                    g_strerror(saved));
        return FALSE;
    }
    if (mount(NULL, view, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
            0 ||
        mount(NULL, view, NULL, MS_PRIVATE, NULL) < 0) {
        saved = errno;
        umount2(view, MNT_DETACH);
        g_rmdir(view);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot make %s read-only: %s", view,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* Whether the VM has a read-only share. */
static gboolean
vmc_config_has_read_only_share(const VmcConfig *cfg)
{
    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++) {
        if (vmc_shared_dir_get_read_only(vmc_config_get_shared_dir(cfg, i)))
            return TRUE;
    }
    return FALSE;
}

/* Makes a read-only view of each read-only share, when libvirt cannot
 * enforce read-only itself, and sets it in @opts; INVALID_CONFIG naming
 * the share when a view cannot be made (the views made so far stay for
 * the boot's release). */
gboolean
vmc_views_make(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
               VmcRenderOptions *opts, GError **error)
{
    const char *name = vmc_config_get_name(cfg);
    g_autofree char *dir = NULL;

    if (!vmc_config_has_read_only_share(cfg) || vmc_lv_native_readonly(driver))
        return TRUE;
    dir = vmc_views_dir(driver, name);
    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++) {
        const VmcSharedDir *share = vmc_config_get_shared_dir(cfg, i);
        const char *tag = vmc_shared_dir_get_tag(share);
        g_autofree char *view = g_build_filename(dir, tag, NULL);
        g_autoptr(GError) view_error = NULL;

        if (!vmc_shared_dir_get_read_only(share))
            continue;
        if (!driver->local) {
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': shared_dirs[%u] ('%s') is read-only, but libvirt on %s refuses "
                     "virtiofs read-only mode (libvirt 11.0 and virtiofsd 1.13 have it), and "
                     "the read-only bind "
                     "mount used instead can only be made on this host: share it writable or "
                     "use a newer libvirt", name, i, tag, driver->hub->uri);
            return FALSE;
        }
        if (g_mkdir_with_parents(dir, 0755) < 0 || !vmc_view_make(
                vmc_shared_dir_get_host_path(share), view, &view_error)) {
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': shared_dirs[%u] ('%s') is read-only; this libvirt refuses "
                     "virtiofs read-only mode, and the read-only view of %s that is shared "
                     "instead could not be made (%s); it is never shared writable: boot as root, "
                     "or share it writable",
                     name, i, tag, vmc_shared_dir_get_host_path(share),
                     view_error ? view_error->message : g_strerror(errno));
            return FALSE;
        }
        vmc_render_options_set_share_view(opts, tag, view);
    }
    return TRUE;
}

/* The owner a TAP made for QEMU gets: QEMU's user under qemu:///system,
 * none otherwise (libvirt opens the device, as the user it runs as). */
static gint64
vmc_tap_owner(VmcDriver *driver)
{
    g_autofree struct passwd *pw = driver->system ? vmc_host_qemu_user(driver->hub->uri)
                                                  : NULL;

    return pw ? (gint64) pw->pw_uid : -1;
}

/* The TAPs of the VM that exist neither in the host's namespace nor in
 * its netns: the ones a boot makes (empty when none, or not local). */
GStrv
vmc_taps_missing(VmcDriver *driver, const VmcConfig *cfg)
{
    g_autoptr(GStrvBuilder) missing = g_strv_builder_new();
    const char *netns = vmc_config_get_netns(cfg);

    for (guint i = 0; driver->local && i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *tap = vmc_network_attachment_get_source(net);

        if (vmc_network_attachment_get_kind(net) == VMC_NETWORK_TAP &&
            !vmc_netns_has_link(NULL, tap) && !(netns && vmc_netns_has_link(netns, tap)))
            g_strv_builder_add(missing, tap);
    }
    return g_strv_builder_end(missing);
}

/* Creates @taps (what vmc_taps_missing() found, recorded in the boot's
 * mark first); on failure says which device and why, and leaves the ones
 * made for the boot's release. */
gboolean
vmc_taps_create(VmcDriver *driver, const VmcConfig *cfg, const char *const *taps,
                GError **error)
{
    for (const char *const *tap = taps; *tap; tap++) {
        g_autoptr(GError) tap_error = NULL;

        if (!vmc_tap_create(*tap, vmc_tap_owner(driver), &tap_error) ||
            !vmc_netns_set_link_up(NULL, *tap, &tap_error)) {
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': TAP device '%s' does not exist and could not be made (%s): run "
                     "as root, or create it first (ip tuntap add dev %s mode tap)",
                     vmc_config_get_name(cfg), *tap, tap_error->message, *tap);
            return FALSE;
        }
    }
    return TRUE;
}

/* Removes @taps wherever they are: the host's namespace or @netns; adds
 * each one that was there to @removed. */
static void
vmc_taps_remove(const char *netns, const char *const *taps, GStrvBuilder *removed)
{
    for (const char *const *tap = taps; tap && *tap; tap++) {
        g_autoptr(GError) host_error = NULL;
        g_autoptr(GError) ns_error = NULL;
        gboolean in_netns = netns && vmc_netns_exists(netns) && vmc_netns_has_link(netns, *tap);

        if (vmc_netns_has_link(NULL, *tap)) {
            if (vmc_netns_delete_link(NULL, *tap, &host_error))
                vmc_removed_add(removed, g_strdup_printf("TAP %s", *tap));
            else
                g_debug("%s", host_error->message);
        }
        if (in_netns) {
            if (vmc_netns_delete_link(netns, *tap, &ns_error))
                vmc_removed_add(removed, g_strdup_printf("TAP %s (netns %s)", *tap, netns));
            else
                g_debug("%s", ns_error->message);
        }
    }
}

/* The mark of a boot: what it is about to make, written before it makes
 * any of it (atomically: a kill leaves the old mark or the new). */
gboolean
vmc_boot_mark_write(VmcDriver *driver, const VmcConfig *cfg, const char *const *taps,
                    GError **error)
{
    g_autoptr(GKeyFile) mark = NULL;
    g_autofree char *path = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!driver->local)
        return TRUE;
    mark = g_key_file_new();
    path = vmc_boot_mark_path(driver, vmc_config_get_name(cfg));
    dir = g_path_get_dirname(path);
    g_key_file_set_string(mark, "boot", "vm", vmc_config_get_name(cfg));
    if (vmc_config_get_netns(cfg))
        g_key_file_set_string(mark, "boot", "netns", vmc_config_get_netns(cfg));
    g_key_file_set_string_list(mark, "boot", "taps", taps, g_strv_length((char **) taps));
    data = g_key_file_to_data(mark, &len, NULL);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;

        return vmc_fail(error, VMC_ERROR_IO, "VM '%s': cannot record the boot in %s: %s",
                        vmc_config_get_name(cfg), dir, g_strerror(saved));
    }
    if (!g_file_set_contents_full(path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT,
                                  0600, &local))
        return vmc_fail(error, VMC_ERROR_IO, "VM '%s': cannot record the boot: %s",
                        vmc_config_get_name(cfg), local->message);
    return TRUE;
}

/* The boot completed: what it made is the domain's now (its metadata). */
void
vmc_boot_mark_clear(VmcDriver *driver, const char *name)
{
    g_autofree char *path = NULL;

    if (!driver->local)
        return;
    path = vmc_boot_mark_path(driver, name);
    g_unlink(path);
}

/* The netns and the TAPs the driver made, from a domain's XML. */
void
vmc_domain_owned(const char *xml, char **netns, GStrv *taps)
{
    g_autoptr(xmlDoc) doc = xml ? vmc_xml_parse(xml, -1, NULL) : NULL;
    xmlNode *vm = vmc_meta_find(doc);
    g_autoptr(VmcMeta) meta = vm ? vmc_meta_read(vm) : NULL;

    *netns = meta ? g_strdup(meta->netns) : NULL;
    *taps = meta ? vmc_meta_dup_owned_taps(meta) : g_new0(char *, 1);
}

/**
 * vmc_release:
 * @driver: a driver
 * @name: a VM, whose boot lock the caller holds
 * @xml: (nullable): its definition, whose metadata names the TAPs the
 *   driver made for it
 * @own_boot: whether the caller is the boot that wrote the mark (its
 *   undo), so that a mark is no news
 *
 * The release path: removes what the driver made for the stopped VM
 * @name, exactly what its definition, its boot mark and its views
 * directory name, and the mark. Idempotent; nothing on a remote host (the
 * driver makes nothing there). A mark that was not the caller's own is
 * what a boot killed half-way left: one message says what was removed.
 *
 * Returns: (transfer full): what was removed ("TAP vmc-t0", "read-only
 *   view /run/...").
 */
GStrv
vmc_release(VmcDriver *driver, const char *name, const char *xml, gboolean own_boot)
{
    g_autoptr(GStrvBuilder) removed = g_strv_builder_new();
    g_autofree char *netns = NULL;
    g_auto(GStrv) taps = NULL;
    g_autofree char *mark_path = NULL;
    g_autoptr(GKeyFile) mark = NULL;
    g_auto(GStrv) what = NULL;

    if (!driver->local)
        return g_strv_builder_end(removed);
    vmc_domain_owned(xml, &netns, &taps);
    vmc_taps_remove(netns, (const char *const *) taps, removed);
    mark_path = vmc_boot_mark_path(driver, name);
    mark = g_key_file_new();
    if (!g_key_file_load_from_file(mark, mark_path, G_KEY_FILE_NONE, NULL))
        g_clear_pointer(&mark, g_key_file_unref);
    if (mark) {
        g_autofree char *mark_netns = g_key_file_get_string(mark, "boot", "netns", NULL);
        g_auto(GStrv) mark_taps = g_key_file_get_string_list(mark, "boot", "taps", NULL, NULL);

        vmc_taps_remove(mark_netns, (const char *const *) mark_taps, removed);
    }
    vmc_views_remove(driver, name, removed);
    what = g_strv_builder_end(removed);
    if (mark && g_unlink(mark_path) == 0 && !own_boot) {
        g_autofree char *list = g_strjoinv(", ", what);

        g_message("VM '%s': an earlier boot of it did not finish (interrupted, or libvirtd "
                  "lost); removed what it left: %s", name, *what ? list : "nothing (it had "
                  "made nothing yet)");
    }
    return g_steal_pointer(&what);
}

/* Whether anything the driver made for the VM is still there. */
static gboolean
vmc_host_resources_left(VmcDriver *driver, const char *name, const char *netns,
                        const char *const *taps)
{
    g_autofree char *views = vmc_views_dir(driver, name);
    g_autofree char *mark = vmc_boot_mark_path(driver, name);

    for (const char *const *tap = taps; *tap; tap++) {
        if (vmc_netns_has_link(NULL, *tap) || (netns && vmc_netns_has_link(netns, *tap)))
            return TRUE;
    }
    return g_file_test(views, G_FILE_TEST_EXISTS) || g_file_test(mark, G_FILE_TEST_EXISTS);
}

/* The release of @dom once it is found stopped (after a stop, a kill, a
 * crash), unless a boot of it is under way: that boot releases for
 * itself. */
void
vmc_release_if_stopped(VmcDriver *driver, virDomainPtr dom)
{
    g_autofree char *name = NULL;
    g_autofree char *netns = NULL;
    g_auto(GStrv) taps = NULL;
    g_autoptr(VmcBootLock) lock = NULL;
    char *xml;

    if (!driver->local)
        return;
    name = g_strdup(virDomainGetName(dom));
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    virResetLastError();
    vmc_domain_owned(xml, &netns, &taps);
    if (vmc_host_resources_left(driver, name, netns, (const char *const *) taps) &&
        (lock = vmc_boot_lock_try(driver, name)) && virDomainIsActive(dom) == 0)
        g_strfreev(vmc_release(driver, name, xml, FALSE));
    virResetLastError();
    free(xml);
}

/* gc: the release of every VM of this host whose boot left a mark and is
 * neither under way (its lock is free) nor running; returns how many. */
guint
vmc_release_unfinished_boots(VmcDriver *driver, virConnectPtr conn)
{
    g_autofree char *dir = vmc_run_dir("boots");
    g_autofree char *prefix = vmc_run_prefix(driver);
    g_autoptr(GDir) marks = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *file;
    guint n = 0;

    if (!driver->local || !(marks = g_dir_open(dir, 0, NULL)))
        return 0;
    while ((file = g_dir_read_name(marks))) {
        if (g_str_has_prefix(file, prefix) && file[strlen(prefix)])
            g_ptr_array_add(names, g_strdup(file + strlen(prefix)));
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autoptr(VmcBootLock) lock = vmc_boot_lock_try(driver, name);
        g_autoptr(virDomain) dom = NULL;
        char *xml = NULL;

        if (!lock)
            continue;
        dom = virDomainLookupByName(conn, name);
        if (dom && virDomainIsActive(dom) != 0) {
            virResetLastError();
            continue;
        }
        if (dom)
            xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        virResetLastError();
        g_strfreev(vmc_release(driver, name, xml, FALSE));
        free(xml);
        n++;
    }
    return n;
}
