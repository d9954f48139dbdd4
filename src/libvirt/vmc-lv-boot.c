/*
 * vmc-lv-boot.c: booting a VM: defined and started under a boot lock
 * per host and name, and rolled back when the start fails
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <string.h>
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

/* How long a boot that lost libvirt waits for it to come back, so that
 * what it defined can be undone. */
#define VMC_BOOT_UNDO_WAIT_MS 30000

/* The connection died under a define or a start (the daemon was killed or
 * restarted): whether libvirt applied the call is not known, so once the
 * daemon answers again the domain of @uuid is put back as it was, over a
 * connection of its own. FALSE when libvirt did not come back in time. */
static gboolean
vmc_boot_rollback_after_loss(VmcDriver *driver, const char *uuid, const char *old_xml,
                             const VmcConfig *cfg, gboolean nvram_existed)
{
    gint64 deadline = g_get_monotonic_time() + VMC_BOOT_UNDO_WAIT_MS * 1000;

    while (g_get_monotonic_time() < deadline) {
        virConnectPtr conn = vmc_local_daemon_may_answer(driver->hub->uri)
                                 ? virConnectOpen(driver->hub->uri)
                                 : NULL;

        if (conn) {
            virDomainPtr dom;

            vmc_conn_quiet_errors(conn);
            dom = virDomainLookupByUUIDString(conn, uuid);
            if (dom) {
                /* Active: the QEMU this boot's start made, which libvirt
                 * found again on its restart (or is about to end). The
                 * boot has failed, so it goes (this boot still holds the
                 * lock of the name). */
                if (virDomainIsActive(dom) == 1)
                    virDomainDestroy(dom);
                vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
                virDomainFree(dom);
            } else if (old_xml) {
                virDomainPtr back = virDomainDefineXML(conn, old_xml);
                if (back)
                    virDomainFree(back);
            }
            virConnectClose(conn);
            virResetLastError();
            return TRUE;
        }
        virResetLastError();
        g_usleep(200 * 1000);
    }
    return FALSE;
}

/* After a failed define or start: when the connection is gone, undoes
 * what libvirt may have done once it is back, and says so in @error. */
static void
vmc_boot_undo_if_lost(VmcDriver *driver, virConnectPtr conn, const char *uuid,
                      const char *old_xml, const VmcConfig *cfg, gboolean nvram_existed,
                      GError **error)
{
    const char *name = vmc_config_get_name(cfg);

    if (virConnectIsAlive(conn) != 0) {
        virResetLastError();
        return;
    }
    virResetLastError();
    if (vmc_boot_rollback_after_loss(driver, uuid, old_xml, cfg, nvram_existed))
        g_prefix_error(error, "libvirt went away during the boot; once it was back, VM '%s' "
                              "was put back as it was before: ", name);
    else
        g_prefix_error(error, "libvirt went away during the boot and was not back within %d s: "
                              "VM '%s' may be left defined (see 'virt-vmconfig state %s'): ",
                       VMC_BOOT_UNDO_WAIT_MS / 1000, name, name);
}

/* On a remote host no file is checked here: the host's own refusal of a
 * path of the config names it. Returns the field whose path libvirt's
 * @message names, and the path, or NULL. */
static const char *
vmc_remote_path_refused(const VmcConfig *cfg, const char *message, const char **path)
{
    const struct {
        const char *field;
        const char *path;
    } paths[] = {
        { "kernel", vmc_config_get_kernel(cfg) },
        { "initramfs", vmc_config_get_initramfs(cfg) },
        { "root_disk", vmc_config_get_root_disk(cfg) },
        { "seed_iso", vmc_config_get_seed_iso(cfg) },
        { "data_disk", vmc_config_get_data_disk(cfg) },
        { "serial_log", vmc_config_get_serial_log(cfg) },
        { "efi_variable_store", vmc_config_get_efi_variable_store(cfg) },
    };

    for (gsize i = 0; message && i < G_N_ELEMENTS(paths); i++) {
        if (paths[i].path && strstr(message, paths[i].path)) {
            *path = paths[i].path;
            return paths[i].field;
        }
    }
    for (guint i = 0; message && i < vmc_config_get_n_shared_dirs(cfg); i++) {
        const char *dir = vmc_shared_dir_get_host_path(vmc_config_get_shared_dir(cfg, i));

        if (strstr(message, dir)) {
            *path = dir;
            return "shared_dirs host_path";
        }
    }
    return NULL;
}

