/*
 * vmc-driver-async.c: the long vmc_driver_* calls as GIO-style
 * _async()/_finish() pairs, for applications that must never block
 *
 * An _async() call makes a GTask on the calling thread, so that its
 * callback runs on that thread's thread-default main context, copies the
 * config or handle into it and runs the driver's operation on a worker
 * thread of GTask's pool. The GCancellable goes down to the operations
 * that wait (the ABI 3 members: boot, stop, wait_ready, remove, stage),
 * which end their waits as soon as it is cancelled; the short calls
 * (kill, pause, resume, get_state, gc_staged) look at it before they
 * start. A result that was reached stands even if the cancellable was
 * cancelled meanwhile (check-cancellable is off): a boot that completed
 * is never reported as cancelled with its VM left running.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#define VMC_OPS(driver) (((const VmcDriverHeader *) (driver))->ops)

/* What a task carries to its worker. */
typedef struct {
    VmcDriver *driver;       /* not owned: open until the callback has run */
    VmcConfig *cfg;
    VmcHandle *handle;
    guint timeout_ms;
    VmcDeleteFlags flags;
} VmcDriverCall;

static void
vmc_driver_call_free(gpointer data)
{
    VmcDriverCall *call = data;

    vmc_config_free(call->cfg);
    vmc_handle_free(call->handle);
    g_free(call);
}

static GTask *
vmc_driver_task_new(VmcDriver *driver, const VmcConfig *cfg, const VmcHandle *handle,
                    GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data, gpointer tag, const char *name)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    VmcDriverCall *call = g_new0(VmcDriverCall, 1);

    call->driver = driver;
    call->cfg = cfg ? vmc_config_copy(cfg) : NULL;
    call->handle = handle ? vmc_handle_copy(handle) : NULL;
    g_task_set_source_tag(task, tag);
    g_task_set_name(task, name);
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, call, vmc_driver_call_free);
    return task;
}

/* The task of @result when an _async() call of @driver tagged @tag made
 * it, else NULL (a programmer error). */
static GTask *
vmc_driver_task_of(VmcDriver *driver, GAsyncResult *result, gpointer tag)
{
    VmcDriverCall *call;

    if (!g_task_is_valid(result, NULL) || g_task_get_source_tag(G_TASK(result)) != tag)
        return NULL;
    call = g_task_get_task_data(G_TASK(result));
    return call && call->driver == driver ? G_TASK(result) : NULL;
}

/* For the calls that look at @cancellable only before they start (all of
 * them, with a module older than ABI 3). */
static gboolean
vmc_call_cancelled(GCancellable *cancellable, const VmcDriverCall *call, const char *what,
                   GError **error)
{
    const char *name;

    if (!g_cancellable_is_cancelled(cancellable))
        return FALSE;
    name = call->handle ? vmc_handle_get_name(call->handle)
                        : call->cfg ? vmc_config_get_name(call->cfg) : NULL;
    if (name)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The %s of VM '%s' was cancelled before it started; nothing was done.",
                    what, name);
    else
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The %s was cancelled before it started; nothing was done.", what);
    return TRUE;
}

static void
vmc_task_return(GTask *task, gpointer result, GDestroyNotify destroy, GError *error)
{
    if (result)
        g_task_return_pointer(task, result, destroy);
    else
        g_task_return_error(task, error);
}

static void
vmc_task_return_ok(GTask *task, gboolean ok, GError *error)
{
    if (ok)
        g_task_return_boolean(task, TRUE);
    else
        g_task_return_error(task, error);
}

static void
vmc_boot_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    const VmcDriverOps *ops = VMC_OPS(call->driver);
    VmcHandle *handle = NULL;
    GError *error = NULL;

    if (ops->abi_version >= 3)
        handle = ops->boot_cancellable(call->driver, call->cfg, cancellable, &error);
    else if (!vmc_call_cancelled(cancellable, call, "boot", &error))
        handle = ops->boot(call->driver, call->cfg, &error);
    vmc_task_return(task, handle, (GDestroyNotify) vmc_handle_free, error);
}

