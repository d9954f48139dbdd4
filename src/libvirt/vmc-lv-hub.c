/*
 * vmc-lv-hub.c: the connection hub that the driver and libvirt's event
 * thread share: its references, the current connection and its events,
 * a lost daemon reconnected with backoff, and the states it remembers,
 * so that only what changed meanwhile is reported
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-connection.h"
#include "vmc-meta-private.h"

#include <string.h>

VmcEventHub *
vmc_hub_ref(VmcEventHub *hub)
{
    g_atomic_int_inc(&hub->ref);
    return hub;
}

void
vmc_hub_unref(gpointer data)
{
    VmcEventHub *hub = data;

    if (!g_atomic_int_dec_and_test(&hub->ref))
        return;
    g_hash_table_unref(hub->namespaces);
    g_hash_table_unref(hub->states);
    g_hash_table_unref(hub->stopping);
    g_hash_table_unref(hub->panicked);
    g_free(hub->uri);
    g_cond_clear(&hub->wake);
    g_mutex_clear(&hub->lock);
    g_mutex_clear(&hub->events_lock);
    g_free(hub);
}

void
vmc_conn_unref(virConnect *conn)
{
    if (conn)
        virConnectClose(conn);
}

/* The current connection, with a reference of the caller's own: a
 * reconnect may replace it at any time. */
virConnectPtr
vmc_hub_conn(VmcEventHub *hub)
{
    virConnectPtr conn;

    g_mutex_lock(&hub->lock);
    conn = hub->conn;
    if (conn)
        virConnectRef(conn);
    g_mutex_unlock(&hub->lock);
    return conn;
}

/* What the hub remembers of a VM, to tell after a reconnect what changed
 * while libvirt was away. */
typedef struct {
    VmcStateKind kind;
    char *name;
} VmcSeen;

void
vmc_seen_free(gpointer data)
{
    VmcSeen *seen = data;

    g_free(seen->name);
    g_free(seen);
}

/* With hub->lock held. */
void
vmc_hub_remember(VmcEventHub *hub, const char *uuid, const char *name, VmcStateKind kind)
{
    VmcSeen *seen = g_new0(VmcSeen, 1);

    seen->kind = kind;
    seen->name = g_strdup(name);
    g_hash_table_replace(hub->states, g_strdup(uuid), seen);
}

static int
vmc_event_for_kind(VmcStateKind kind, int *detail)
{
    *detail = 0;
    switch (kind) {
    case VMC_STATE_PAUSED:
        return VIR_DOMAIN_EVENT_SUSPENDED;
    case VMC_STATE_STOPPED:
        return VIR_DOMAIN_EVENT_STOPPED;
    case VMC_STATE_FAILED:
        *detail = VIR_DOMAIN_EVENT_STOPPED_FAILED;
        return VIR_DOMAIN_EVENT_STOPPED;
    default:
        return VIR_DOMAIN_EVENT_STARTED;
    }
}

/* With @report, after a reconnect: every VM whose state changed while
 * libvirt was away (or that appeared, or vanished) is reported; the
 * others, not at all, so that a daemon restart never looks like VMs
 * stopping or starting. Without, when events start to be followed: the
 * states of the VMs there are now are remembered (those an event has told
 * already are newer and kept), so that a VM the hub never saw change is
 * not taken for a new one after a reconnect. */
