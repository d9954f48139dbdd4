/*
 * vmc-driver-dispatch.c: the adapter between the calls and the table of
 * operations of a module of any ABI version
 *
 * Every vmc_driver_* call, sync or _async, reaches its module here. A
 * member is used only when the module's version of the table has it (no
 * byte past the end of an older module's table is ever read) and sets it;
 * otherwise the call fails with G_IO_ERROR_NOT_SUPPORTED naming the driver
 * and the call. A #GCancellable goes to the member of ABI 3 or later that
 * observes it; an older member is called only if it is not cancelled yet.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <stddef.h>

/* How many bytes of #VmcDriverOps a table of version @abi has. */
gsize
vmc_ops_size(guint abi)
{
    switch (abi) {
    case 1:
        return offsetof(VmcDriverOps, list_all);
    case 2:
        return offsetof(VmcDriverOps, boot_cancellable);
    case 3:
        return offsetof(VmcDriverOps, wait_until_ready);
    case 4:
        return offsetof(VmcDriverOps, open_console);
    default:
        return sizeof(VmcDriverOps);
    }
}


/* @call of @driver fails: its module has no member for it. */
static void
vmc_op_unsupported(VmcDriver *driver, const char *call, const char *member, GError **error)
{
    const VmcDriverOps *ops = VMC_OPS(driver);

    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "the '%s' driver does not support %s(): its module (driver ABI %u) has no "
                "'%s' operation", ops->name, call, ops->abi_version, member);
}

/* For a member that does not observe @cancellable: whether the call is
 * cancelled before it starts (then nothing is done). */
static gboolean
vmc_op_cancelled(GCancellable *cancellable, const char *what, const char *name, GError **error)
{
    if (!g_cancellable_is_cancelled(cancellable))
        return FALSE;
    if (name)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The %s of VM '%s' was cancelled before it started; nothing was done.",
                    what, name);
    else
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The %s was cancelled before it started; nothing was done.", what);
    return TRUE;
}

#define HANDLE_NAME(handle) vmc_handle_get_name(handle)

VmcHandle *
vmc_op_boot(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
            const char *call, GError **error)
{
    VMC_OP_TYPE(boot_cancellable) boot_c = VMC_OP(driver, boot_cancellable);
    VMC_OP_TYPE(boot) boot = VMC_OP(driver, boot);

    if (cancellable && boot_c)
        return boot_c(driver, cfg, cancellable, error);
    if (!boot) {
        vmc_op_unsupported(driver, call, "boot", error);
        return NULL;
    }
    if (vmc_op_cancelled(cancellable, "boot", vmc_config_get_name(cfg), error))
        return NULL;
    return boot(driver, cfg, error);
}

gboolean
vmc_op_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
            GCancellable *cancellable, const char *call, GError **error)
{
    VMC_OP_TYPE(stop_cancellable) stop_c = VMC_OP(driver, stop_cancellable);
    VMC_OP_TYPE(stop) stop = VMC_OP(driver, stop);

    if (cancellable && stop_c)
        return stop_c(driver, handle, timeout_ms, cancellable, error);
    if (!stop) {
        vmc_op_unsupported(driver, call, "stop", error);
        return FALSE;
    }
    if (vmc_op_cancelled(cancellable, "stop", HANDLE_NAME(handle), error))
        return FALSE;
    return stop(driver, handle, timeout_ms, error);
}

gboolean
vmc_op_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
              GCancellable *cancellable, const char *call, GError **error)
{
    VMC_OP_TYPE(remove_cancellable) remove_c = VMC_OP(driver, remove_cancellable);
    VMC_OP_TYPE(remove) remove = VMC_OP(driver, remove);

    if (cancellable && remove_c)
        return remove_c(driver, handle, flags, cancellable, error);
    if (!remove) {
        vmc_op_unsupported(driver, call, "remove", error);
        return FALSE;
    }
    if (vmc_op_cancelled(cancellable, "deletion", HANDLE_NAME(handle), error))
        return FALSE;
    return remove(driver, handle, flags, error);
}