/**
 * vmc_driver_boot_async:
 * @driver: a driver, open until @callback has run
 * @cfg: the VM (copied: it may be freed at once)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the boot is over
 * @user_data: data for @callback
 *
 * vmc_driver_boot() on a worker thread. Cancelling @cancellable is seen
 * between the steps of the boot, and while it waits for another boot of
 * the same name: cancelled before anything was defined, the boot does
 * nothing; cancelled later, it is rolled back as a failed boot (a VM that
 * started is forced off and its old definition, or none, put back). A
 * libvirt call under way (the define, the start) is let finish first. A
 * boot that completed is not undone by a cancellation that came too late.
 * Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_boot_async(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && cfg != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, cfg, NULL, cancellable, callback, user_data,
                               vmc_driver_boot_async, "vmc_driver_boot_async");
    g_task_run_in_thread(task, vmc_boot_thread);
}

/**
 * vmc_driver_boot_finish:
 * @driver: the driver given to vmc_driver_boot_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM's handle, free with vmc_handle_free();
 *   or %NULL with the errors of vmc_driver_boot(), or
 *   %G_IO_ERROR_CANCELLED (nothing is left of the boot).
 *
 * Since: 0.1
 */
VmcHandle *
vmc_driver_boot_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_boot_async);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}

static void
vmc_stop_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    const VmcDriverOps *ops = VMC_OPS(call->driver);
    GError *error = NULL;
    gboolean ok = FALSE;

    if (ops->abi_version >= 3)
        ok = ops->stop_cancellable(call->driver, call->handle, call->timeout_ms, cancellable,
                                   &error);
    else if (!vmc_call_cancelled(cancellable, call, "stop", &error))
        ok = ops->stop(call->driver, call->handle, call->timeout_ms, &error);
    vmc_task_return_ok(task, ok, error);
}

/**
 * vmc_driver_stop_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @timeout_ms: how long the guest may take to power off
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the stop is over
 * @user_data: data for @callback
 *
 * vmc_driver_stop() on a worker thread. Cancelling @cancellable ends the
 * wait for the power-off at once and leaves the VM as it is at that
 * moment: its ACPI power button may have been pressed, so the guest may
 * still power off by itself, but it is not forced off. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_stop_async(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_stop_async, "vmc_driver_stop_async");
    ((VmcDriverCall *) g_task_get_task_data(task))->timeout_ms = timeout_ms;
    g_task_run_in_thread(task, vmc_stop_thread);
}

/**
 * vmc_driver_stop_finish:
 * @driver: the driver given to vmc_driver_stop_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: %TRUE when the VM is off; %FALSE with the errors of
 *   vmc_driver_stop(), or %G_IO_ERROR_CANCELLED (the VM still ran when
 *   the wait ended).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_stop_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_stop_async);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

/* kill, pause, resume: one libvirt call each, nothing to cancel once
 * under way. */
typedef gboolean (*VmcHandleOp)(VmcDriver *driver, const VmcHandle *handle, GError **error);

static void
vmc_handle_op_thread(GTask *task, VmcHandleOp op, const char *what, GCancellable *cancellable)
{
    VmcDriverCall *call = g_task_get_task_data(task);
    GError *error = NULL;
    gboolean ok = FALSE;

    if (!vmc_call_cancelled(cancellable, call, what, &error))
        ok = op(call->driver, call->handle, &error);
    vmc_task_return_ok(task, ok, error);
}

static void
vmc_kill_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;

    vmc_handle_op_thread(task, VMC_OPS(call->driver)->kill, "kill", cancellable);
}

static void
vmc_pause_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;

    vmc_handle_op_thread(task, VMC_OPS(call->driver)->pause, "pause", cancellable);
}

static void
vmc_resume_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;

    vmc_handle_op_thread(task, VMC_OPS(call->driver)->resume, "resume", cancellable);
}

