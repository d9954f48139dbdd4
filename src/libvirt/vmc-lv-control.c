/*
 * vmc-lv-control.c: what is done to a VM: stop (the ACPI power button,
 * pressed again while it waits, then forced off), kill, pause, resume and
 * delete
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"

/* The ACPI power button is pressed again this often while a stop waits:
 * a guest that was still booting may have missed the first press. */
#define VMC_STOP_REPRESS_MS 2000

/* Waits, on a private main context, until the VM leaves the running states. */
typedef struct {
    gboolean stopped;
    gboolean timed_out;
    gboolean cancelled;
    VmcState *last;
} VmcStopWait;

static void
vmc_stop_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcStopWait *wait = data;

    /* DEFINED and UNDEFINED also say "stopped"; only these end a run. */
    if (vmc_event_ends_run(event))
        wait->stopped = TRUE;
}

gboolean
vmc_flag_on_timeout(gpointer data)
{
    *(gboolean *) data = TRUE;
    return G_SOURCE_REMOVE;
}

gboolean
vmc_flag_on_cancel(GCancellable *cancellable, gpointer data)
{
    *(gboolean *) data = TRUE;
    return G_SOURCE_REMOVE;
}

static int
vmc_press_power_button(virDomainPtr dom)
{
    int code;

    if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0)
        return 0;
    code = virGetLastErrorCode();
    if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT &&
        code != VIR_ERR_ARGUMENT_UNSUPPORTED)
        return -1;
    virResetLastError();
    return virDomainShutdownFlags(dom, 0);
}

static gboolean
vmc_stop_repress(gpointer data)
{
    vmc_press_power_button(data);
    virResetLastError();
    return G_SOURCE_CONTINUE;
}

/* Forces a domain off; one that is off already is fine. */
gboolean
vmc_destroy(virDomainPtr dom, GError **error, VmcOperation op, const char *name)
{
    virError err = { 0 };
    gboolean off;

    if (virDomainDestroy(dom) == 0)
        return TRUE;
    virCopyLastError(&err);
    off = virDomainIsActive(dom) == 0;
    if (!off)
        vmc_libvirt_error_from(error, op, &err, "cannot force VM '%s' off", name);
    virResetError(&err);
    virResetLastError();
    return off;
}

/**
 * vmc_lv_stop:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long the guest may take to power off
 *   (%VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS is vm-rs's 10 s)
 * @error: return location for a #GError, or %NULL
 *
 * Presses the VM's ACPI power button and waits for it to power off, on
 * libvirt's events (no polling). Past @timeout_ms it forces the VM off and
 * fails with %VMC_ERROR_STOP_FAILED saying so. Stopping a stopped VM
 * succeeds. Once it is off, the TAP devices the driver made for it and
 * its read-only share views are removed.
 *
 * Returns: %TRUE when the guest powered off by itself.
 */
gboolean
vmc_lv_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    return vmc_lv_stop_cancellable(driver, handle, timeout_ms, NULL, error);
}

/**
 * vmc_lv_stop_cancellable:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long the guest may take to power off
 * @cancellable: (nullable): ends the wait when cancelled, from any thread
 * @error: return location for a #GError, or %NULL
 *
 * vmc_lv_stop() that a #GCancellable ends: cancelled before it starts, it
 * does nothing; cancelled while it waits for the power-off (its source on
 * the wait's own main context wakes it at once), it fails with
 * %G_IO_ERROR_CANCELLED and leaves the VM as it is: the power button was
 * pressed, the VM is not forced off.
 *
 * Returns: %TRUE when the guest powered off by itself.
 */
