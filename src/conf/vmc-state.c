/*
 * vmc-state.c: VmcState, VmcHandle and VmcEvent, the values the driver
 * hands out
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-state-private.h"

VMC_ENUM_IMPL(vmc_state_kind, VMC_STATE_FAILED + 1,
              "starting", "running", "ready", "paused", "stopped", "failed")

/* libvirt's virDomainEventType and its detail enums (libvirt-domain.h), by
 * value: libvirt's codes are its ABI, and the core does not link libvirt. */
#define VMC_LIBVIRT_EVENT_STOPPED 5
#define VMC_LIBVIRT_EVENT_CRASHED 8

VMC_ENUM_IMPL(vmc_libvirt_event, VMC_LIBVIRT_EVENT_CRASHED + 1,
              "defined", "undefined", "started", "suspended", "resumed", "stopped", "shutdown",
              "pmsuspended", "crashed")

static const char *const *const vmc_libvirt_event_details[] = {
    (const char *const[]) { "added", "updated", "renamed", "from-snapshot", NULL },
    (const char *const[]) { "removed", "renamed", NULL },
    (const char *const[]) { "booted", "migrated", "restored", "from-snapshot", "wakeup", NULL },
    (const char *const[]) { "paused", "migrated", "ioerror", "watchdog", "restored",
                            "from-snapshot", "api-error", "postcopy", "postcopy-failed", NULL },
    (const char *const[]) { "unpaused", "migrated", "from-snapshot", "postcopy",
                            "postcopy-failed", NULL },
    (const char *const[]) { "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
                            "from-snapshot", NULL },
    (const char *const[]) { "finished", "guest", "host", NULL },
    (const char *const[]) { "memory", "disk", NULL },
    (const char *const[]) { "panicked", "crashloaded", NULL },
};
G_STATIC_ASSERT(G_N_ELEMENTS(vmc_libvirt_event_details) == G_N_ELEMENTS(vmc_libvirt_event_strings));

/**
 * vmc_state_kind_to_string:
 * @kind: a #VmcStateKind
 *
 * Returns: the kind's name ("starting", "running", "ready", "paused",
 *   "stopped", "failed"), or "unknown" for a value out of range. Any thread.
 *
 * Since: 0.1
 */
const char *
vmc_state_kind_to_string(VmcStateKind kind)
{
    const char *name = vmc_state_kind_to_str((int) kind);

    return name ? name : "unknown";
}

/**
 * vmc_state_new:
 * @kind: the kind of state
 * @detail: (nullable): the IP for %VMC_STATE_READY, the reason for
 *   %VMC_STATE_FAILED; ignored otherwise
 *
 * Returns: (transfer full): a new state.
 *
 * Since: 0.1
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

/**
 * vmc_state_new_full:
 * @kind: the kind of state
 * @detail: (nullable): the IP for %VMC_STATE_READY, the reason for
 *   %VMC_STATE_FAILED; ignored otherwise
 * @libvirt_state: the hypervisor's own state code (libvirt's virDomainState)
 * @libvirt_reason: the hypervisor's own reason code
 *
 * For driver modules: a state with the hypervisor's codes kept.
 *
 * Returns: (transfer full): a new state, free with vmc_state_free(). Any
 *   thread.
 *
 * Since: 0.1
 */
VmcState *
vmc_state_new_full(VmcStateKind kind, const char *detail, int libvirt_state, int libvirt_reason)
{
    VmcState *state = vmc_state_new(kind, detail);

    state->libvirt_state = libvirt_state;
    state->libvirt_reason = libvirt_reason;
    return state;
}

/**
 * vmc_state_copy:
 * @state: a state
 *
 * Returns: (transfer full): a copy of @state; free with vmc_state_free().
 *
 * Since: 0.1
 */
VmcState *
vmc_state_copy(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    return vmc_state_new_full(state->kind, state->detail, state->libvirt_state,
                              state->libvirt_reason);
}

/**
 * vmc_state_free:
 * @state: (nullable): a state
 *
 * Frees @state.
 *
 * Since: 0.1
 */
void
vmc_state_free(VmcState *state)
{
    if (!state)
        return;
    g_free(state->detail);
    g_free(state);
}

/**
 * vmc_state_get_kind:
 * @state: a state
 *
 * Returns: the kind of @state.
 *
 * Since: 0.1
 */
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
 *
 * Since: 0.1
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
 *
 * Since: 0.1
 */
const char *
vmc_state_get_reason(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, NULL);
    return state->kind == VMC_STATE_FAILED ? state->detail : NULL;
}

/**
 * vmc_state_get_libvirt_state:
 * @state: a state
 *
 * Returns: the hypervisor's own state code (libvirt's virDomainState), or
 *   0 when no hypervisor reported one.
 *
 * Since: 0.1
 */
int
vmc_state_get_libvirt_state(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, 0);
    return state->libvirt_state;
}