/* Removes what a failed boot made on the host, through the release path:
 * what its mark names (its TAPs, wherever they are now) and its read-only
 * views. */
static void
vmc_boot_undo_host(VmcDriver *driver, const VmcConfig *cfg)
{
    g_strfreev(vmc_release(driver, vmc_config_get_name(cfg), NULL, TRUE));
}

/* For the test that interrupts a boot at each of its steps: with
 * VMC_DEBUG_BOOT_STOP=<step> in the environment, the process stops itself
 * (SIGSTOP) there, so that the test can look at the host mid-boot, then
 * SIGKILL or continue it. Steps: marked (the mark is written, nothing is
 * made yet), taps, views, defined, started. */
static void
vmc_boot_step(const char *step)
{
    const char *at = g_getenv("VMC_DEBUG_BOOT_STOP");

    if (at && g_str_equal(at, step))
        raise(SIGSTOP);
}

/* A TAP that the driver made is set up where it ends: moving it into a
 * namespace takes it down. */
static gboolean
vmc_taps_set_up(const VmcConfig *cfg, const char *const *made_taps, GError **error)
{
    for (const char *const *tap = made_taps; *tap; tap++) {
        if (!vmc_netns_set_link_up(vmc_config_get_netns(cfg), *tap, error))
            return FALSE;
    }
    return TRUE;
}

/* A remote host's domain starts paused: its console is opened (the
 * driver keeps it, see vmc-lv-console.c), then it runs, so that no byte
 * of its output is lost. A console that cannot be opened (another client
 * took it at once) leaves readiness to the Ready record and leases. */
static gboolean
vmc_boot_attach_console(VmcDriver *driver, virDomainPtr dom, const char *uuid, GError **error)
{
    g_autoptr(GError) console_error = NULL;
    g_autoptr(VmcConsoleTap) tap = vmc_console_tap_open(driver, uuid, FALSE, &console_error);

    if (tap)
        vmc_boot_console_keep(driver, uuid, tap);
    else
        g_message("VM '%s': its console cannot be followed (%s); it is ready once a client "
                  "that holds its console sees its marker, or a DHCP lease says so",
                  virDomainGetName(dom), console_error->message);
    if (virDomainResume(dom) < 0) {
        vmc_libvirt_error(error, VMC_OP_START, "VM '%s' started paused, but cannot be resumed",
                          virDomainGetName(dom));
        return FALSE;
    }
    return TRUE;
}

/**
 * vmc_lv_boot:
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
vmc_lv_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    return vmc_lv_boot_cancellable(driver, cfg, NULL, error);
}

/* Whether a boot is cancelled; then @error says so, with what was done. */
static gboolean
vmc_boot_cancelled(GCancellable *cancellable, const char *name, gboolean undone,
                   GError **error)
{
    if (!g_cancellable_is_cancelled(cancellable))
        return FALSE;
    if (undone)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "VM '%s': the boot was cancelled, and what it had done was undone", name);
    else
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "VM '%s': the boot was cancelled before it changed anything", name);
    return TRUE;
}

/**
 * vmc_lv_boot_cancellable:
 * @driver: a driver
 * @cfg: the VM
 * @cancellable: (nullable): ends the boot when cancelled, from any thread
 * @error: return location for a #GError, or %NULL
 *
 * vmc_lv_boot() that looks at @cancellable before it changes anything,
 * while it waits for the boot lock of the name, before the define, before
 * the start and after it. Cancelled, it fails with %G_IO_ERROR_CANCELLED
 * and undoes what it did, as a failed boot: a VM it started is forced off
 * and its old definition (or none) put back. A libvirt call under way is
 * let finish first; the wait for a lost libvirtd to come back (30 s at
 * most) does not look at @cancellable.
 *
 * Returns: (transfer full): the VM's handle.
 */
