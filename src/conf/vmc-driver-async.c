/*
 * vmc-driver-async.c: the long vmc_driver_* calls as GIO-style
 * _async()/_finish() pairs, for applications that must never block
 *
 * Each operation is described once, in vmc_async_ops: its name, what it
 * runs on the worker (the same adapter the sync call goes through,
 * vmc-driver-dispatch.c) and its result type. One GTask bridge serves
 * them all: an _async() call makes a GTask on the calling thread, so that
 * its callback runs on that thread's thread-default main context, copies
 * the config or handle into it, takes a reference on the driver (dropped
 * with the task: a driver freed meanwhile closes after the callback) and
 * runs the operation on a worker thread of GTask's pool. The public
 * _async()/_finish() functions are typed shims over it.
 *
 * The GCancellable goes down to the members that wait (the ABI 3 members:
 * boot, stop, wait_ready, remove, stage), which end their waits as soon as
 * it is cancelled; the short calls (kill, pause, resume, get_state,
 * gc_staged) look at it before they start. A result that was reached
 * stands even if the cancellable was cancelled meanwhile
 * (check-cancellable is off): a boot that completed is never reported as
 * cancelled with its VM left running.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

/* What a task carries to its worker. */
typedef struct {
    VmcDriver *driver;       /* a reference, dropped with the task */
    VmcConfig *cfg;
    VmcHandle *handle;
    guint timeout_ms;
    VmcDeleteFlags flags;
} VmcDriverCall;

/* What an operation's _async() call copies into its task. */
typedef enum {
    VMC_ASYNC_ARG_NONE,
    VMC_ASYNC_ARG_CONFIG,
    VMC_ASYNC_ARG_HANDLE,
} VmcAsyncArg;

/* Runs the operation on the worker; returns its result, or for a boolean
 * operation GINT_TO_POINTER(TRUE); NULL with @error set. */
typedef gpointer (*VmcAsyncRun)(const VmcDriverCall *call, GCancellable *cancellable,
                                const char *name, GError **error);

typedef struct {
    const char *name;            /* the _async() function: the task's name */
    VmcAsyncArg arg;
    VmcAsyncRun run;
    GDestroyNotify free_result;  /* NULL: a boolean operation */
} VmcAsyncOp;

typedef enum {
    VMC_ASYNC_BOOT,
    VMC_ASYNC_STOP,
    VMC_ASYNC_KILL,
    VMC_ASYNC_PAUSE,
    VMC_ASYNC_RESUME,
    VMC_ASYNC_GET_STATE,
    VMC_ASYNC_DELETE,
    VMC_ASYNC_WAIT_READY,
    VMC_ASYNC_STAGE,
    VMC_ASYNC_GC_STAGED,
} VmcAsyncKind;

#define VMC_ASYNC_OK(ok) ((ok) ? GINT_TO_POINTER(TRUE) : NULL)

static gpointer
vmc_run_boot(const VmcDriverCall *c, GCancellable *cancellable, const char *name, GError **error)
{
    return vmc_op_boot(c->driver, c->cfg, cancellable, name, error);
}

static gpointer
vmc_run_stop(const VmcDriverCall *c, GCancellable *cancellable, const char *name, GError **error)
{
    return VMC_ASYNC_OK(vmc_op_stop(c->driver, c->handle, c->timeout_ms, cancellable, name,
                                    error));
}

static gpointer
vmc_run_kill(const VmcDriverCall *c, GCancellable *cancellable, const char *name, GError **error)
{
    return VMC_ASYNC_OK(vmc_op_handle(c->driver, VMC_OP(c->driver, kill), "kill", "kill",
                                      c->handle, cancellable, name, error));
}

static gpointer
vmc_run_pause(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
              GError **error)
{
    return VMC_ASYNC_OK(vmc_op_handle(c->driver, VMC_OP(c->driver, pause), "pause", "pause",
                                      c->handle, cancellable, name, error));
}

static gpointer
vmc_run_resume(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
               GError **error)
{
    return VMC_ASYNC_OK(vmc_op_handle(c->driver, VMC_OP(c->driver, resume), "resume",
                                      "resume", c->handle, cancellable, name, error));
}

static gpointer
vmc_run_get_state(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
                  GError **error)
{
    return vmc_op_get_state(c->driver, c->handle, cancellable, name, error);
}