static void
vmc_hub_reconcile(VmcEventHub *hub, virConnectPtr conn, gboolean report)
{
    g_autoptr(GHashTable) present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_event_unref);
    virDomainPtr *doms = NULL;
    GHashTableIter iter;
    gpointer key, value;
    int n = virConnectListAllDomains(conn, &doms, 0);

    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        int st, reason, event, detail;
        g_autofree char *ns = NULL;
        VmcState *state;
        VmcSeen *seen;

        if (virDomainGetUUIDString(doms[i], uuid) < 0 || !vmc_domain_is_ours(doms[i], &ns) ||
            virDomainGetState(doms[i], &st, &reason, 0) < 0) {
            virDomainFree(doms[i]);
            continue;
        }
        state = vmc_state_from_libvirt(st, reason);
        g_hash_table_add(present, g_strdup(uuid));
        g_mutex_lock(&hub->lock);
        /* A watch then knows the VM is ours even once it is gone (an
         * undefined domain has no metadata left to read). */
        if (!g_hash_table_contains(hub->namespaces, uuid))
            g_hash_table_insert(hub->namespaces, g_strdup(uuid), ns ? g_steal_pointer(&ns) : g_strdup(""));
        seen = g_hash_table_lookup(hub->states, uuid);
        if (!seen || (report && seen->kind != vmc_state_get_kind(state))) {
            vmc_hub_remember(hub, uuid, virDomainGetName(doms[i]), vmc_state_get_kind(state));
            event = vmc_event_for_kind(vmc_state_get_kind(state), &detail);
            if (report)
                g_ptr_array_add(events, vmc_event_new(virDomainGetName(doms[i]), uuid,
                                                      vmc_state_copy(state), event, detail));
        }
        g_mutex_unlock(&hub->lock);
        vmc_state_free(state);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (n < 0 || !report) {
        virResetLastError();
        return;
    }

    g_mutex_lock(&hub->lock);
    g_hash_table_iter_init(&iter, hub->states);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (g_hash_table_contains(present, key))
            continue;
        g_ptr_array_add(events, vmc_event_new(((VmcSeen *) value)->name, key,
                                              vmc_state_new_full(VMC_STATE_STOPPED, NULL,
                                                                    VIR_DOMAIN_SHUTOFF, 0),
                                              VIR_DOMAIN_EVENT_UNDEFINED, 0));
        g_hash_table_iter_remove(&iter);
    }
    for (guint i = 0; i < events->len; i++) {
        for (GList *l = hub->watchers; l; l = l->next)
            vmc_post(l->data, g_ptr_array_index(events, i), FALSE);
    }
    hub->reconnects++;
    g_mutex_unlock(&hub->lock);
}

/* Makes @conn the hub's connection: events and close detection on it
 * first, then the swap, then the old one closed. */
gboolean
vmc_hub_attach(VmcEventHub *hub, virConnectPtr conn, GError **error)
{
    virConnectPtr old;
    int id, old_id;

    vmc_conn_quiet_errors(conn);
    id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          VIR_DOMAIN_EVENT_CALLBACK(vmc_on_lifecycle),
                                          vmc_hub_ref(hub), vmc_hub_unref);
    if (id < 0)
        return vmc_libvirt_error(error, VMC_OP_CONNECT, "cannot follow VM events on '%s'",
                                 hub->uri);
    /* Neither is offered by every driver (the embedded and test ones have
     * no daemon to lose); without them a lost daemon is seen on next use. */
    /* No reference for it: it is unregistered before the hub can go. */
    if (virConnectRegisterCloseCallback(conn, vmc_on_close, hub, NULL) < 0)
        virResetLastError();
    if (virConnectSetKeepAlive(conn, 5, 3) < 0)
        virResetLastError();
    virResetLastError();

    g_mutex_lock(&hub->lock);
    old = hub->conn;
    old_id = hub->lifecycle_id;
    hub->conn = conn;
    hub->lifecycle_id = id;
    hub->events = TRUE;
    g_mutex_unlock(&hub->lock);

    if (old) {
        if (old_id >= 0) {
            virConnectDomainEventDeregisterAny(old, old_id);
            virConnectUnregisterCloseCallback(old, vmc_on_close);
        }
        virConnectClose(old);
        virResetLastError();
    }
    return TRUE;
}

/* A connection without events: what a driver starts with, until a watch
 * needs them (vmc_hub_want_events()). Replaces one that libvirt lost. */
void
vmc_hub_attach_plain(VmcEventHub *hub, virConnectPtr conn)
{
    virConnectPtr old;

    vmc_conn_quiet_errors(conn);
    g_mutex_lock(&hub->lock);
    old = hub->conn;
    hub->conn = conn;
    g_mutex_unlock(&hub->lock);
    if (old)
        virConnectClose(old);
    virResetLastError();
}