/**
 * vmc_state_get_libvirt_reason:
 * @state: a state
 *
 * Returns: the hypervisor's own reason code, or 0 when no hypervisor
 *   reported one.
 *
 * Since: 0.1
 */
int
vmc_state_get_libvirt_reason(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, 0);
    return state->libvirt_reason;
}

/**
 * vmc_state_is_running:
 * @state: a state
 *
 * Returns: %TRUE when @state is running or ready.
 *
 * Since: 0.1
 */
gboolean
vmc_state_is_running(const VmcState *state)
{
    g_return_val_if_fail(state != NULL, FALSE);
    return state->kind == VMC_STATE_RUNNING || state->kind == VMC_STATE_READY;
}

/**
 * vmc_state_equal:
 * @a: (nullable): a state
 * @b: (nullable): another state
 *
 * The libvirt codes are not compared.
 *
 * Returns: %TRUE when @a and @b have the same kind and the same IP or
 *   reason, or are both %NULL.
 *
 * Since: 0.1
 */
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
 *
 * Since: 0.1
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

/**
 * vmc_handle_new:
 * @name: the VM's name
 * @ns: (nullable): its namespace (%NULL: none)
 * @uuid: its UUID, as a string
 * @serial_log: its serial log
 * @vsock_cid: its vsock CID, 0 for none
 * @state: (transfer full): the state it is in now
 *
 * For driver modules: the handle boot() and lookup() return.
 *
 * Returns: (transfer full): a new handle, free with vmc_handle_free().
 *   Any thread.
 *
 * Since: 0.1
 */
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
    handle->owned_taps = g_new0(char *, 1);
    return handle;
}

/**
 * vmc_handle_set_owned_taps:
 * @handle: a handle the module has just made
 * @taps: (array zero-terminated=1) (nullable): the TAP devices that the
 *   driver created for the VM and will remove
 *
 * For driver modules, before the handle is handed out (a handle is
 * immutable once the caller has it).
 *
 * Since: 0.1
 */
void
vmc_handle_set_owned_taps(VmcHandle *handle, const char *const *taps)
{
    static const char *const none[] = { NULL };

    g_return_if_fail(handle != NULL);
    g_strfreev(handle->owned_taps);
    handle->owned_taps = g_strdupv((char **) (taps ? taps : none));
}

/**
 * vmc_handle_copy:
 * @handle: a handle
 *
 * Returns: (transfer full): a deep copy of @handle; free with
 *   vmc_handle_free().
 *
 * Since: 0.1
 */
VmcHandle *
vmc_handle_copy(const VmcHandle *handle)
{
    VmcHandle *copy;

    g_return_val_if_fail(handle != NULL, NULL);
    copy = vmc_handle_new(handle->name, handle->ns, handle->uuid, handle->serial_log,
                          handle->vsock_cid, vmc_state_copy(handle->state));
    vmc_handle_set_owned_taps(copy, (const char *const *) handle->owned_taps);
    copy->foreign = handle->foreign;
    return copy;
}

/**
 * vmc_handle_free:
 * @handle: (nullable): a handle
 *
 * Frees @handle and its state.
 *
 * Since: 0.1
 */
void
vmc_handle_free(VmcHandle *handle)
{
    if (!handle)
        return;
    g_free(handle->name);
    g_free(handle->ns);
    g_free(handle->uuid);
    g_free(handle->serial_log);
    g_strfreev(handle->owned_taps);
    vmc_state_free(handle->state);
    g_free(handle);
}

/**
 * vmc_handle_get_name:
 * @handle: a handle
 *
 * Returns: the VM's name.
 *
 * Since: 0.1
 */
const char *
vmc_handle_get_name(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->name;
}

/**
 * vmc_handle_get_namespace:
 * @handle: a handle
 *
 * Returns: the VM's namespace; "" for none, never %NULL.
 *
 * Since: 0.1
 */
const char *
vmc_handle_get_namespace(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->ns;
}

/**
 * vmc_handle_get_uuid:
 * @handle: a handle
 *
 * Returns: the VM's UUID, as a string.
 *
 * Since: 0.1
 */
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
 *
 * Since: 0.1
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
 *
 * Since: 0.1
 */
guint
vmc_handle_get_vsock_cid(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, 0);
    return handle->vsock_cid;
}

/**
 * vmc_handle_set_foreign:
 * @handle: a handle the module has just made
 * @foreign: whether it is a domain that virt-vmconfig did not define
 *
 * For driver modules, before the handle is handed out.
 *
 * Since: 0.1
 */
void
vmc_handle_set_foreign(VmcHandle *handle, gboolean foreign)
{
    g_return_if_fail(handle != NULL);
    handle->foreign = !!foreign;
}

/**
 * vmc_handle_is_foreign:
 * @handle: a handle
 *
 * Returns: %TRUE for a domain that virt-vmconfig did not define (listed by
 *   vmc_driver_list_all(); only vmc_driver_adopt() acts on it).
 *
 * Since: 0.1
 */