static gpointer
vmc_run_delete(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
               GError **error)
{
    return VMC_ASYNC_OK(vmc_op_remove(c->driver, c->handle, c->flags, cancellable, name,
                                      error));
}

static gpointer
vmc_run_wait_ready(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
                   GError **error)
{
    return vmc_op_wait_ready(c->driver, c->handle, c->timeout_ms, NULL, NULL, cancellable, name,
                             error);
}

static gpointer
vmc_run_stage(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
              GError **error)
{
    return vmc_op_stage(c->driver, c->cfg, NULL, NULL, cancellable, name, error);
}

static gpointer
vmc_run_gc_staged(const VmcDriverCall *c, GCancellable *cancellable, const char *name,
                  GError **error)
{
    return vmc_op_gc_staged(c->driver, cancellable, name, error);
}

static const VmcAsyncOp vmc_async_ops[] = {
    [VMC_ASYNC_BOOT] = { "vmc_driver_boot_async", VMC_ASYNC_ARG_CONFIG, vmc_run_boot,
                         (GDestroyNotify) vmc_handle_free },
    [VMC_ASYNC_STOP] = { "vmc_driver_stop_async", VMC_ASYNC_ARG_HANDLE, vmc_run_stop, NULL },
    [VMC_ASYNC_KILL] = { "vmc_driver_kill_async", VMC_ASYNC_ARG_HANDLE, vmc_run_kill, NULL },
    [VMC_ASYNC_PAUSE] = { "vmc_driver_pause_async", VMC_ASYNC_ARG_HANDLE, vmc_run_pause, NULL },
    [VMC_ASYNC_RESUME] = { "vmc_driver_resume_async", VMC_ASYNC_ARG_HANDLE, vmc_run_resume,
                           NULL },
    [VMC_ASYNC_GET_STATE] = { "vmc_driver_get_state_async", VMC_ASYNC_ARG_HANDLE,
                              vmc_run_get_state, (GDestroyNotify) vmc_state_free },
    [VMC_ASYNC_DELETE] = { "vmc_driver_delete_async", VMC_ASYNC_ARG_HANDLE, vmc_run_delete,
                           NULL },
    [VMC_ASYNC_WAIT_READY] = { "vmc_driver_wait_ready_async", VMC_ASYNC_ARG_HANDLE,
                               vmc_run_wait_ready, (GDestroyNotify) vmc_state_free },
    [VMC_ASYNC_STAGE] = { "vmc_driver_stage_async", VMC_ASYNC_ARG_CONFIG, vmc_run_stage,
                          (GDestroyNotify) vmc_config_free },
    [VMC_ASYNC_GC_STAGED] = { "vmc_driver_gc_staged_async", VMC_ASYNC_ARG_NONE,
                              vmc_run_gc_staged, (GDestroyNotify) g_strfreev },
};

static void
vmc_driver_call_free(gpointer data)
{
    VmcDriverCall *call = data;

    vmc_config_free(call->cfg);
    vmc_handle_free(call->handle);
    vmc_driver_unref(call->driver);
    g_free(call);
}

static void
vmc_async_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    const VmcAsyncOp *op = g_task_get_source_tag(task);
    GError *error = NULL;
    gpointer result = op->run(data, cancellable, op->name, &error);

    if (!result)
        g_task_return_error(task, error);
    else if (op->free_result)
        g_task_return_pointer(task, result, op->free_result);
    else
        g_task_return_boolean(task, TRUE);
}

/* The bridge: @kind's operation on a worker thread, with the argument its
 * entry says (@arg: a VmcConfig or a VmcHandle, copied). */
static void
vmc_async_start(VmcAsyncKind kind, VmcDriver *driver, gconstpointer arg, guint timeout_ms,
                VmcDeleteFlags flags, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data)
{
    const VmcAsyncOp *op = &vmc_async_ops[kind];
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    VmcDriverCall *call = g_new0(VmcDriverCall, 1);

    call->driver = vmc_driver_ref(driver);
    if (op->arg == VMC_ASYNC_ARG_CONFIG)
        call->cfg = vmc_config_copy(arg);
    else if (op->arg == VMC_ASYNC_ARG_HANDLE)
        call->handle = vmc_handle_copy(arg);
    call->timeout_ms = timeout_ms;
    call->flags = flags;
    g_task_set_source_tag(task, (gpointer) op);
    g_task_set_name(task, op->name);
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, call, vmc_driver_call_free);
    g_task_run_in_thread(task, vmc_async_thread);
}

