/*
 * vmc-events.c: libvirt's event loop, run once per process
 *
 * libvirt wants its event implementation registered before a connection
 * that uses it is opened, and run all the time: lifecycle events,
 * keepalive and the embedded QEMU driver's monitor depend on it. It is
 * started only when a driver first needs one of those: every call on a
 * connection that has the event loop costs two wake-ups of its thread,
 * which makes many concurrent calls (listing many VMs) three times slower.
 *
 * libvirt's default implementation is built on the global default
 * GMainContext: a thread of ours running it would dispatch the
 * application's own sources (and watches made on that context) on our
 * thread. So the implementation registered here keeps libvirt's handles
 * and timers on a private context that only our thread iterates.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-libvirt-private.h"

#include <glib-unix.h>

typedef struct {
    int id;
    int fd;                      /* -1 for a timer */
    int events;                  /* handle: VIR_EVENT_HANDLE_*; timer: interval, -1 off */
    virEventHandleCallback hcb;
    virEventTimeoutCallback tcb;
    void *opaque;
    virFreeCallback ff;
    GSource *source;
    gboolean removed;
} VmcEventItem;

static GMutex vmc_ev_lock;
static GMainContext *vmc_ev_context;
static GHashTable *vmc_ev_items;     /* id -> VmcEventItem; handles > 0, timers < 0 keys */
static int vmc_ev_next_handle;
static int vmc_ev_next_timer;

static GIOCondition
vmc_ev_condition(int events)
{
    GIOCondition cond = 0;

    if (events & VIR_EVENT_HANDLE_READABLE)
        cond |= G_IO_IN;
    if (events & VIR_EVENT_HANDLE_WRITABLE)
        cond |= G_IO_OUT;
    if (events & VIR_EVENT_HANDLE_ERROR)
        cond |= G_IO_ERR;
    if (events & VIR_EVENT_HANDLE_HANGUP)
        cond |= G_IO_HUP;
    return cond;
}

static int
vmc_ev_events(GIOCondition cond)
{
    int events = 0;

    if (cond & G_IO_IN)
        events |= VIR_EVENT_HANDLE_READABLE;
    if (cond & G_IO_OUT)
        events |= VIR_EVENT_HANDLE_WRITABLE;
    if (cond & G_IO_ERR)
        events |= VIR_EVENT_HANDLE_ERROR;
    if (cond & G_IO_HUP)
        events |= VIR_EVENT_HANDLE_HANGUP;
    return events;
}

static gboolean
vmc_ev_handle_dispatch(int fd, GIOCondition cond, gpointer data)
{
    VmcEventItem *item = data;
    virEventHandleCallback cb;
    void *opaque;
    int id;

    g_mutex_lock(&vmc_ev_lock);
    cb = item->removed ? NULL : item->hcb;
    opaque = item->opaque;
    id = item->id;
    g_mutex_unlock(&vmc_ev_lock);
    if (cb)
        cb(id, fd, vmc_ev_events(cond), opaque);
    return G_SOURCE_CONTINUE;
}

static gboolean
vmc_ev_timer_dispatch(gpointer data)
{
    VmcEventItem *item = data;
    virEventTimeoutCallback cb;
    void *opaque;
    int id;

    g_mutex_lock(&vmc_ev_lock);
    cb = item->removed ? NULL : item->tcb;
    opaque = item->opaque;
    id = item->id;
    g_mutex_unlock(&vmc_ev_lock);
    if (cb)
        cb(id, opaque);
    return G_SOURCE_CONTINUE;
}

/* With vmc_ev_lock held: (re)makes the item's source for its settings. */
static void
vmc_ev_arm(VmcEventItem *item)
{
    if (item->source) {
        g_source_destroy(item->source);
        g_source_unref(item->source);
        item->source = NULL;
    }
    if (item->fd >= 0) {
        if (!item->events)
            return;
        item->source = g_unix_fd_source_new(item->fd, vmc_ev_condition(item->events));
        g_source_set_callback(item->source, G_SOURCE_FUNC(vmc_ev_handle_dispatch), item, NULL);
    } else {
        if (item->events < 0)
            return;
        item->source = item->events == 0 ? g_idle_source_new()
                                         : g_timeout_source_new((guint) item->events);
        g_source_set_priority(item->source, G_PRIORITY_DEFAULT);
        g_source_set_callback(item->source, vmc_ev_timer_dispatch, item, NULL);
    }
    g_source_attach(item->source, vmc_ev_context);
}

static int
vmc_ev_add(int fd, int events, virEventHandleCallback hcb, virEventTimeoutCallback tcb,
           void *opaque, virFreeCallback ff)
{
    VmcEventItem *item = g_new0(VmcEventItem, 1);
    int id;

    item->fd = fd;
    item->events = events;
    item->hcb = hcb;
    item->tcb = tcb;
    item->opaque = opaque;
    item->ff = ff;
    g_mutex_lock(&vmc_ev_lock);
    id = item->id = fd >= 0 ? ++vmc_ev_next_handle : ++vmc_ev_next_timer;
    g_hash_table_insert(vmc_ev_items, GINT_TO_POINTER(fd >= 0 ? id : -id), item);
    vmc_ev_arm(item);
    g_mutex_unlock(&vmc_ev_lock);
    return id;
}

