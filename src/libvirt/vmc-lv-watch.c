/*
 * vmc-lv-watch.c: watches, and libvirt's lifecycle events delivered to
 * them on their own main contexts; a VM's serial log followed for the
 * application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-private.h"

#include <string.h>

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
static VmcDriver *
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
    /* libvirt's own word on a crash reported early: said once is enough. */
    if (w->follows && vmc_event_ends_run(d->event) && !d->early) {
        VmcReadyFollow *f = g_hash_table_lookup(w->follows, vmc_event_get_uuid(d->event));
        if (f && f->crashed) {
            g_hash_table_remove(w->follows, vmc_event_get_uuid(d->event));
            return G_SOURCE_REMOVE;
        }
    }
    /* Tracking first: a callback that removes the watch ends it. */
    vmc_watcher_track(w, driver, d->event, d->early);
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
        g_mutex_unlock(&hub->lock);
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

static gboolean vmc_watch_start_follows(gpointer data);

/* With @follow (a public watch), the watch follows the serial logs of the
 * running VMs it covers: its table of follows exists before the watch is
 * published, and is only ever touched on the watch's context, where the
 * VMs running now are looked up first. */
guint
vmc_driver_watch_internal(VmcDriver *driver, const char *name, const char *ns, const char *uuid,
                          gboolean follow, VmcWatchFunc func, gpointer data,
                          GDestroyNotify destroy)
{
    VmcWatcher *w;
    guint id;

    /* Best effort: without events, waits end on their timeouts and polls. */
    vmc_hub_want_events(driver->hub, NULL);
    w = g_new0(VmcWatcher, 1);
    w->ref = 1;
    w->name = g_strdup(name);
    w->ns = g_strdup(ns);
    w->uuid = g_strdup(uuid);
    w->func = func;
    w->data = data;
    w->destroy = destroy;
    w->context = g_main_context_ref_thread_default();
    w->hub = vmc_hub_ref(driver->hub);
    if (follow)
        w->follows = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, vmc_ready_follow_free);

    g_mutex_lock(&driver->hub->lock);
    id = w->id = ++driver->hub->next_id;
    driver->hub->watchers = g_list_append(driver->hub->watchers, w);
    if (follow) {
        /* Before any event posted from now on: same priority, first in. */
        GSource *source = g_idle_source_new();

        g_atomic_int_inc(&w->ref);
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(source, vmc_watch_start_follows, w,
                              (GDestroyNotify) vmc_watcher_unref);
        g_source_attach(source, w->context);
        w->start = source;
    }
    g_mutex_unlock(&driver->hub->lock);
    return id;
}

/* A public watch follows the serial logs of the running VMs it covers:
 * on its own context, before any event reaches it. */
static gboolean
vmc_watch_start_follows(gpointer data)
{
    VmcWatcher *w = data;
    g_autoptr(virConnect) conn = NULL;
    virDomainPtr *doms = NULL;
    VmcDriver *driver = vmc_watcher_driver(w);
    int n;

    if (!driver)
        return G_SOURCE_REMOVE;

    conn = vmc_driver_conn(driver);
    /* Without a connection (a reconnect under way), the VMs running now are
     * followed from their next start on. */
    n = conn ? virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE) : 0;
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        g_autofree char *ns = NULL;
        const char *name = virDomainGetName(doms[i]);

        if (virDomainGetUUIDString(doms[i], uuid) == 0 && vmc_domain_is_ours(doms[i], &ns) &&
            (!w->name || g_strcmp0(w->name, name) == 0) && (!w->ns || g_strcmp0(w->ns, ns) == 0))
            vmc_watcher_follow(w, driver, name, uuid);
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    return G_SOURCE_REMOVE;
}