/**
 * vmc_hub_want_events:
 * @hub: a hub
 * @error: return location for a #GError, or %NULL
 *
 * Makes the hub's connection follow lifecycle events, with keepalive and
 * reconnects: the event loop is started (once per process) and a new
 * connection, opened with it, replaces the plain one. Calls under way on
 * the old connection finish on it.
 *
 * Returns: %TRUE when events are followed (also when they already were).
 */
gboolean
vmc_hub_want_events(VmcEventHub *hub, GError **error)
{
    virConnectPtr conn;
    gboolean done;

    g_mutex_lock(&hub->events_lock);
    g_mutex_lock(&hub->lock);
    done = hub->events || hub->closing;
    g_mutex_unlock(&hub->lock);
    if (done) {
        g_mutex_unlock(&hub->events_lock);
        return TRUE;
    }
    if (!vmc_event_loop_ensure(error)) {
        g_mutex_unlock(&hub->events_lock);
        return FALSE;
    }
    conn = virConnectOpen(hub->uri);
    if (!conn) {
        vmc_libvirt_error(error, VMC_OP_CONNECT, "cannot connect to '%s' to follow its events",
                          hub->uri);
        g_mutex_unlock(&hub->events_lock);
        return FALSE;
    }
    if (!vmc_hub_attach(hub, conn, error)) {
        virConnectClose(conn);
        virResetLastError();
        g_mutex_unlock(&hub->events_lock);
        return FALSE;
    }
    /* Events from here on; what is there now, before any reconnect (on a
     * reference of our own: a reconnect may replace the hub's). */
    virConnectRef(conn);
    g_mutex_unlock(&hub->events_lock);
    vmc_hub_reconcile(hub, conn, FALSE);
    virConnectClose(conn);
    virResetLastError();
    return TRUE;
}

#define VMC_RECONNECT_FIRST_MS 100
#define VMC_RECONNECT_MAX_MS 5000

static gpointer
vmc_reconnect_thread(gpointer data)
{
    VmcEventHub *hub = data;
    gint64 backoff = VMC_RECONNECT_FIRST_MS;

    for (;;) {
        virConnectPtr conn;
        gint64 until;
        gboolean closing;

        g_mutex_lock(&hub->lock);
        closing = hub->closing;
        g_mutex_unlock(&hub->lock);
        if (closing)
            break;
        /* While a local daemon is plainly gone, no attempt (each would be an
         * error for libvirt to report). */
        conn = vmc_local_daemon_may_answer(hub->uri) ? virConnectOpen(hub->uri) : NULL;
        if (conn && vmc_hub_attach(hub, conn, NULL)) {
            int id;

            g_mutex_lock(&hub->lock);
            closing = hub->closing;
            if (closing) {
                /* The driver went away while we reconnected. */
                hub->conn = NULL;
                id = hub->lifecycle_id;
            }
            g_mutex_unlock(&hub->lock);
            if (!closing) {
                vmc_hub_reconcile(hub, conn, TRUE);
                break;
            }
            virConnectDomainEventDeregisterAny(conn, id);
            virConnectUnregisterCloseCallback(conn, vmc_on_close);
            virConnectClose(conn);
            virResetLastError();
            break;
        }
        if (conn)
            virConnectClose(conn);
        virResetLastError();

        g_mutex_lock(&hub->lock);
        until = g_get_monotonic_time() + backoff * 1000;
        while (!hub->closing && g_cond_wait_until(&hub->wake, &hub->lock, until))
            ;
        g_mutex_unlock(&hub->lock);
        backoff = MIN(backoff * 2, VMC_RECONNECT_MAX_MS);
    }
    g_mutex_lock(&hub->lock);
    hub->reconnector = NULL;
    g_mutex_unlock(&hub->lock);
    vmc_hub_unref(hub);
    return NULL;
}

