/*
 * vmc-lv-hostres.c: what a boot makes on the host for a VM, and its
 * removal: TAP devices that did not exist, and read-only views of shares
 * for a libvirt that refuses virtiofs <readonly/>
 *
 * Both outlive QEMU (a TAP is persistent so that libvirt can open it by
 * name; a view is a mount), so they are removed by the operations that
 * change the VM: stop, kill, delete, a failed boot and the next boot.
 * Readers (state, list, lookup, wait, watch, export) never remove them:
 * a read would race a boot of the same name on another client. The domain's metadata names the TAPs the
 * driver made; the views of a VM live in one directory of the driver's
 * run directory. Removal is best effort: the VM is already stopped, so a
 * device or mount that will not go is logged (G_MESSAGES_DEBUG=vmconfig)
 * and tried again by the next of those operations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-resources.h"
#include "vmc-meta-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <sys/mount.h>
#include <unistd.h>

/* /run/virt-vmconfig/views/<host>-<name>: the views of one VM. */
char *
vmc_views_dir(VmcDriver *driver, const char *name)
{
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, driver->hub->uri,
                                                              -1);
    g_autofree char *file = g_strdup_printf("%.16s-%s", uri_hash, name);

    return g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(), "virt-vmconfig",
                            "views", file, NULL);
}

/* Unmounts and removes every view of @name: each is a directory with a
 * mount on it, or an empty one a failed boot left. */
void
vmc_views_remove(VmcDriver *driver, const char *name)
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
        g_rmdir(view);
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
 * the share when a view cannot be made (nothing is left then). */
gboolean
vmc_views_make(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
               VmcRenderOptions *opts, GError **error)
{
    const char *name = vmc_config_get_name(cfg);
    g_autofree char *dir = NULL;

    if (!vmc_config_has_read_only_share(cfg) ||
        vmc_host_libvirt_accepts_virtiofs_readonly(conn))
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
                     "virtiofs read-only mode (it needs libvirt 11.0), and the read-only bind "
                     "mount used instead can only be made on this host: share it writable or "
                     "use a newer libvirt", name, i, tag, driver->hub->uri);
            vmc_views_remove(driver, name);
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
            vmc_views_remove(driver, name);
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
    struct passwd *pw = driver->system ? vmc_host_qemu_user(driver->hub->uri) : NULL;

    return pw ? (gint64) pw->pw_uid : -1;
}

/* Creates each TAP of the VM that exists neither in the host's namespace
 * nor in its netns. Returns the names made (empty when none); on failure
 * removes them again and says which device and why. */
GStrv
vmc_taps_create_missing(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_autoptr(GStrvBuilder) made = g_strv_builder_new();
    g_auto(GStrv) names = NULL;
    const char *netns = vmc_config_get_netns(cfg);

    for (guint i = 0; driver->local && i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *tap = vmc_network_attachment_get_source(net);
        g_autoptr(GError) tap_error = NULL;

        if (vmc_network_attachment_get_kind(net) != VMC_NETWORK_TAP ||
            vmc_netns_has_link(NULL, tap) || (netns && vmc_netns_has_link(netns, tap)))
            continue;
        if (!vmc_tap_create(tap, vmc_tap_owner(driver), &tap_error) ||
            !vmc_netns_set_link_up(NULL, tap, &tap_error)) {
            g_auto(GStrv) undo = g_strv_builder_end(made);

            vmc_netns_delete_link(NULL, tap, NULL);
            vmc_taps_remove(NULL, (const char *const *) undo);
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': networks[%u]: TAP device '%s' does not exist and could not be "
                     "made (%s): run as root, or create it first (ip tuntap add dev %s mode tap)",
                     vmc_config_get_name(cfg), i, tap, tap_error->message, tap);
            return NULL;
        }
        g_strv_builder_add(made, tap);
    }
    names = g_strv_builder_end(made);
    return g_steal_pointer(&names);
}

/* Removes @taps wherever they are: the host's namespace or @netns. */
void
vmc_taps_remove(const char *netns, const char *const *taps)
{
    for (const char *const *tap = taps; tap && *tap; tap++) {
        g_autoptr(GError) host_error = NULL;
        g_autoptr(GError) ns_error = NULL;

        if (!vmc_netns_delete_link(NULL, *tap, &host_error))
            g_debug("%s", host_error->message);
        if (netns && vmc_netns_exists(netns) && !vmc_netns_delete_link(netns, *tap, &ns_error))
            g_debug("%s", ns_error->message);
    }
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

/* Removes what the driver made for a stopped VM whose definition is
 * @xml: its TAPs and views. */
void
vmc_release_host_resources(VmcDriver *driver, const char *name, const char *xml)
{
    g_autofree char *netns = NULL;
    g_auto(GStrv) taps = NULL;

    if (!driver->local)
        return;
    vmc_domain_owned(xml, &netns, &taps);
    vmc_taps_remove(netns, (const char *const *) taps);
    vmc_views_remove(driver, name);
}

/* Whether anything the driver made for the VM is still there. */
static gboolean
vmc_host_resources_left(VmcDriver *driver, const char *name, const char *netns,
                        const char *const *taps)
{
    g_autofree char *views = vmc_views_dir(driver, name);

    for (const char *const *tap = taps; *tap; tap++) {
        if (vmc_netns_has_link(NULL, *tap) || (netns && vmc_netns_has_link(netns, *tap)))
            return TRUE;
    }
    return g_file_test(views, G_FILE_TEST_EXISTS);
}

/* The same for @dom once it is found stopped (after a crash, say), unless
 * a boot of it is under way: that boot cleans up for itself. */
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
        vmc_release_host_resources(driver, name, xml);
    virResetLastError();
    free(xml);
}