VmcConfig *
vmc_op_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
             gpointer user_data, GCancellable *cancellable, const char *call, GError **error)
{
    VMC_OP_TYPE(stage_cancellable) stage_c = VMC_OP(driver, stage_cancellable);
    VMC_OP_TYPE(stage) stage = VMC_OP(driver, stage);

    if (cancellable && stage_c)
        return stage_c(driver, cfg, progress, user_data, cancellable, error);
    if (!stage) {
        vmc_op_unsupported(driver, call, "stage", error);
        return NULL;
    }
    if (vmc_op_cancelled(cancellable, "staging", vmc_config_get_name(cfg), error))
        return NULL;
    return stage(driver, cfg, progress, user_data, error);
}

/* The three waits of before ABI 4 and the one of ABI 4: @progress set
 * picks wait_ready_full, @cancellable set wait_ready_cancellable. */
VmcState *
vmc_op_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                  VmcWaitProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                  const char *call, GError **error)
{
    VMC_OP_TYPE(wait_until_ready) until = VMC_OP(driver, wait_until_ready);
    VMC_OP_TYPE(wait_ready_cancellable) wait_c = VMC_OP(driver, wait_ready_cancellable);
    VMC_OP_TYPE(wait_ready_full) wait_full = VMC_OP(driver, wait_ready_full);
    VMC_OP_TYPE(wait_ready) wait = VMC_OP(driver, wait_ready);

    if (VMC_OPS(driver)->abi_version >= 4) {
        if (!until) {
            vmc_op_unsupported(driver, call, "wait_until_ready", error);
            return NULL;
        }
        return until(driver, handle, timeout_ms, VMC_WAIT_DEFAULT, progress, user_data,
                     cancellable, error);
    }
    if (cancellable && wait_c)
        return wait_c(driver, handle, timeout_ms, progress, user_data, cancellable, error);
    if (progress ? !wait_full : !wait) {
        vmc_op_unsupported(driver, call, progress ? "wait_ready_full" : "wait_ready", error);
        return NULL;
    }
    if (vmc_op_cancelled(cancellable, "wait for readiness", HANDLE_NAME(handle), error))
        return NULL;
    if (progress)
        return wait_full(driver, handle, timeout_ms, progress, user_data, error);
    return wait(driver, handle, timeout_ms, error);
}

/* The calls with a handle and nothing else: kill, pause, resume. */
gboolean
vmc_op_handle(VmcDriver *driver, VmcHandleOp op, const char *member, const char *what,
              const VmcHandle *handle, GCancellable *cancellable, const char *call,
              GError **error)
{
    if (!op) {
        vmc_op_unsupported(driver, call, member, error);
        return FALSE;
    }
    if (vmc_op_cancelled(cancellable, what, HANDLE_NAME(handle), error))
        return FALSE;
    return op(driver, handle, error);
}

VmcState *
vmc_op_get_state(VmcDriver *driver, const VmcHandle *handle, GCancellable *cancellable,
                 const char *call, GError **error)
{
    VMC_OP_TYPE(get_state) get_state = VMC_OP(driver, get_state);

    if (!get_state) {
        vmc_op_unsupported(driver, call, "get_state", error);
        return NULL;
    }
    if (vmc_op_cancelled(cancellable, "state query", HANDLE_NAME(handle), error))
        return NULL;
    return get_state(driver, handle, error);
}

char **
vmc_op_gc_staged(VmcDriver *driver, GCancellable *cancellable, const char *call,
                 GError **error)
{
    VMC_OP_TYPE(gc_staged) gc_staged = VMC_OP(driver, gc_staged);

    if (!gc_staged) {
        vmc_op_unsupported(driver, call, "gc_staged", error);
        return NULL;
    }
    if (vmc_op_cancelled(cancellable, "removal of unused staged files", NULL, error))
        return NULL;
    return gc_staged(driver, error);
}

/* For the calls with nothing to cancel: FALSE with the error when @member
 * is not there. */
gboolean
vmc_op_present(VmcDriver *driver, gboolean present, const char *member_name,
               const char *call, GError **error)
{
    if (present)
        return TRUE;
    vmc_op_unsupported(driver, call, member_name, error);
    return FALSE;
}