/* libvirt's event thread: the daemon went away (EOF, keepalive, error). */
void
vmc_on_close(virConnectPtr conn, int reason, void *opaque)
{
    VmcEventHub *hub = opaque;

    if (reason == VIR_CONNECT_CLOSE_REASON_CLIENT)
        return;
    g_mutex_lock(&hub->lock);
    if (!hub->closing && !hub->reconnector && conn == hub->conn) {
        hub->reconnector = g_thread_new("vmc-reconnect", vmc_reconnect_thread, vmc_hub_ref(hub));
        g_thread_unref(hub->reconnector);
    }
    g_mutex_unlock(&hub->lock);
}

/* Our domains carry our metadata element; nothing else is touched. */
gboolean
vmc_domain_is_ours(virDomainPtr dom, char **ns)
{
    char *element = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMC_XML_NAMESPACE,
                                         0);

    if (!element) {
        virResetLastError();
        return FALSE;
    }
    if (ns) {
        g_autoptr(VmcMeta) meta = vmc_meta_parse(element);
        *ns = g_strdup(meta ? meta->ns : "");
    }
    free(element);
    return TRUE;
}

char *
vmc_driver_namespace_of(VmcDriver *driver, const char *uuid)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    char *ns = NULL;

    g_mutex_lock(&driver->hub->lock);
    ns = g_strdup(g_hash_table_lookup(driver->hub->namespaces, uuid));
    g_mutex_unlock(&driver->hub->lock);
    if (ns)
        return ns;
    conn = vmc_driver_conn(driver);
    dom = conn ? virDomainLookupByUUIDString(conn, uuid) : NULL;
    if (!dom || !vmc_domain_is_ours(dom, &ns)) {
        virResetLastError();
        return NULL;
    }
    g_mutex_lock(&driver->hub->lock);
    g_hash_table_replace(driver->hub->namespaces, g_strdup(uuid), g_strdup(ns));
    g_mutex_unlock(&driver->hub->lock);
    return ns;
}

gboolean
vmc_hub_is_stopping(VmcEventHub *hub, const char *uuid)
{
    gboolean stopping;

    g_mutex_lock(&hub->lock);
    stopping = g_hash_table_contains(hub->stopping, uuid);
    g_mutex_unlock(&hub->lock);
    return stopping;
}

void
vmc_hub_mark_stopping(VmcEventHub *hub, const char *uuid)
{
    g_mutex_lock(&hub->lock);
    g_hash_table_add(hub->stopping, g_strdup(uuid));
    g_mutex_unlock(&hub->lock);
}

/* ---- the hub's listeners: watches, and libvirt's lifecycle events
 * delivered to them on their own main contexts ---- */

void
vmc_watcher_unref(VmcWatcher *w)
{
    if (!g_atomic_int_dec_and_test(&w->ref))
        return;
    if (w->destroy)
        w->destroy(w->data);
    g_clear_pointer(&w->follows, g_hash_table_unref);
    g_clear_pointer(&w->start, g_source_unref);
    g_main_context_unref(w->context);
    vmc_hub_unref(w->hub);
    g_free(w->name);
    g_free(w->ns);
    g_free(w->uuid);
    g_free(w);
}

static gboolean
vmc_watcher_drop_follows(gpointer data)
{
    VmcWatcher *w = data;

    g_clear_pointer(&w->follows, g_hash_table_unref);
    return G_SOURCE_REMOVE;
}

/* A removed watch's pending first look is dropped, and with it the
 * reference it holds: nothing waits for its context to run. Its follows
 * are freed on its own context (at once when this thread may run it),
 * never under a serial read or crash report of theirs running there. */
void
vmc_watcher_cancel(VmcWatcher *w)
{
    if (w->start)
        g_source_destroy(w->start);
    if (w->follows) {
        g_atomic_int_inc(&w->ref);
        g_main_context_invoke_full(w->context, G_PRIORITY_DEFAULT, vmc_watcher_drop_follows, w,
                                   (GDestroyNotify) vmc_watcher_unref);
    }
}