/**
 * vmc_lv_watch:
 * @driver: a driver
 * @name: (nullable): only this VM
 * @ns: (nullable): only VMs of this namespace
 * @func: called for each state change
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the watch is removed
 *
 * Subscribes to the state changes of VMs made by virt-vmconfig. @func runs
 * on the thread-default main context of the calling thread, in the order
 * libvirt reported the changes. The serial logs of the running VMs it
 * covers are followed too (inotify), so that a guest printing its ready
 * marker is reported as a %VMC_STATE_READY event (%VMC_EVENT_READY).
 *
 * Returns: the watch's id, for vmc_lv_unwatch().
 */
guint
vmc_lv_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                 gpointer user_data, GDestroyNotify destroy)
{
    g_return_val_if_fail(driver != NULL, 0);
    g_return_val_if_fail(func != NULL, 0);
    return vmc_driver_watch_internal(driver, name, ns, NULL, TRUE, func, user_data, destroy);
}

/**
 * vmc_lv_unwatch:
 * @driver: a driver
 * @id: what vmc_lv_watch() returned
 *
 * Removes a watch; its function is not called again, even for changes
 * already on their way. Safe from inside the watch's own function.
 */
void
vmc_lv_unwatch(VmcDriver *driver, guint id)
{
    VmcWatcher *found = NULL;

    g_return_if_fail(driver != NULL);
    g_mutex_lock(&driver->hub->lock);
    for (GList *l = driver->hub->watchers; l; l = l->next) {
        VmcWatcher *w = l->data;
        if (w->id == id) {
            found = w;
            found->removed = TRUE;
            driver->hub->watchers = g_list_delete_link(driver->hub->watchers, l);
            break;
        }
    }
    g_mutex_unlock(&driver->hub->lock);
    if (found) {
        vmc_watcher_cancel(found);
        vmc_watcher_unref(found);
    }
}

typedef struct {
    VmcSerialWatch *watch;
    VmcSerialFunc func;
    gpointer data;
} VmcSerialFollow;

void
vmc_serial_follow_free(gpointer data)
{
    VmcSerialFollow *f = data;

    vmc_serial_watch_free(f->watch);
    g_free(f);
}

static void
vmc_serial_follow_relay(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcSerialFollow *f = user_data;

    f->func(reset ? NULL : data, reset ? 0 : len, f->data);
}

/**
 * vmc_lv_follow_serial:
 * @driver: a driver
 * @handle: a VM on a local host
 * @func: called with the log's bytes as they arrive
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Follows the VM's serial log (inotify, no polling) from its start, on the
 * thread-default main context of the calling thread.
 *
 * Returns: an id for vmc_lv_unfollow_serial(), or 0 with %VMC_ERROR_IO.
 */
guint
vmc_lv_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                         gpointer user_data, GError **error)
{
    VmcSerialFollow *f;
    guint id;

    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    if (!vmc_handle_get_serial_log(handle)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "VM '%s' has no serial log", vmc_handle_get_name(handle));
        return 0;
    }
    f = g_new0(VmcSerialFollow, 1);
    f->func = func;
    f->data = user_data;
    f->watch = vmc_serial_watch_new(vmc_handle_get_serial_log(handle), g_main_context_get_thread_default(),
                                    vmc_serial_follow_relay, f, error);
    if (!f->watch) {
        g_free(f);
        return 0;
    }
    g_mutex_lock(&driver->follow_lock);
    id = ++driver->next_follow;
    g_hash_table_insert(driver->serial_follows, GUINT_TO_POINTER(id), f);
    g_mutex_unlock(&driver->follow_lock);
    return id;
}

void
vmc_lv_unfollow_serial(VmcDriver *driver, guint id)
{
    gpointer f = NULL;

    g_return_if_fail(driver != NULL);
    g_mutex_lock(&driver->follow_lock);
    g_hash_table_steal_extended(driver->serial_follows, GUINT_TO_POINTER(id), NULL, &f);
    g_mutex_unlock(&driver->follow_lock);
    if (f)
        vmc_serial_follow_free(f);
}
