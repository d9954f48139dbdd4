/*
 * vmc-state.c: VmcState, VmcHandle and VmcEvent, the values the driver
 * hands out
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-state-private.h"

static const char *const vmc_state_kind_names[] = {
    [VMC_STATE_STARTING] = "starting",
    [VMC_STATE_RUNNING] = "running",
    [VMC_STATE_READY] = "ready",
    [VMC_STATE_PAUSED] = "paused",
    [VMC_STATE_STOPPED] = "stopped",
    [VMC_STATE_FAILED] = "failed",
};

const char *
vmc_state_kind_to_string(VmcStateKind kind)
{
    if ((guint) kind >= G_N_ELEMENTS(vmc_state_kind_names))
        return "unknown";
    return vmc_state_kind_names[kind];
}

/**
 * vmc_state_new:
 * @kind: the kind of state
 * @detail: (nullable): the IP for %VMC_STATE_READY, the reason for
 *   %VMC_STATE_FAILED; ignored otherwise
 *
 * Returns: (transfer full): a new state.
 */
VmcState *
vmc_state_new(VmcStateKind kind, const char *detail)
{
    VmcState *state = g_new0(VmcState, 1);

    state->kind = kind;
    if (kind == VMC_STATE_READY || kind == VMC_STATE_FAILED)
        state->detail = g_strdup(detail ? detail : "");
    return state;
}

VmcState *
vmc_state_new_libvirt(VmcStateKind kind, const char *detail, int libvirt_state, int libvirt_reason)
{
    VmcState *state = vmc_state_new(kind, detail);

    state->libvirt_state = libvirt_state;
    state->libvirt_reason = libvirt_reason;
    return state;
}

VmcState *
vmc_state_copy(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    return vmc_state_new_libvirt(state->kind, state->detail, state->libvirt_state,
                                 state->libvirt_reason);
}

void
vmc_state_free(VmcState *state)
{
    if (!state)
        return;
    g_free(state->detail);
    g_free(state);
}

VmcStateKind
vmc_state_get_kind(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, VMC_STATE_STOPPED);
    return state->kind;
}

/**
 * vmc_state_get_ip:
 * @state: a state
 *
 * Returns: (nullable): the guest's IP when @state is ready, else %NULL.
 */
const char *
vmc_state_get_ip(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    return state->kind == VMC_STATE_READY ? state->detail : NULL;
}

/**
 * vmc_state_get_reason:
 * @state: a state
 *
 * Returns: (nullable): why the VM failed when @state is failed, else %NULL.
 */
const char *
vmc_state_get_reason(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    return state->kind == VMC_STATE_FAILED ? state->detail : NULL;
}

int
vmc_state_get_libvirt_state(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, 0);
    return state->libvirt_state;
}

int
vmc_state_get_libvirt_reason(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, 0);
    return state->libvirt_reason;
}

gboolean
vmc_state_is_running(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, FALSE);
    return state->kind == VMC_STATE_RUNNING || state->kind == VMC_STATE_READY;
}

gboolean
vmc_state_equal(const VmcState *a, const VmcState *b)
{
    if (a == b)
        return TRUE;
    if (!a || !b)
        return FALSE;
    return a->kind == b->kind && g_strcmp0(a->detail, b->detail) == 0;
}

/**
 * vmc_state_to_string:
 * @state: a state
 *
 * Returns: (transfer full): "running", "ready (10.0.2.15)", "failed:
 * crashed", ... as vm-rs writes them.
 */
char *
vmc_state_to_string(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    if (state->kind == VMC_STATE_READY)
        return g_strdup_printf("ready (%s)", state->detail);
    if (state->kind == VMC_STATE_FAILED)
        return g_strdup_printf("failed: %s", state->detail);
    return g_strdup(vmc_state_kind_to_string(state->kind));
}

VmcHandle *
vmc_handle_new(const char *name, const char *ns, const char *uuid, const char *serial_log,
               guint vsock_cid, VmcState *state)
{
    VmcHandle *handle = g_new0(VmcHandle, 1);

    handle->name = g_strdup(name);
    handle->ns = g_strdup(ns ? ns : "");
    handle->uuid = g_strdup(uuid);
    handle->serial_log = g_strdup(serial_log);
    handle->vsock_cid = vsock_cid;
    handle->state = state;
    return handle;
}

VmcHandle *
vmc_handle_copy(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return vmc_handle_new(handle->name, handle->ns, handle->uuid, handle->serial_log,
                          handle->vsock_cid, vmc_state_copy(handle->state));
}

void
vmc_handle_free(VmcHandle *handle)
{
    if (!handle)
        return;
    g_free(handle->name);
    g_free(handle->ns);
    g_free(handle->uuid);
    g_free(handle->serial_log);
    vmc_state_free(handle->state);
    g_free(handle);
}

const char *
vmc_handle_get_name(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->name;
}

const char *
vmc_handle_get_namespace(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->ns;
}

const char *
vmc_handle_get_uuid(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->uuid;
}

/**
 * vmc_handle_get_serial_log:
 * @handle: a handle
 *
 * Returns: (nullable): the file that receives the guest's serial console.
 */
const char *
vmc_handle_get_serial_log(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->serial_log;
}

/**
 * vmc_handle_get_vsock_cid:
 * @handle: a handle
 *
 * Returns: the vsock CID libvirt chose when the VM started, or 0 when it
 * has no vsock device or is not running.
 */
guint
vmc_handle_get_vsock_cid(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, 0);
    return handle->vsock_cid;
}

/**
 * vmc_handle_get_state:
 * @handle: a handle
 *
 * Returns: (transfer none): the state when the handle was made; ask
 * vmc_driver_get_state() for the current one.
 */
const VmcState *
vmc_handle_get_state(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->state;
}

VmcEvent *
vmc_event_new(const char *name, const char *uuid, VmcState *state, int event, int detail)
{
    VmcEvent *ev = g_new0(VmcEvent, 1);

    ev->ref = 1;
    ev->name = g_strdup(name);
    ev->uuid = g_strdup(uuid);
    ev->state = state;
    ev->event = event;
    ev->detail = detail;
    return ev;
}

VmcEvent *
vmc_event_ref(VmcEvent *ev)
{
    g_atomic_int_inc(&ev->ref);
    return ev;
}

void
vmc_event_unref(VmcEvent *ev)
{
    if (!ev || !g_atomic_int_dec_and_test(&ev->ref))
        return;
    g_free(ev->name);
    g_free(ev->uuid);
    vmc_state_free(ev->state);
    g_free(ev);
}

const char *
vmc_event_get_name(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->name;
}

const char *
vmc_event_get_uuid(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->uuid;
}

const VmcState *
vmc_event_get_state(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->state;
}

int
vmc_event_get_libvirt_event(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, -1);
    return event->event;
}

int
vmc_event_get_libvirt_detail(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, -1);
    return event->detail;
}