static void
vmc_ev_update(int key, int events)
{
    VmcEventItem *item;

    g_mutex_lock(&vmc_ev_lock);
    item = g_hash_table_lookup(vmc_ev_items, GINT_TO_POINTER(key));
    if (item && item->events != events) {
        item->events = events;
        vmc_ev_arm(item);
    }
    g_mutex_unlock(&vmc_ev_lock);
}

/* libvirt wants the free callback run later, on a clean stack. */
static gboolean
vmc_ev_release(gpointer data)
{
    VmcEventItem *item = data;

    if (item->ff)
        item->ff(item->opaque);
    g_free(item);
    return G_SOURCE_REMOVE;
}

static int
vmc_ev_remove(int key)
{
    VmcEventItem *item;
    GSource *idle;

    g_mutex_lock(&vmc_ev_lock);
    if (!g_hash_table_steal_extended(vmc_ev_items, GINT_TO_POINTER(key), NULL,
                                     (gpointer *) &item)) {
        g_mutex_unlock(&vmc_ev_lock);
        return -1;
    }
    item->removed = TRUE;
    item->events = item->fd >= 0 ? 0 : -1;
    vmc_ev_arm(item);
    idle = g_idle_source_new();
    g_source_set_callback(idle, vmc_ev_release, item, NULL);
    g_source_attach(idle, vmc_ev_context);
    g_source_unref(idle);
    g_mutex_unlock(&vmc_ev_lock);
    return 0;
}

static int
vmc_ev_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
                  virFreeCallback ff)
{
    return vmc_ev_add(fd, events, cb, NULL, opaque, ff);
}

static void
vmc_ev_update_handle(int watch, int events)
{
    vmc_ev_update(watch, events);
}

static int
vmc_ev_remove_handle(int watch)
{
    return vmc_ev_remove(watch);
}

static int
vmc_ev_add_timeout(int interval, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
    return vmc_ev_add(-1, interval, NULL, cb, opaque, ff);
}

static void
vmc_ev_update_timeout(int timer, int interval)
{
    vmc_ev_update(-timer, interval);
}

static int
vmc_ev_remove_timeout(int timer)
{
    return vmc_ev_remove(-timer);
}

static void
vmc_probe_timeout(int timer, void *opaque)
{
}

static void
vmc_quiet_errors(void *opaque, virErrorPtr err)
{
    /* Errors reach callers as GErrors, never on stderr. */
}

void
vmc_conn_quiet_errors(virConnectPtr conn)
{
    virConnSetErrorFunc(conn, NULL, vmc_quiet_errors);
}

/* Asked for by the application (vmc_driver_quiet_process()), never by
 * the library itself. */
void
vmc_lv_quiet_process(void)
{
    if (vmc_libvirt_init(NULL))
        virSetErrorFunc(NULL, vmc_quiet_errors);
}

static char *vmc_init_error;   /* why libvirt could not be initialized, or NULL */

static gpointer
vmc_libvirt_init_once(gpointer data)
{
    /* libvirt's thread-local error state needs this before anything else. */
    if (virInitialize() < 0) {
        const char *msg = virGetLastErrorMessage();
        vmc_init_error = g_strdup(msg ? msg : "unknown error");
        virResetLastError();
    }
    return NULL;
}

/* libvirt initialized (once per process), without an event loop. */
gboolean
vmc_libvirt_init(GError **error)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, vmc_libvirt_init_once, NULL);
    if (vmc_init_error) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR, "cannot initialize libvirt: %s",
                    vmc_init_error);
        return FALSE;
    }
    return TRUE;
}

static gpointer
vmc_event_thread(gpointer data)
{
    g_main_context_push_thread_default(vmc_ev_context);
    for (;;)
        g_main_context_iteration(vmc_ev_context, TRUE);
    return NULL;
}

/* Nothing process-wide is changed here but what libvirt needs: no
 * environment, no global error function (each connection of ours gets a
 * quiet one, vmc_conn_quiet_errors()), and an event loop only when the
 * application registered none. */
static gpointer
vmc_event_loop_init(gpointer data)
{
    int probe;

    if (!vmc_libvirt_init(NULL))
        return NULL;

    /* Adding a timer only works when an implementation is registered: if
     * the application registered its own, it runs it, and we use it. */
    probe = virEventAddTimeout(-1, vmc_probe_timeout, NULL, NULL);
    if (probe >= 0) {
        virEventRemoveTimeout(probe);
        return NULL;
    }
    virResetLastError();
    vmc_ev_context = g_main_context_new();
    vmc_ev_items = g_hash_table_new(NULL, NULL);
    virEventRegisterImpl(vmc_ev_add_handle, vmc_ev_update_handle, vmc_ev_remove_handle,
                         vmc_ev_add_timeout, vmc_ev_update_timeout, vmc_ev_remove_timeout);
    g_thread_unref(g_thread_new("vmc-libvirt-events", vmc_event_thread, NULL));
    return NULL;
}

gboolean
vmc_event_loop_ensure(GError **error)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, vmc_event_loop_init, NULL);
    if (vmc_init_error) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR, "cannot initialize libvirt: %s",
                    vmc_init_error);
        return FALSE;
    }
    return TRUE;
}
