/*
 * vmc-lv-boot.c: booting a VM: defined and started under a boot lock
 * per host and name, and rolled back when the start fails
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <unistd.h>

/* Puts things back as they were after a failed start: the old definition,
 * or none, and no NVRAM file that this boot made. */
static void
vmc_boot_rollback(virDomainPtr dom, const char *old_xml, const VmcConfig *cfg,
                  gboolean nvram_existed)
{
    const char *nvram = vmc_config_get_efi_variable_store(cfg);

    /* Another boot of the same name may have won the race: never touch a
     * running domain. */
    if (virDomainIsActive(dom) == 0) {
        if (old_xml) {
            virDomainPtr back = virDomainDefineXML(virDomainGetConnect(dom), old_xml);
            if (back)
                virDomainFree(back);
        } else {
            vmc_domain_undefine(dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);
            if (nvram && !nvram_existed)
                g_unlink(nvram);
        }
    }
    virResetLastError();
}

/* Boots of one name on one host are serialized across threads and
 * processes (two virt-vmconfig runs): libvirt has no "define unless
 * running", so a losing boot would redefine the winner's running VM. An
 * advisory lock file per host URI and VM name; -1 (no lock) if it cannot
 * be made, which leaves the in-process mutex. */
static int
vmc_boot_lock_acquire(VmcDriver *driver, const char *name)
{
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, driver->hub->uri, -1);
    g_autofree char *dir = g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(),
                                            "virt-vmconfig", "locks", NULL);
    g_autofree char *file = g_strdup_printf("%.16s-%s.lock", uri_hash, name);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    int fd;

    if (g_mkdir_with_parents(dir, 0700) < 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void
vmc_boot_lock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

/**
 * vmc_driver_boot:
 * @driver: a driver
 * @cfg: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Validates @cfg, checks on a local host that its files exist and can be
 * reached, renders it, defines it (persistently) and starts it. Booting a
 * stopped VM of ours again redefines and starts it. A running VM, or a
 * domain of that name that is not ours, is refused and left untouched; a
 * start that fails leaves the host as it was.
 *
 * Returns: (transfer full): the VM's handle, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG (nothing was touched) or %VMC_ERROR_BOOT_FAILED.
 */
VmcHandle *
vmc_driver_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_autoptr(GError) move_error = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(virDomain) existing = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *old_xml = NULL;
    g_autofree char *uuid = NULL;
    g_autoptr(GMutexLocker) locker = NULL;
    int lock_fd __attribute__((cleanup(vmc_boot_lock_release))) = -1;
    const char *name;
    const char *nvram;
    gboolean nvram_existed;
    VmcAccel accel;

    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!vmc_config_validate(cfg, error))
        return NULL;
    if (!driver->local && vmc_config_get_netns(cfg)) {
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "VM '%s': netns can only be applied when libvirt runs on this host",
                 vmc_config_get_name(cfg));
        return NULL;
    }
    accel = vmc_driver_get_accel(driver);
    if (driver->local && !vmc_driver_preflight(driver, cfg, accel, error))
        return NULL;
    name = vmc_config_get_name(cfg);
    vmc_render_options_set_accel(opts, accel);
    vmc_render_options_set_remote_paths(opts, !driver->local);
    xml = vmc_config_to_domain_xml(cfg, opts, error);
    if (!xml)
        return NULL;
    uuid = vmc_config_get_uuid_string(cfg);

    locker = g_mutex_locker_new(&driver->boot_lock);
    lock_fd = vmc_boot_lock_acquire(driver, name);
    conn = vmc_driver_conn(driver);
    existing = virDomainLookupByName(conn, name);
    if (!existing) {
        if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot look up VM '%s'", name);
            return NULL;
        }
        virResetLastError();
    } else {
        char existing_uuid[VIR_UUID_STRING_BUFLEN] = "";
        int active;
        char *raw;

        if (!vmc_domain_is_ours(existing, NULL)) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s': a libvirt domain of that name exists and was not made by "
                     "virt-vmconfig; it was left untouched (pick another name)", name);
            return NULL;
        }
        active = virDomainIsActive(existing);
        if (active < 0) {
            vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot read the state of VM '%s'", name);
            return NULL;
        }
        if (active) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s' is already running; stop it before booting it again", name);
            return NULL;
        }
        virDomainGetUUIDString(existing, existing_uuid);
        if (g_ascii_strcasecmp(existing_uuid, uuid) != 0) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s' exists with UUID %s, but this config gives UUID %s (another "
                     "namespace or machine_id): delete the old VM first", name, existing_uuid,
                     uuid);
            return NULL;
        }
        raw = virDomainGetXMLDesc(existing, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        old_xml = g_strdup(raw);
        free(raw);
    }

    /* libvirt opens TAP devices in its own namespace: one that the last
     * boot moved into netns comes back first. */
    if (!vmc_move_taps(cfg, FALSE, &move_error)) {
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
        return NULL;
    }
    nvram = vmc_config_get_efi_variable_store(cfg);
    nvram_existed = nvram && g_file_test(nvram, G_FILE_TEST_EXISTS);
    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_DEFINE, "VM '%s' was refused by libvirt", name);
        return NULL;
    }
    if (virDomainCreate(dom) < 0) {
        virError start_error = { 0 };

        virCopyLastError(&start_error);
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        vmc_libvirt_error_from(error, VMC_OP_START, &start_error, "VM '%s' failed to start",
                               name);
        virResetError(&start_error);
        return NULL;
    }
    if (!vmc_move_taps(cfg, TRUE, &move_error)) {
        vmc_hub_mark_stopping(driver->hub, uuid);
        vmc_destroy(dom, NULL, VMC_OP_START, name);
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
        return NULL;
    }
    return vmc_handle_from_domain(driver, dom, error);
}
