/*
 * vmc-lv-watch.c: watches, and libvirt's lifecycle events delivered to
 * them on their own main contexts; a VM's serial log followed for the
 * application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-resources.h"

#include <string.h>

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

    /* Best effort: without events, waits end on their timeouts and polls. */
    vmc_hub_want_events(driver->hub, NULL);
    w = vmc_watcher_new(driver, name, ns, uuid, func, data, destroy);
    if (follow) {
        w->follows = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, vmc_ready_follow_free);
        w->before = vmc_watcher_before_delivery;
    }
    return vmc_watcher_publish(driver, w, follow ? vmc_watch_start_follows : NULL);
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
    VmcGuestOutput *output;
    VmcSerialFunc func;
    gpointer data;
} VmcSerialFollow;

void
vmc_serial_follow_free(gpointer data)
{
    VmcSerialFollow *f = data;

    vmc_guest_output_free(f->output);
    g_free(f);
}

static void
vmc_serial_follow_relay(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcSerialFollow *f = user_data;

    if (reset)
        f->func(NULL, 0, f->data);
    else if (data)
        f->func(data, len, f->data);
    /* A console that ended says nothing more: the VM's stop is an event. */
}

/**
 * vmc_lv_follow_serial:
 * @driver: a driver
 * @handle: a VM on a local host
 * @func: called with the log's bytes as they arrive
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Follows the VM's serial output on the thread-default main context of
 * the calling thread: on a host whose files this process sees, its serial
 * log (inotify, no polling) from its start; elsewhere its console, from
 * the boot's first byte when this driver booted it, else from now.
 *
 * Returns: an id for vmc_lv_unfollow_serial(), or 0 with %VMC_ERROR_IO
 * (or the console's error).
 */
guint
vmc_lv_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                         gpointer user_data, GError **error)
{
    VmcSerialFollow *f;
    guint id;

    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    f = g_new0(VmcSerialFollow, 1);
    f->func = func;
    f->data = user_data;
    f->output = vmc_guest_output_new(driver, vmc_handle_get_uuid(handle),
                                     vmc_handle_get_serial_log(handle),
                                     g_main_context_get_thread_default(),
                                     vmc_serial_follow_relay, f, VMC_OUTPUT_DEFAULT, error);
    if (!f->output) {
        g_free(f);
        return 0;
    }
    g_mutex_lock(&driver->follow_lock);
    id = ++driver->next_follow;
    if (!driver->serial_follows)
        driver->serial_follows = g_hash_table_new_full(NULL, NULL, NULL,
                                                       vmc_serial_follow_free);
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
    if (driver->serial_follows)
        g_hash_table_steal_extended(driver->serial_follows, GUINT_TO_POINTER(id), NULL, &f);
    g_mutex_unlock(&driver->follow_lock);
    if (f)
        vmc_serial_follow_free(f);
}