/* The task of @result when the _async() call of @kind on @driver made it,
 * else NULL (a programmer error). */
static GTask *
vmc_async_task(VmcAsyncKind kind, VmcDriver *driver, GAsyncResult *result)
{
    VmcDriverCall *call;

    if (!g_task_is_valid(result, NULL) ||
        g_task_get_source_tag(G_TASK(result)) != &vmc_async_ops[kind])
        return NULL;
    call = g_task_get_task_data(G_TASK(result));
    return call && call->driver == driver ? G_TASK(result) : NULL;
}

static gpointer
vmc_async_finish_pointer(VmcAsyncKind kind, VmcDriver *driver, GAsyncResult *result,
                         GError **error)
{
    GTask *task = vmc_async_task(kind, driver, result);

    g_return_val_if_fail(task != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return g_task_propagate_pointer(task, error);
}

static gboolean
vmc_async_finish_boolean(VmcAsyncKind kind, VmcDriver *driver, GAsyncResult *result,
                         GError **error)
{
    GTask *task = vmc_async_task(kind, driver, result);

    g_return_val_if_fail(task != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return g_task_propagate_boolean(task, error);
}

#define VMC_RETURN_IF_BAD_ASYNC(driver, arg_ok, cancellable)                                       \
    G_STMT_START {                                                                                 \
        g_return_if_fail((driver) != NULL && (arg_ok));                                            \
        g_return_if_fail((cancellable) == NULL || G_IS_CANCELLABLE(cancellable));                  \
    } G_STMT_END

/* The typed shims. */
/**
 * vmc_driver_boot_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, cfg != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_BOOT, driver, cfg, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_pointer(VMC_ASYNC_BOOT, driver, result, error);
}

/**
 * vmc_driver_stop_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_STOP, driver, handle, timeout_ms, 0, cancellable, callback,
                    user_data);
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
    return vmc_async_finish_boolean(VMC_ASYNC_STOP, driver, result, error);
}

/**
 * vmc_driver_kill_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_KILL, driver, handle, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_boolean(VMC_ASYNC_KILL, driver, result, error);
}

/**
 * vmc_driver_pause_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_PAUSE, driver, handle, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_boolean(VMC_ASYNC_PAUSE, driver, result, error);
}

/**
 * vmc_driver_resume_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_RESUME, driver, handle, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_boolean(VMC_ASYNC_RESUME, driver, result, error);
}

/**
 * vmc_driver_get_state_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_GET_STATE, driver, handle, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_pointer(VMC_ASYNC_GET_STATE, driver, result, error);
}

/**
 * vmc_driver_delete_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_DELETE, driver, handle, 0, flags, cancellable, callback, user_data);
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
    return vmc_async_finish_boolean(VMC_ASYNC_DELETE, driver, result, error);
}

/**
 * vmc_driver_wait_ready_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, handle != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_WAIT_READY, driver, handle, timeout_ms, 0, cancellable,
                    callback, user_data);
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
    return vmc_async_finish_pointer(VMC_ASYNC_WAIT_READY, driver, result, error);
}

/**
 * vmc_driver_stage_async:
 * @driver: a driver for a remote host (the call holds a reference on it
 *   until its task is gone)
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
    VMC_RETURN_IF_BAD_ASYNC(driver, cfg != NULL, cancellable);
    vmc_async_start(VMC_ASYNC_STAGE, driver, cfg, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_pointer(VMC_ASYNC_STAGE, driver, result, error);
}

/**
 * vmc_driver_gc_staged_async:
 * @driver: a driver (the call holds a reference on it until its task is
 *   gone: vmc_driver_ref())
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
    VMC_RETURN_IF_BAD_ASYNC(driver, TRUE, cancellable);
    vmc_async_start(VMC_ASYNC_GC_STAGED, driver, NULL, 0, 0, cancellable, callback, user_data);
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
    return vmc_async_finish_pointer(VMC_ASYNC_GC_STAGED, driver, result, error);
}