VmcHandle *
vmc_lv_boot_cancellable(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                        GError **error)
{
    g_autoptr(GError) move_error = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(virDomain) existing = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *old_xml = NULL;
    g_autofree char *uuid = NULL;
    g_autoptr(VmcBootLock) lock = NULL;
    const char *name;
    const char *nvram;
    gboolean nvram_existed;
    VmcAccel accel;
    g_autoptr(GArray) taps_where = NULL;
    g_autoptr(GError) failure = NULL;
    g_autoptr(GError) destroy_error = NULL;
    g_auto(GStrv) made_taps = NULL;
    VmcHandle *handle;

    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!vmc_config_validate(cfg, error) ||
        vmc_boot_cancelled(cancellable, vmc_config_get_name(cfg), FALSE, error))
        return NULL;
    if (!driver->local && vmc_config_get_netns(cfg)) {
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "VM '%s': netns can only be applied when libvirt runs on this host",
                 vmc_config_get_name(cfg));
        return NULL;
    }
    accel = vmc_lv_get_accel(driver);
    if ((driver->local && !vmc_driver_preflight(driver, cfg, accel, error)) ||
        !vmc_check_forwards(driver, cfg, error))
        return NULL;
    name = vmc_config_get_name(cfg);
    vmc_render_options_set_accel(opts, accel);
    vmc_render_options_set_remote_paths(opts, !driver->local);
    vmc_render_options_set_user_backend(opts, vmc_lv_user_backend(driver));
    uuid = vmc_config_get_uuid_string(cfg);

    lock = vmc_boot_lock_acquire(driver, name, cancellable, error);
    if (!lock || vmc_boot_cancelled(cancellable, name, FALSE, error))
        return NULL;
    conn = vmc_driver_conn_checked(driver, error);
    if (!conn || !vmc_check_networks(driver, conn, cfg, error) ||
        (!driver->local && !vmc_check_remote_files(driver, conn, cfg, error)))
        return NULL;
    existing = virDomainLookupByName(conn, name);
    if (!existing) {
        if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            vmc_libvirt_error(error, VMC_OP_START, "cannot look up VM '%s'", name);
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
                     "virt-vmconfig; it was left untouched (pick another name, or adopt it "
                     "with 'virt-vmconfig adopt %s --namespace NS')", name, name);
            return NULL;
        }
        active = virDomainIsActive(existing);
        if (active < 0) {
            vmc_libvirt_error(error, VMC_OP_START, "cannot read the state of VM '%s'", name);
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
        /* Without the old definition a failed start could not put it
         * back: stop before anything is changed. */
        raw = virDomainGetXMLDesc(existing, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!raw) {
            vmc_libvirt_error(error, VMC_OP_START,
                              "cannot read the definition of VM '%s'; nothing was changed",
                              name);
            return NULL;
        }
        old_xml = g_strdup(raw);
        free(raw);
    }

    /* What an earlier run left (a crash, a killed boot) is released
     * first; then the boot's mark records the TAPs it is about to make,
     * before it makes them and the read-only views, and every failure from
     * here on releases what the mark names. */
    if (vmc_boot_cancelled(cancellable, name, FALSE, error))
        return NULL;
    g_strfreev(vmc_release(driver, name, old_xml, FALSE));
    made_taps = vmc_taps_missing(driver, cfg);
    if (!vmc_boot_mark_write(driver, cfg, (const char *const *) made_taps, error))
        return NULL;
    vmc_boot_step("marked");
    if (!vmc_taps_create(driver, cfg, (const char *const *) made_taps, error)) {
        vmc_boot_undo_host(driver, cfg);
        return NULL;
    }
    vmc_boot_step("taps");
    vmc_render_options_set_owned_taps(opts, (const char *const *) made_taps);
    if (!vmc_views_make(driver, conn, cfg, opts, error) ||
        !(xml = vmc_config_to_domain_xml(cfg, opts, error))) {
        vmc_boot_undo_host(driver, cfg);
        return NULL;
    }
    vmc_boot_step("views");

    /* libvirt opens TAP devices in its own namespace: one that the last
     * boot moved into netns comes back first; every failure from here on
     * puts each TAP back where it was. */
    taps_where = vmc_taps_where(cfg);
    if (!vmc_move_taps(cfg, FALSE, &move_error)) {
        vmc_taps_restore(cfg, taps_where);
        vmc_boot_undo_host(driver, cfg);
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
        return NULL;
    }
    nvram = vmc_config_get_efi_variable_store(cfg);
    /* On a remote host the file is that host's, which this machine's file
     * system says nothing of: it counts as there, so that no rollback
     * removes a file here (one libvirt made there stays). */
    nvram_existed = nvram && (!driver->local || g_file_test(nvram, G_FILE_TEST_EXISTS));
    if (vmc_boot_cancelled(cancellable, name, TRUE, error)) {
        vmc_taps_restore(cfg, taps_where);
        vmc_boot_undo_host(driver, cfg);
        return NULL;
    }
    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom) {
        vmc_host_define_refused(conn, driver->hub->uri, name, accel, error);
        vmc_boot_undo_if_lost(driver, conn, uuid, old_xml, cfg, nvram_existed, error);
        vmc_taps_restore(cfg, taps_where);
        vmc_boot_undo_host(driver, cfg);
        return NULL;
    }
    vmc_boot_step("defined");
    if (vmc_boot_cancelled(cancellable, name, TRUE, error)) {
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        vmc_taps_restore(cfg, taps_where);
        vmc_boot_undo_host(driver, cfg);
        return NULL;
    }
    if (virDomainCreateWithFlags(dom, driver->local ? 0 : VIR_DOMAIN_START_PAUSED) < 0) {
        virError start_error = { 0 };
        const char *field, *path = NULL;

        gboolean raced;

        virCopyLastError(&start_error);
        /* Another client (on this machine or another) booted the name
         * between our look and our start: libvirt starts a domain once. */
        raced = start_error.code == VIR_ERR_OPERATION_INVALID && virDomainIsActive(dom) == 1;
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        vmc_taps_restore(cfg, taps_where);
        vmc_boot_undo_host(driver, cfg);
        field = driver->local ? NULL : vmc_remote_path_refused(cfg, start_error.message, &path);
        if (raced)
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s' is being booted by another client on %s (libvirt: %s); this "
                     "boot left the running VM alone (its definition for the next boot is "
                     "this config's)", name, driver->hub->uri, start_error.message);
        else if (field)
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': %s '%s' %s on host '%s' (libvirt there: %s); it was checked "
                     "there, not on this machine: paths name files on that host; copy the "
                     "file there, or let 'up --stage' do it; nothing was left defined", name,
                     field, path,
                     strstr(start_error.message, "No such file") ? "does not exist"
                                                                 : "cannot be used",
                     driver->hub->uri, start_error.message);
        else
            vmc_libvirt_error_from(error, VMC_OP_START, &start_error,
                                   "VM '%s' failed to start", name);
        vmc_boot_undo_if_lost(driver, conn, uuid, old_xml, cfg, nvram_existed, error);
        virResetError(&start_error);
        return NULL;
    }
    vmc_boot_step("started");
    vmc_boot_note_stale_leases(dom);
    /* Cancelled while it started: undone as a start that failed. */
    if (g_cancellable_is_cancelled(cancellable)) {
        g_set_error(&failure, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "VM '%s': the boot was cancelled once the VM had started, so it was "
                    "stopped again and put back as it was", name);
    } else if (!driver->local && !vmc_boot_attach_console(driver, dom, uuid, &failure)) {
        /* failure set */
    } else if (!vmc_move_taps(cfg, TRUE, &move_error) ||
               !vmc_taps_set_up(cfg, (const char *const *) made_taps, &move_error)) {
        g_set_error_literal(&failure, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
    } else {
        handle = vmc_handle_from_domain(driver, dom, &failure);
        if (handle) {
            vmc_boot_mark_clear(driver, name);   /* the domain's metadata names its TAPs */
            return handle;
        }
        /* Boot reports boot failures, or the connection's. */
        if (!g_error_matches(failure, VMC_ERROR, VMC_ERROR_HYPERVISOR))
            failure->code = VMC_ERROR_BOOT_FAILED;
        g_prefix_error(&failure, "VM '%s' started but was stopped again, since ", name);
    }
    /* Started, but it cannot be handed over: undone, as a failed start;
     * a VM that cannot even be stopped is left as it is, and says so. */
    vmc_hub_mark_stopping(driver->hub, uuid);
    if (!vmc_destroy(dom, &destroy_error, VMC_OP_START, name)) {
        if (g_error_matches(failure, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED,
                        "VM '%s': the boot was cancelled once the VM had started, but it "
                        "could not be stopped again (%s): it runs; kill it with "
                        "'virt-vmconfig kill %s'", name, destroy_error->message, name);
            return NULL;
        }
        g_set_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED,
                    "VM '%s' started, but %s, and it could not be stopped again (%s): it runs; "
                    "kill it with 'virt-vmconfig kill %s'", name, failure->message,
                    destroy_error->message, name);
        return NULL;
    }
    vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
    vmc_taps_restore(cfg, taps_where);
    vmc_boot_undo_host(driver, cfg);
    g_propagate_error(error, g_steal_pointer(&failure));
    return NULL;
}