gboolean
vmc_lv_stop_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                        GCancellable *cancellable, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GSource) timeout = NULL;
    g_autoptr(GSource) repress = NULL;
    g_autoptr(GSource) cancel = NULL;
    VmcStopWait wait = { FALSE, FALSE, FALSE, NULL };
    guint watch;
    int active;

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    if (g_cancellable_is_cancelled(cancellable)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The stop of VM '%s' was cancelled before it started; nothing was done.",
                    vmc_handle_get_name(handle));
        return FALSE;
    }
    dom = vmc_driver_domain(driver, handle, VMC_OP_STOP, error);
    if (!dom)
        return FALSE;

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch_internal(driver, NULL, NULL, vmc_handle_get_uuid(handle), FALSE, vmc_stop_on_event, &wait,
                                      NULL);
    active = virDomainIsActive(dom);
    if (active == 1)
        vmc_hub_mark_stopping(driver->hub, vmc_handle_get_uuid(handle));
    if (active == 1 && vmc_press_power_button(dom) < 0) {
        virError err = { 0 };

        virCopyLastError(&err);
        if (virDomainIsActive(dom) == 1) {
            vmc_lv_unwatch(driver, watch);
            g_main_context_pop_thread_default(context);
            vmc_libvirt_error_from(error, VMC_OP_STOP, &err,
                                   "cannot press the power button of VM '%s'", vmc_handle_get_name(handle));
            virResetError(&err);
            return FALSE;
        }
        virResetError(&err);
    }
    virResetLastError();

    timeout = g_timeout_source_new(timeout_ms);
    g_source_set_callback(timeout, vmc_flag_on_timeout, &wait.timed_out, NULL);
    g_source_attach(timeout, context);
    repress = g_timeout_source_new(VMC_STOP_REPRESS_MS);
    g_source_set_callback(repress, vmc_stop_repress, dom, NULL);
    g_source_attach(repress, context);
    if (cancellable) {
        cancel = g_cancellable_source_new(cancellable);
        g_source_set_callback(cancel, G_SOURCE_FUNC(vmc_flag_on_cancel), &wait.cancelled, NULL);
        g_source_attach(cancel, context);
    }

    /* The check after subscribing closes the race with a VM that stopped
     * before the watch existed. */
    while (active == 1 && !wait.stopped && !wait.timed_out && !wait.cancelled &&
           virDomainIsActive(dom) == 1)
        g_main_context_iteration(context, TRUE);

    g_source_destroy(timeout);
    g_source_destroy(repress);
    if (cancel)
        g_source_destroy(cancel);
    vmc_lv_unwatch(driver, watch);
    g_main_context_pop_thread_default(context);

    if (active < 0)
        return vmc_libvirt_error(error, VMC_OP_STOP, "cannot read the state of VM '%s'",
                                 vmc_handle_get_name(handle));
    if (wait.cancelled && !wait.stopped && virDomainIsActive(dom) == 1) {
        virResetLastError();
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The stop of VM '%s' was cancelled: the VM was left running as it was "
                    "(its ACPI power button was pressed, so its guest may still power off).",
                    vmc_handle_get_name(handle));
        return FALSE;
    }
    if (!wait.timed_out || virDomainIsActive(dom) == 0) {
        vmc_release_if_stopped(driver, dom);
        return TRUE;
    }
    vmc_hub_mark_stopping(driver->hub, vmc_handle_get_uuid(handle));
    if (!vmc_destroy(dom, error, VMC_OP_STOP, vmc_handle_get_name(handle)))
        return FALSE;
    vmc_release_if_stopped(driver, dom);
    return vmc_fail(error, VMC_ERROR_STOP_FAILED,
                    "VM '%s' did not power off within %u ms of the ACPI power button, so it was "
                    "forced off (does the guest handle the power button?)",
                    vmc_handle_get_name(handle), timeout_ms);
}

/**
 * vmc_lv_kill:
 * @driver: a driver
 * @handle: a VM
 * @error: return location for a #GError, or %NULL
 *
 * Forces the VM off at once, and removes the TAP devices the driver made
 * for it and its read-only share views. Killing a stopped VM succeeds.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_lv_kill(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    dom = vmc_driver_domain(driver, handle, VMC_OP_KILL, error);
    if (!dom)
        return FALSE;
    if (virDomainIsActive(dom) != 0) {
        vmc_hub_mark_stopping(driver->hub, vmc_handle_get_uuid(handle));
        if (!vmc_destroy(dom, error, VMC_OP_KILL, vmc_handle_get_name(handle)))
            return FALSE;
    }
    vmc_release_if_stopped(driver, dom);
    return TRUE;
}

static gboolean
vmc_driver_pause_resume(VmcDriver *driver, const VmcHandle *handle, gboolean pause,
                        GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(VmcState) state = NULL;
    VmcOperation op = pause ? VMC_OP_PAUSE : VMC_OP_RESUME;

    dom = vmc_driver_domain(driver, handle, op, error);
    if (!dom)
        return FALSE;
    state = vmc_domain_state(driver, dom, NULL, error);
    if (!state)
        return FALSE;
    /* Ready (from wherever it came: a record, a marker, a lease) is running. */
    if (pause ? vmc_state_get_kind(state) == VMC_STATE_PAUSED : vmc_state_is_running(state))
        return TRUE;
    if (pause ? !vmc_state_is_running(state) : vmc_state_get_kind(state) != VMC_STATE_PAUSED) {
        g_autofree char *now = vmc_state_to_string(state);
        return vmc_fail(error, VMC_ERROR_STATE_FAILED, "VM '%s' cannot be %s: it is %s",
                        vmc_handle_get_name(handle), pause ? "paused" : "resumed", now);
    }
    if ((pause ? virDomainSuspend(dom) : virDomainResume(dom)) < 0)
        return vmc_libvirt_error(error, op, "cannot %s VM '%s'", pause ? "pause" : "resume",
                                 vmc_handle_get_name(handle));
    return TRUE;
}