gboolean
vmc_handle_is_foreign(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, FALSE);
    return handle->foreign;
}

/**
 * vmc_handle_get_owned_taps:
 * @handle: a handle
 *
 * The VM's TAP devices that its driver created because they did not exist:
 * the driver removes them when the VM is stopped, killed, deleted or booted
 * again (of a VM that crashed, they stay until then: reading a VM's state
 * changes nothing). TAPs that existed before are the operator's and are
 * never removed.
 *
 * Returns: (transfer none) (array zero-terminated=1): device names; empty,
 *   never %NULL.
 *
 * Since: 0.1
 */
const char *const *
vmc_handle_get_owned_taps(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return (const char *const *) handle->owned_taps;
}

/**
 * vmc_handle_get_state:
 * @handle: a handle
 *
 * Returns: (transfer none): the state when the handle was made; ask
 * vmc_driver_get_state() for the current one.
 *
 * Since: 0.1
 */
const VmcState *
vmc_handle_get_state(const VmcHandle *handle)
{
    g_return_val_if_fail(handle != NULL, NULL);
    return handle->state;
}

/**
 * vmc_event_new:
 * @name: the VM's name
 * @uuid: the VM's UUID, as a string
 * @state: (transfer full): its new state
 * @event: libvirt's event code (virDomainEventType), or %VMC_EVENT_READY
 * @detail: libvirt's detail code
 *
 * For driver modules: an event to hand to watch functions.
 *
 * Returns: (transfer full): a new event with one reference. Any thread.
 *
 * Since: 0.1
 */
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

/**
 * vmc_event_ref:
 * @ev: an event
 *
 * Returns: @ev, with one more reference. Any thread.
 *
 * Since: 0.1
 */
VmcEvent *
vmc_event_ref(VmcEvent *ev)
{
    g_atomic_int_inc(&ev->ref);
    return ev;
}

/**
 * vmc_event_unref:
 * @ev: (nullable): an event
 *
 * Drops a reference; the last one frees the event. Any thread.
 *
 * Since: 0.1
 */
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

/**
 * vmc_event_get_name:
 * @event: an event
 *
 * Returns: the VM's name.
 *
 * Since: 0.1
 */
const char *
vmc_event_get_name(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->name;
}

/**
 * vmc_event_get_uuid:
 * @event: an event
 *
 * Returns: the VM's UUID, as a string.
 *
 * Since: 0.1
 */
const char *
vmc_event_get_uuid(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->uuid;
}

/**
 * vmc_event_get_state:
 * @event: an event
 *
 * Returns: (transfer none): the VM's new state.
 *
 * Since: 0.1
 */
const VmcState *
vmc_event_get_state(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return event->state;
}

/**
 * vmc_event_get_libvirt_event:
 * @event: an event
 *
 * Returns: libvirt's event code (virDomainEventType), or %VMC_EVENT_READY.
 *
 * Since: 0.1
 */
int
vmc_event_get_libvirt_event(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, -1);
    return event->event;
}

/**
 * vmc_event_get_libvirt_detail:
 * @event: an event
 *
 * Returns: libvirt's detail code, whose meaning depends on the event.
 *
 * Since: 0.1
 */
int
vmc_event_get_libvirt_detail(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, -1);
    return event->detail;
}

/**
 * vmc_event_ends_run:
 * @event: an event
 *
 * Returns: %TRUE when @event says the VM stopped running: it powered off,
 * was forced off, crashed or failed to start (defining or undefining a
 * stopped VM also reports a stopped state, but ends nothing). Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_event_ends_run(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, FALSE);
    return event->event == VMC_LIBVIRT_EVENT_STOPPED || event->event == VMC_LIBVIRT_EVENT_CRASHED;
}

/**
 * vmc_event_get_libvirt_event_name:
 * @event: an event
 *
 * Returns: (nullable): libvirt's name of the event ("started", "stopped",
 *   ...), or %NULL for %VMC_EVENT_READY and codes this library does not
 *   know. Any thread.
 *
 * Since: 0.1
 */
const char *
vmc_event_get_libvirt_event_name(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, NULL);
    return vmc_libvirt_event_to_str(event->event);
}

/**
 * vmc_event_get_libvirt_detail_name:
 * @event: an event
 *
 * Returns: (nullable): libvirt's name of the event's detail ("booted",
 *   "destroyed", ...), or %NULL when unknown. Any thread.
 *
 * Since: 0.1
 */
const char *
vmc_event_get_libvirt_detail_name(const VmcEvent *event)
{
    const char *const *details;

    g_return_val_if_fail(event != NULL, NULL);
    if (!vmc_libvirt_event_to_str(event->event) || event->detail < 0)
        return NULL;
    details = vmc_libvirt_event_details[event->event];
    for (int i = 0; details[i]; i++) {
        if (i == event->detail)
            return details[i];
    }
    return NULL;
}