/**
 * vmc_driver_kill_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the kill is over
 * @user_data: data for @callback
 *
 * vmc_driver_kill() on a worker thread. @cancellable is looked at before
 * the VM is forced off, not after. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_kill_async(VmcDriver *driver, const VmcHandle *handle, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_kill_async, "vmc_driver_kill_async");
    g_task_run_in_thread(task, vmc_kill_thread);
}

/**
 * vmc_driver_kill_finish:
 * @driver: the driver given to vmc_driver_kill_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: %TRUE when the VM is off; %FALSE with the errors of
 *   vmc_driver_kill(), or %G_IO_ERROR_CANCELLED (nothing was done).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_kill_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_kill_async);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

/**
 * vmc_driver_pause_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the pause is over
 * @user_data: data for @callback
 *
 * vmc_driver_pause() on a worker thread; @cancellable is looked at before
 * it starts. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_pause_async(VmcDriver *driver, const VmcHandle *handle, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_pause_async, "vmc_driver_pause_async");
    g_task_run_in_thread(task, vmc_pause_thread);
}

/**
 * vmc_driver_pause_finish:
 * @driver: the driver given to vmc_driver_pause_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: %TRUE on success; %FALSE with the errors of vmc_driver_pause(),
 *   or %G_IO_ERROR_CANCELLED (nothing was done).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_pause_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_pause_async);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

/**
 * vmc_driver_resume_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the resume is over
 * @user_data: data for @callback
 *
 * vmc_driver_resume() on a worker thread; @cancellable is looked at before
 * it starts. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_resume_async(VmcDriver *driver, const VmcHandle *handle, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_resume_async, "vmc_driver_resume_async");
    g_task_run_in_thread(task, vmc_resume_thread);
}

/**
 * vmc_driver_resume_finish:
 * @driver: the driver given to vmc_driver_resume_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: %TRUE on success; %FALSE with the errors of
 *   vmc_driver_resume(), or %G_IO_ERROR_CANCELLED (nothing was done).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_resume_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_resume_async);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

static void
vmc_get_state_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    VmcState *state = NULL;
    GError *error = NULL;

    if (!vmc_call_cancelled(cancellable, call, "state query", &error))
        state = VMC_OPS(call->driver)->get_state(call->driver, call->handle, &error);
    vmc_task_return(task, state, (GDestroyNotify) vmc_state_free, error);
}

/**
 * vmc_driver_get_state_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread with the state
 * @user_data: data for @callback
 *
 * vmc_driver_get_state() on a worker thread (it may read the serial log
 * and ask libvirt for a lease). Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_get_state_async(VmcDriver *driver, const VmcHandle *handle,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_get_state_async, "vmc_driver_get_state_async");
    g_task_run_in_thread(task, vmc_get_state_thread);
}

/**
 * vmc_driver_get_state_finish:
 * @driver: the driver given to vmc_driver_get_state_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM's state, free with vmc_state_free(); or
 *   %NULL with the errors of vmc_driver_get_state(), or
 *   %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */
VmcState *
vmc_driver_get_state_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_get_state_async);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}

static void
vmc_delete_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    const VmcDriverOps *ops = VMC_OPS(call->driver);
    GError *error = NULL;
    gboolean ok = FALSE;

    if (ops->abi_version >= 3)
        ok = ops->remove_cancellable(call->driver, call->handle, call->flags, cancellable,
                                     &error);
    else if (!vmc_call_cancelled(cancellable, call, "deletion", &error))
        ok = ops->remove(call->driver, call->handle, call->flags, &error);
    vmc_task_return_ok(task, ok, error);
}

/**
 * vmc_driver_delete_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @flags: whether the NVRAM file of a UEFI VM goes too
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the deletion is over
 * @user_data: data for @callback
 *
 * vmc_driver_delete() on a worker thread. Cancelled while it waits for a
 * running VM to power off, it leaves the VM defined and as it is at that
 * moment, as vmc_driver_stop_async() does; once the VM is off, the
 * deletion is completed. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_delete_async(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_delete_async, "vmc_driver_delete_async");
    ((VmcDriverCall *) g_task_get_task_data(task))->flags = flags;
    g_task_run_in_thread(task, vmc_delete_thread);
}

/**
 * vmc_driver_delete_finish:
 * @driver: the driver given to vmc_driver_delete_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: %TRUE when the VM is gone; %FALSE with the errors of
 *   vmc_driver_delete(), or %G_IO_ERROR_CANCELLED (the VM is still
 *   defined).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_delete_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_delete_async);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

static void
vmc_wait_ready_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    const VmcDriverOps *ops = VMC_OPS(call->driver);
    VmcState *state = NULL;
    GError *error = NULL;

    if (ops->abi_version >= 3)
        state = ops->wait_ready_cancellable(call->driver, call->handle, call->timeout_ms, NULL,
                                            NULL, cancellable, &error);
    else if (!vmc_call_cancelled(cancellable, call, "wait for readiness", &error))
        state = ops->wait_ready(call->driver, call->handle, call->timeout_ms, &error);
    vmc_task_return(task, state, (GDestroyNotify) vmc_state_free, error);
}

/**
 * vmc_driver_wait_ready_async:
 * @driver: a driver, open until @callback has run
 * @handle: the VM (copied)
 * @timeout_ms: how long to wait
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the VM is ready or the wait has failed
 * @user_data: data for @callback
 *
 * vmc_driver_wait_ready() on a worker thread. Cancelling @cancellable ends
 * the wait at once; the VM is not touched. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_wait_ready_async(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && handle != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, handle, cancellable, callback, user_data,
                               vmc_driver_wait_ready_async, "vmc_driver_wait_ready_async");
    ((VmcDriverCall *) g_task_get_task_data(task))->timeout_ms = timeout_ms;
    g_task_run_in_thread(task, vmc_wait_ready_thread);
}

/**
 * vmc_driver_wait_ready_finish:
 * @driver: the driver given to vmc_driver_wait_ready_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the Ready state, with the IP; or %NULL with
 *   the errors of vmc_driver_wait_ready(), or %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */
VmcState *
vmc_driver_wait_ready_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_wait_ready_async);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}

static void
vmc_stage_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    const VmcDriverOps *ops = VMC_OPS(call->driver);
    VmcConfig *staged = NULL;
    GError *error = NULL;

    if (ops->abi_version >= 3)
        staged = ops->stage_cancellable(call->driver, call->cfg, NULL, NULL, cancellable,
                                        &error);
    else if (vmc_driver_serves(call->driver, 2, "vmc_driver_stage_async", &error) &&
             !vmc_call_cancelled(cancellable, call, "staging", &error))
        staged = ops->stage(call->driver, call->cfg, NULL, NULL, &error);
    vmc_task_return(task, staged, (GDestroyNotify) vmc_config_free, error);
}

/**
 * vmc_driver_stage_async:
 * @driver: a driver for a remote host, open until @callback has run
 * @cfg: a VM (copied)
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the files are staged
 * @user_data: data for @callback
 *
 * vmc_driver_stage() on a worker thread, without progress reports.
 * Cancelling @cancellable stops the upload under way within one chunk and
 * removes its partial copy; files staged before stay staged, as after a
 * failed stage (vmc_driver_gc_staged() removes those no domain uses). Any
 * thread.
 *
 * Since: 0.1
 */
void
vmc_driver_stage_async(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL && cfg != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, cfg, NULL, cancellable, callback, user_data,
                               vmc_driver_stage_async, "vmc_driver_stage_async");
    g_task_run_in_thread(task, vmc_stage_thread);
}

/**
 * vmc_driver_stage_finish:
 * @driver: the driver given to vmc_driver_stage_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the config with its paths on the driver's
 *   host; or %NULL with the errors of vmc_driver_stage(), or
 *   %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_driver_stage_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_stage_async);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}

static void
vmc_gc_staged_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    VmcDriverCall *call = data;
    char **removed = NULL;
    GError *error = NULL;

    if (vmc_driver_serves(call->driver, 2, "vmc_driver_gc_staged_async", &error) &&
        !vmc_call_cancelled(cancellable, call, "removal of unused staged files", &error))
        removed = VMC_OPS(call->driver)->gc_staged(call->driver, &error);
    vmc_task_return(task, removed, (GDestroyNotify) g_strfreev, error);
}

/**
 * vmc_driver_gc_staged_async:
 * @driver: a driver, open until @callback has run
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: called on the thread-default main context of the calling
 *   thread when the unused staged files are removed
 * @user_data: data for @callback
 *
 * vmc_driver_gc_staged() on a worker thread; @cancellable is looked at
 * before the first file is removed, not after. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_gc_staged_async(VmcDriver *driver, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = NULL;

    g_return_if_fail(driver != NULL);
    g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
    task = vmc_driver_task_new(driver, NULL, NULL, cancellable, callback, user_data,
                               vmc_driver_gc_staged_async, "vmc_driver_gc_staged_async");
    g_task_run_in_thread(task, vmc_gc_staged_thread);
}

/**
 * vmc_driver_gc_staged_finish:
 * @driver: the driver given to vmc_driver_gc_staged_async()
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full) (array zero-terminated=1): the paths removed;
 *   or %NULL with the errors of vmc_driver_gc_staged(), or
 *   %G_IO_ERROR_CANCELLED (nothing was removed).
 *
 * Since: 0.1
 */
char **
vmc_driver_gc_staged_finish(VmcDriver *driver, GAsyncResult *result, GError **error)
{
    GTask *task = vmc_driver_task_of(driver, result, vmc_driver_gc_staged_async);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}