/**
 * vmc_lv_pause:
 * @driver: a driver
 * @handle: a running VM
 * @error: return location for a #GError, or %NULL
 *
 * Suspends the VM's vCPUs. Pausing a paused VM succeeds; a VM that is not
 * running fails with %VMC_ERROR_STATE_FAILED.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_lv_pause(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    return vmc_driver_pause_resume(driver, handle, TRUE, error);
}

/**
 * vmc_lv_resume:
 * @driver: a driver
 * @handle: a paused VM
 * @error: return location for a #GError, or %NULL
 *
 * Resumes the VM's vCPUs. Resuming a running VM succeeds; a VM that is
 * not paused or running fails with %VMC_ERROR_STATE_FAILED.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_lv_resume(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    return vmc_driver_pause_resume(driver, handle, FALSE, error);
}

int
vmc_domain_undefine(virDomainPtr dom, unsigned int flags)
{
    const unsigned int nvram = VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM;

    if (virDomainUndefineFlags(dom, flags) == 0)
        return 0;
    if (!(flags & nvram) || virGetLastErrorCode() != VIR_ERR_INVALID_ARG)
        return -1;
    virResetLastError();
    return virDomainUndefineFlags(dom, flags & ~nvram);
}

/**
 * vmc_lv_remove:
 * @driver: a driver
 * @handle: a VM
 * @flags: whether to remove the NVRAM file of a UEFI VM too
 * @error: return location for a #GError, or %NULL
 *
 * Stops the VM if it runs (ACPI first, then by force) and removes its
 * definition, with the TAP devices the driver made for it. Serial log,
 * disks, shares and TAPs the operator made are never touched, nor the
 * NVRAM file unless @flags say so.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_lv_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                  GError **error)
{
    return vmc_lv_remove_cancellable(driver, handle, flags, NULL, error);
}

/**
 * vmc_lv_remove_cancellable:
 * @driver: a driver
 * @handle: a VM
 * @flags: whether to remove the NVRAM file of a UEFI VM too
 * @cancellable: (nullable): ends the wait for the power-off when cancelled
 * @error: return location for a #GError, or %NULL
 *
 * vmc_lv_remove() that a #GCancellable ends: cancelled before it starts
 * or while the stop waits, it fails with %G_IO_ERROR_CANCELLED and leaves
 * the VM defined, as vmc_lv_stop_cancellable() leaves it.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_lv_remove_cancellable(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                          GCancellable *cancellable, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GError) stop_error = NULL;
    unsigned int undefine = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                            VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                            ((flags & VMC_DELETE_REMOVE_NVRAM) ? VIR_DOMAIN_UNDEFINE_NVRAM
                                                               : VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    if (g_cancellable_is_cancelled(cancellable)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The deletion of VM '%s' was cancelled before it started; nothing was done.",
                    vmc_handle_get_name(handle));
        return FALSE;
    }
    dom = vmc_driver_domain(driver, handle, VMC_OP_DELETE, error);
    if (!dom)
        return FALSE;
    /* A cancelled stop is no STOP_FAILED: the VM is left as it is, defined. */
    if (virDomainIsActive(dom) == 1 &&
        !vmc_lv_stop_cancellable(driver, handle, VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS,
                                 cancellable, &stop_error)) {
        if (!g_error_matches(stop_error, VMC_ERROR, VMC_ERROR_STOP_FAILED)) {
            g_propagate_error(error, g_steal_pointer(&stop_error));
            return FALSE;
        }
        /* STOP_FAILED is also a power button that could not be pressed:
         * undefining a running domain would leave it running, transient. */
        vmc_hub_mark_stopping(driver->hub, vmc_handle_get_uuid(handle));
        if (virDomainIsActive(dom) == 1 && !vmc_destroy(dom, error, VMC_OP_DELETE, vmc_handle_get_name(handle)))
            return FALSE;
    }
    /* Its TAPs and views go while the definition still names them. */
    vmc_release_if_stopped(driver, dom);
    if (vmc_domain_undefine(dom, undefine) < 0)
        return vmc_libvirt_error(error, VMC_OP_DELETE, "cannot delete VM '%s'", vmc_handle_get_name(handle));
    return TRUE;
}