typedef struct {
    VmcWatcher *watcher;
    VmcEvent *event;
    gboolean early;   /* a crash we saw before libvirt said it */
} VmcDelivery;

static void
vmc_delivery_free(gpointer data)
{
    VmcDelivery *d = data;

    vmc_watcher_unref(d->watcher);
    vmc_event_unref(d->event);
    g_free(d);
}

static gboolean vmc_deliver(gpointer data);

/* Hands @ev to @w on its context, like a libvirt event. */
void
vmc_post(VmcWatcher *w, VmcEvent *ev, gboolean early)
{
    VmcDelivery *d = g_new0(VmcDelivery, 1);
    GSource *source = g_idle_source_new();

    g_atomic_int_inc(&w->ref);
    d->watcher = w;
    d->event = vmc_event_ref(ev);
    d->early = early;
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, vmc_deliver, d, vmc_delivery_free);
    g_source_attach(source, w->context);
    g_source_unref(source);
}

/* The driver of a watch that is still there; NULL once it was removed or
 * its driver freed. */
VmcDriver *
vmc_watcher_driver(VmcWatcher *w)
{
    VmcDriver *driver;

    g_mutex_lock(&w->hub->lock);
    driver = w->removed ? NULL : w->hub->driver;
    g_mutex_unlock(&w->hub->lock);
    return driver;
}

/* Runs on the watcher's own main context: libvirt may be called here. */
static gboolean
vmc_deliver(gpointer data)
{
    VmcDelivery *d = data;
    VmcWatcher *w = d->watcher;
    VmcDriver *driver = vmc_watcher_driver(w);

    if (!driver)
        return G_SOURCE_REMOVE;
    if (w->name && g_strcmp0(w->name, vmc_event_get_name(d->event)) != 0)
        return G_SOURCE_REMOVE;
    if (w->uuid && g_strcmp0(w->uuid, vmc_event_get_uuid(d->event)) != 0)
        return G_SOURCE_REMOVE;
    /* A public watch sees only VMs of virt-vmconfig; the driver's own
     * waits (by UUID) know the domain already. */
    if (w->ns || (w->follows && !w->uuid)) {
        g_autofree char *ns = vmc_driver_namespace_of(driver, vmc_event_get_uuid(d->event));
        if (!ns || (w->ns && strcmp(ns, w->ns) != 0))
            return G_SOURCE_REMOVE;
    }
    /* What the layer that made the watch does first (a public watch
     * follows serial logs); a callback that removes the watch ends it. */
    if (w->before && !w->before(w, driver, d->event, d->early))
        return G_SOURCE_REMOVE;
    w->func(driver, d->event, w->data);
    return G_SOURCE_REMOVE;
}

/* libvirt's event thread: no libvirt call that could block, only hand-off. */
int
vmc_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    VmcEventHub *hub = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    VmcState *state = vmc_state_from_event(event, detail);
    VmcEvent *ev;

    if (virDomainGetUUIDString(dom, uuid) < 0) {
        vmc_state_free(state);
        return 0;
    }
    /* A shutdown on its way tells a QEMU that libvirt then kills from one
     * that crashed (see vmc_ready_follow_on_exit). */
    if (event == VIR_DOMAIN_EVENT_SHUTDOWN || event == VIR_DOMAIN_EVENT_STARTED) {
        g_mutex_lock(&hub->lock);
        if (event == VIR_DOMAIN_EVENT_SHUTDOWN)
            g_hash_table_add(hub->stopping, g_strdup(uuid));
        else
            g_hash_table_remove(hub->stopping, uuid);
        g_hash_table_remove(hub->panicked, uuid);
        g_mutex_unlock(&hub->lock);
    }
    /* A guest panic (the pvpanic device the render adds) is told by this
     * event alone: with on_crash 'destroy', libvirt then ends QEMU and says
     * "stopped, crashed" as for a kill. The panic is what is reported; the
     * stop after it is not reported again (and QEMU's end is no crash of
     * its own). */
    if (event == VIR_DOMAIN_EVENT_CRASHED) {
        g_mutex_lock(&hub->lock);
        g_hash_table_add(hub->panicked, g_strdup(uuid));
        g_hash_table_add(hub->stopping, g_strdup(uuid));
        g_mutex_unlock(&hub->lock);
    } else if (event == VIR_DOMAIN_EVENT_STOPPED) {
        gboolean after_panic;

        /* Only the stop the panic made: a domain that lived on after it
         * (on_crash restart, preserve) is stopped for its own reasons. */
        g_mutex_lock(&hub->lock);
        after_panic = g_hash_table_remove(hub->panicked, uuid) &&
                      detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED;
        if (after_panic)
            vmc_hub_remember(hub, uuid, virDomainGetName(dom), VMC_STATE_FAILED);
        g_mutex_unlock(&hub->lock);
        if (after_panic) {
            vmc_state_free(state);
            return 0;
        }
    }
    /* libvirt says "stopped, failed" both for a start that failed and for
     * a QEMU that died under a running VM (SIGKILL among them): the state
     * it was last seen in tells which. */
    if (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_FAILED) {
        VmcSeen *last;
        gboolean ran;

        g_mutex_lock(&hub->lock);
        last = g_hash_table_lookup(hub->states, uuid);
        ran = last && (last->kind == VMC_STATE_RUNNING || last->kind == VMC_STATE_READY ||
                       last->kind == VMC_STATE_PAUSED);
        g_mutex_unlock(&hub->lock);
        if (ran) {
            vmc_state_free(state);
            state = vmc_state_new_full(VMC_STATE_FAILED,
                                       "QEMU exited unexpectedly (it crashed or was killed)",
                                       VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
        }
    }
    if (!state)
        return 0;
    ev = vmc_event_new(virDomainGetName(dom), uuid, state, event, detail);

    g_mutex_lock(&hub->lock);
    if (event == VIR_DOMAIN_EVENT_UNDEFINED)
        g_hash_table_remove(hub->states, uuid);
    else if (event != VIR_DOMAIN_EVENT_DEFINED || !g_hash_table_contains(hub->states, uuid))
        vmc_hub_remember(hub, uuid, vmc_event_get_name(ev), vmc_state_get_kind(state));
    for (GList *l = hub->watchers; l; l = l->next)
        vmc_post(l->data, ev, FALSE);
    g_mutex_unlock(&hub->lock);
    vmc_event_unref(ev);
    return 0;
}

/* A watcher of @driver's hub for the events of @name, @ns and @uuid (each
 * NULL for any), on the thread-default main context; not yet published. */
VmcWatcher *
vmc_watcher_new(VmcDriver *driver, const char *name, const char *ns, const char *uuid,
                VmcWatchFunc func, gpointer data, GDestroyNotify destroy)
{
    VmcWatcher *w = g_new0(VmcWatcher, 1);

    w->ref = 1;
    w->name = g_strdup(name);
    w->ns = g_strdup(ns);
    w->uuid = g_strdup(uuid);
    w->func = func;
    w->data = data;
    w->destroy = destroy;
    w->context = g_main_context_ref_thread_default();
    w->hub = vmc_hub_ref(driver->hub);
    return w;
}

/* Events reach @w from now on; @first (nullable) runs on its context
 * before any of them (same priority, first in). Returns its id. */
guint
vmc_watcher_publish(VmcDriver *driver, VmcWatcher *w, GSourceFunc first)
{
    guint id;

    g_mutex_lock(&driver->hub->lock);
    id = w->id = ++driver->hub->next_id;
    driver->hub->watchers = g_list_append(driver->hub->watchers, w);
    if (first) {
        GSource *source = g_idle_source_new();

        g_atomic_int_inc(&w->ref);
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(source, first, w, (GDestroyNotify) vmc_watcher_unref);
        g_source_attach(source, w->context);
        w->start = source;
    }
    g_mutex_unlock(&driver->hub->lock);
    return id;
}
