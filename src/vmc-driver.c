/*
 * vmc-driver.c: define, start, stop and watch VMs through libvirt
 *
 * The only file, with vmc-events.c and vmc-libvirt-error.c, that talks to
 * libvirt. The contract is DESIGN.md §5.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-driver-private.h"
#include "vmc-host-private.h"
#include "vmc-netns-private.h"
#include "vmc-serial-private.h"
#include "vmc-xml-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <glib-unix.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <signal.h>
#include <unistd.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

/* The ACPI power button is pressed again this often while a stop waits:
 * a guest that was still booting may have missed the first press. */
#define VMC_STOP_REPRESS_MS 2000

typedef struct _VmcWatcher VmcWatcher;

/* What libvirt's event thread shares with the driver; it outlives the
 * driver until libvirt lets go of the callback. */
typedef struct {
    gint ref;
    GMutex lock;
    GList *watchers;
    guint next_id;
    VmcDriver *driver;
    GHashTable *namespaces;   /* UUID -> namespace, of our domains seen */
    /* The connection lives here, so that a reconnect can replace it. */
    char *uri;
    virConnectPtr conn;
    int lifecycle_id;
    GHashTable *states;       /* UUID -> VmcSeen, the last state each VM was seen in */
    GHashTable *stopping;     /* UUIDs of VMs told or seen to shut down in this run */
    GThread *reconnector;
    GCond wake;
    gboolean closing;
    guint reconnects;
} VmcEventHub;

struct _VmcWatcher {
    gint ref;
    guint id;
    char *name;
    char *ns;
    char *uuid;
    VmcWatchFunc func;
    gpointer data;
    GDestroyNotify destroy;
    GMainContext *context;
    gboolean removed;
    VmcEventHub *hub;
    GHashTable *follows;    /* UUID -> VmcReadyFollow, for public watches */
};

/* A public watch follows the serial log of each running VM it sees, so
 * that it can report Ready; only ever touched on the watch's context. */
typedef struct {
    VmcWatcher *watcher;   /* not a reference: the watcher owns this */
    char *name;
    char *uuid;
    VmcSerialWatch *serial;
    VmcReadyScanner *scanner;
    gboolean reported;
    GSource *exit_source;  /* the QEMU process, through a pidfd */
    GSource *grace;        /* a signalled exit waits this out before it is a crash */
    int signal;
    int pidfd;
    int pid;
    gboolean crashed;      /* reported before libvirt did */
} VmcReadyFollow;

struct _VmcDriver {
    gboolean local;
    gboolean system;          /* qemu:///system: QEMU runs as another user */
    GMutex accel_lock;
    gboolean accel_known;
    VmcAccel accel;
    VmcEventHub *hub;
    GMutex boot_lock;
    GHashTable *serial_follows;   /* id -> VmcSerialFollow */
    guint next_follow;
};

static VmcEventHub *
vmc_hub_ref(VmcEventHub *hub)
{
    g_atomic_int_inc(&hub->ref);
    return hub;
}

static void
vmc_hub_unref(gpointer data)
{
    VmcEventHub *hub = data;

    if (!g_atomic_int_dec_and_test(&hub->ref))
        return;
    g_hash_table_unref(hub->namespaces);
    g_hash_table_unref(hub->states);
    g_hash_table_unref(hub->stopping);
    g_free(hub->uri);
    g_cond_clear(&hub->wake);
    g_mutex_clear(&hub->lock);
    g_free(hub);
}

static void
vmc_conn_unref(virConnect *conn)
{
    if (conn)
        virConnectClose(conn);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, vmc_conn_unref)

/* The current connection, with a reference of the caller's own: a
 * reconnect may replace it at any time. */
static virConnectPtr
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

#define vmc_driver_conn(driver) vmc_hub_conn((driver)->hub)

static void
vmc_watcher_unref(VmcWatcher *w)
{
    if (!g_atomic_int_dec_and_test(&w->ref))
        return;
    if (w->destroy)
        w->destroy(w->data);
    g_clear_pointer(&w->follows, g_hash_table_unref);
    g_main_context_unref(w->context);
    vmc_hub_unref(w->hub);
    g_free(w->name);
    g_free(w->ns);
    g_free(w->uuid);
    g_free(w);
}

VmcState *
vmc_state_from_libvirt(int state, int reason)
{
    VmcStateKind kind = VMC_STATE_STOPPED;
    const char *why = NULL;

    switch (state) {
    case VIR_DOMAIN_NOSTATE:
        kind = VMC_STATE_STARTING;
        break;
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN:   /* still running while it shuts down */
        kind = VMC_STATE_RUNNING;
        break;
    case VIR_DOMAIN_PAUSED:
        kind = reason == VIR_DOMAIN_PAUSED_STARTING_UP ? VMC_STATE_STARTING : VMC_STATE_PAUSED;
        if (reason == VIR_DOMAIN_PAUSED_CRASHED) {
            kind = VMC_STATE_FAILED;
            why = "the guest crashed (kernel panic)";
        }
        break;
    case VIR_DOMAIN_PMSUSPENDED:
        kind = VMC_STATE_PAUSED;
        break;
    case VIR_DOMAIN_SHUTOFF:
        if (reason == VIR_DOMAIN_SHUTOFF_CRASHED) {
            kind = VMC_STATE_FAILED;
            why = "QEMU exited unexpectedly (crashed or killed)";
        } else if (reason == VIR_DOMAIN_SHUTOFF_FAILED) {
            kind = VMC_STATE_FAILED;
            why = "it failed to start";
        }
        break;
    case VIR_DOMAIN_CRASHED:
        kind = VMC_STATE_FAILED;
        why = "the guest crashed (kernel panic)";
        break;
    }
    return vmc_state_new_libvirt(kind, why, state, reason);
}

VmcState *
vmc_state_from_event(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return vmc_state_new_libvirt(VMC_STATE_STOPPED, NULL, VIR_DOMAIN_SHUTOFF, 0);
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return vmc_state_new_libvirt(VMC_STATE_RUNNING, NULL, VIR_DOMAIN_RUNNING, 0);
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return vmc_state_new_libvirt(VMC_STATE_PAUSED, NULL, VIR_DOMAIN_PAUSED, 0);
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return vmc_state_new_libvirt(VMC_STATE_PAUSED, NULL, VIR_DOMAIN_PMSUSPENDED, 0);
    case VIR_DOMAIN_EVENT_STOPPED:
        if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
            return vmc_state_from_libvirt(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
        if (detail == VIR_DOMAIN_EVENT_STOPPED_FAILED)
            return vmc_state_from_libvirt(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FAILED);
        return vmc_state_new_libvirt(VMC_STATE_STOPPED, NULL, VIR_DOMAIN_SHUTOFF, 0);
    case VIR_DOMAIN_EVENT_CRASHED:
        return vmc_state_from_libvirt(VIR_DOMAIN_CRASHED, 0);
    default:
        return NULL;   /* SHUTDOWN (in progress): still running until STOPPED */
    }
}

/**
 * vmc_event_ends_run:
 * @event: an event
 *
 * Returns: %TRUE when @event says the VM stopped running: it powered off,
 * was forced off, crashed or failed to start (defining or undefining a
 * stopped VM also reports a stopped state, but ends nothing).
 */
gboolean
vmc_event_ends_run(const VmcEvent *event)
{
    g_return_val_if_fail(event != NULL, FALSE);
    return event->event == VIR_DOMAIN_EVENT_STOPPED || event->event == VIR_DOMAIN_EVENT_CRASHED;
}

typedef struct {
    VmcWatcher *watcher;
    VmcEvent *event;
} VmcDelivery;

static void
vmc_delivery_free(gpointer data)
{
    VmcDelivery *d = data;

    vmc_watcher_unref(d->watcher);
    vmc_event_unref(d->event);
    g_free(d);
}

static char *vmc_driver_namespace_of(VmcDriver *driver, const char *uuid);
static void vmc_hub_remember(VmcEventHub *hub, const char *uuid, const char *name,
                             VmcStateKind kind);
static char *vmc_driver_serial_log_of(VmcDriver *driver, const char *uuid);
static gboolean vmc_domain_is_ours(virDomainPtr dom, char **ns);
static gboolean vmc_deliver(gpointer data);

/* Hands @ev to @w on its context, like a libvirt event. */
static void
vmc_post(VmcWatcher *w, VmcEvent *ev)
{
    VmcDelivery *d = g_new0(VmcDelivery, 1);
    GSource *source = g_idle_source_new();

    g_atomic_int_inc(&w->ref);
    d->watcher = w;
    d->event = vmc_event_ref(ev);
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, vmc_deliver, d, vmc_delivery_free);
    g_source_attach(source, w->context);
    g_source_unref(source);
}

static void
vmc_ready_follow_free(gpointer data)
{
    VmcReadyFollow *f = data;

    if (f->exit_source) {
        g_source_destroy(f->exit_source);
        g_source_unref(f->exit_source);
    }
    if (f->grace) {
        g_source_destroy(f->grace);
        g_source_unref(f->grace);
    }
    if (f->pidfd >= 0)
        close(f->pidfd);
    vmc_serial_watch_free(f->serial);
    vmc_ready_scanner_free(f->scanner);
    g_free(f->name);
    g_free(f->uuid);
    g_free(f);
}

static void
vmc_ready_follow_on_serial(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcReadyFollow *f = user_data;
    VmcEvent *ev;

    if (reset) {
        vmc_ready_scanner_reset(f->scanner);
        f->reported = FALSE;
        return;
    }
    if (f->reported || !vmc_ready_scanner_feed(f->scanner, data, len))
        return;
    f->reported = TRUE;
    /* Posted, not called: the callback may remove the watch, and with it
     * this follow, which must not happen inside its own read. */
    ev = vmc_event_new(f->name, f->uuid,
                       vmc_state_new_libvirt(VMC_STATE_READY,
                                             vmc_ready_scanner_get_ip(f->scanner),
                                             VIR_DOMAIN_RUNNING, 0),
                       VMC_EVENT_READY, 0);
    vmc_post(f->watcher, ev);
    vmc_event_unref(ev);
}

/* The QEMU process of a running VM on this host, from the pid file that
 * libvirt keeps for it, checked against its command line; 0 if unknown. */
static int
vmc_qemu_pid(const char *uri, const char *name)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = g_strconcat(name, ".pid", NULL);
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    g_autofree char *cmdline_path = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *guest = g_strconcat("guest=", name, ",", NULL);
    gsize len;
    gint64 pid;

    if (g_str_has_prefix(uri, "qemu:///system"))
        dir = g_strdup("/run/libvirt/qemu");
    else if (g_str_has_prefix(uri, "qemu:///embed?root="))
        dir = g_build_filename(uri + strlen("qemu:///embed?root="), "run", "qemu", NULL);
    else
        return 0;
    path = g_build_filename(dir, file, NULL);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    pid = g_ascii_strtoll(text, NULL, 10);
    cmdline_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    if (pid <= 0 || !g_file_get_contents(cmdline_path, &cmdline, &len, NULL))
        return 0;
    for (gsize i = 0; i + 1 < len; i++) {
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    }
    return strstr(cmdline, guest) ? (int) pid : 0;
}

/* How a process that has exited but is not reaped yet ended: the signal
 * that killed it, or 0 (a normal exit, or no longer there to ask). */
static int
vmc_exit_signal(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *end;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(end = strrchr(text, ')')))
        return 0;
    /* After "pid (comm) ": field 3 (state) is fields[0], field 52 (exit code) fields[49]. */
    fields = g_strsplit(end + 2, " ", -1);
    if (g_strv_length(fields) < 50 || strcmp(fields[0], "Z") != 0)
        return 0;
    return (int) (g_ascii_strtoll(fields[49], NULL, 10) & 0x7f);
}

static gboolean
vmc_hub_is_stopping(VmcEventHub *hub, const char *uuid)
{
    gboolean stopping;

    g_mutex_lock(&hub->lock);
    stopping = g_hash_table_contains(hub->stopping, uuid);
    g_mutex_unlock(&hub->lock);
    return stopping;
}

static void
vmc_hub_mark_stopping(VmcEventHub *hub, const char *uuid)
{
    g_mutex_lock(&hub->lock);
    g_hash_table_add(hub->stopping, g_strdup(uuid));
    g_mutex_unlock(&hub->lock);
}

/* How long a signalled QEMU exit waits for libvirt's word that the VM
 * was shutting down (its SHUTDOWN event) before it counts as a crash. */
#define VMC_CRASH_GRACE_MS 250

static gboolean
vmc_ready_follow_report_crash(gpointer data)
{
    VmcReadyFollow *f = data;
    g_autofree char *reason = NULL;
    VmcEvent *ev;

    if (vmc_hub_is_stopping(f->watcher->hub, f->uuid))
        return G_SOURCE_REMOVE;
    reason = g_strdup_printf("QEMU was killed by signal %d (%s)", f->signal,
                             g_strsignal(f->signal));
    ev = vmc_event_new(f->name, f->uuid,
                       vmc_state_new_libvirt(VMC_STATE_FAILED, reason, VIR_DOMAIN_SHUTOFF,
                                             VIR_DOMAIN_SHUTOFF_CRASHED),
                       VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
    ev->early = TRUE;
    f->crashed = TRUE;
    vmc_post(f->watcher, ev);
    vmc_event_unref(ev);
    return G_SOURCE_REMOVE;
}

/* QEMU is gone. libvirt says so only after its cleanup, which on a host
 * whose init is slow to reap takes more than a second. A QEMU that died
 * of a signal while no shutdown was under way crashed, whatever libvirt
 * says later, so that is reported at once. libvirt itself ends QEMU with
 * SIGKILL at the end of a normal power-off or destroy: those come after
 * its SHUTDOWN event, or after our own kill, and are left to libvirt's
 * STOPPED event; a short grace lets a SHUTDOWN event still on its way
 * arrive first. */
static gboolean
vmc_ready_follow_on_exit(gint fd, GIOCondition condition, gpointer data)
{
    VmcReadyFollow *f = data;

    f->signal = vmc_exit_signal(f->pid);
    if (f->signal != SIGKILL && f->signal != SIGSEGV && f->signal != SIGABRT &&
        f->signal != SIGBUS && f->signal != SIGILL && f->signal != SIGFPE)
        return G_SOURCE_REMOVE;
    if (vmc_hub_is_stopping(f->watcher->hub, f->uuid))
        return G_SOURCE_REMOVE;
    f->grace = g_timeout_source_new(VMC_CRASH_GRACE_MS);
    g_source_set_callback(f->grace, vmc_ready_follow_report_crash, f, NULL);
    g_source_attach(f->grace, f->watcher->context);
    return G_SOURCE_REMOVE;
}

static void
vmc_ready_follow_watch_exit(VmcReadyFollow *f, const char *uri)
{
    f->pid = vmc_qemu_pid(uri, f->name);
    if (f->pid <= 0)
        return;
    f->pidfd = (int) syscall(SYS_pidfd_open, f->pid, 0);
    if (f->pidfd < 0)
        return;
    f->exit_source = g_unix_fd_source_new(f->pidfd, G_IO_IN);
    g_source_set_callback(f->exit_source, G_SOURCE_FUNC(vmc_ready_follow_on_exit), f, NULL);
    g_source_attach(f->exit_source, f->watcher->context);
}

static void
vmc_watcher_follow(VmcWatcher *w, VmcDriver *driver, const char *name, const char *uuid)
{
    g_autofree char *log = NULL;
    VmcReadyFollow *f;

    if (g_hash_table_contains(w->follows, uuid))
        return;
    log = vmc_driver_serial_log_of(driver, uuid);
    if (!log)
        return;
    f = g_new0(VmcReadyFollow, 1);
    f->watcher = w;
    f->name = g_strdup(name);
    f->uuid = g_strdup(uuid);
    f->scanner = vmc_ready_scanner_new();
    f->pidfd = -1;
    g_hash_table_insert(w->follows, f->uuid, f);
    if (driver->local)
        vmc_ready_follow_watch_exit(f, driver->hub->uri);
    /* A log this process cannot read (a remote host) never reports Ready. */
    f->serial = vmc_serial_watch_new(log, w->context, vmc_ready_follow_on_serial, f, NULL);
}

static void
vmc_watcher_track(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev)
{
    if (!w->follows)
        return;
    if (ev->event == VIR_DOMAIN_EVENT_STARTED || ev->event == VIR_DOMAIN_EVENT_RESUMED)
        vmc_watcher_follow(w, driver, ev->name, ev->uuid);
    else if ((vmc_event_ends_run(ev) && !ev->early) || ev->event == VIR_DOMAIN_EVENT_UNDEFINED)
        g_hash_table_remove(w->follows, ev->uuid);
}

/* Runs on the watcher's own main context: libvirt may be called here. */
static gboolean
vmc_deliver(gpointer data)
{
    VmcDelivery *d = data;
    VmcWatcher *w = d->watcher;
    VmcDriver *driver;
    gboolean removed;

    g_mutex_lock(&w->hub->lock);
    removed = w->removed;
    driver = w->hub->driver;
    g_mutex_unlock(&w->hub->lock);
    if (removed || !driver)
        return G_SOURCE_REMOVE;
    if (w->name && g_strcmp0(w->name, d->event->name) != 0)
        return G_SOURCE_REMOVE;
    if (w->uuid && g_strcmp0(w->uuid, d->event->uuid) != 0)
        return G_SOURCE_REMOVE;
    /* A public watch sees only VMs of virt-vmconfig; the driver's own
     * waits (by UUID) know the domain already. */
    if (w->ns || (w->follows && !w->uuid)) {
        g_autofree char *ns = vmc_driver_namespace_of(driver, d->event->uuid);
        if (!ns || (w->ns && strcmp(ns, w->ns) != 0))
            return G_SOURCE_REMOVE;
    }
    /* libvirt's own word on a crash reported early: said once is enough. */
    if (w->follows && vmc_event_ends_run(d->event) && !d->event->early) {
        VmcReadyFollow *f = g_hash_table_lookup(w->follows, d->event->uuid);
        if (f && f->crashed) {
            g_hash_table_remove(w->follows, d->event->uuid);
            return G_SOURCE_REMOVE;
        }
    }
    /* Tracking first: a callback that removes the watch ends it. */
    vmc_watcher_track(w, driver, d->event);
    w->func(driver, d->event, w->data);
    return G_SOURCE_REMOVE;
}

/* libvirt's event thread: no libvirt call that could block, only hand-off. */
static int
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
        vmc_hub_remember(hub, uuid, ev->name, state->kind);
    for (GList *l = hub->watchers; l; l = l->next)
        vmc_post(l->data, ev);
    g_mutex_unlock(&hub->lock);
    vmc_event_unref(ev);
    return 0;
}

static guint
vmc_driver_watch_internal(VmcDriver *driver, const char *name, const char *ns, const char *uuid,
                          VmcWatchFunc func, gpointer data, GDestroyNotify destroy)
{
    VmcWatcher *w = g_new0(VmcWatcher, 1);
    guint id;

    w->ref = 1;
    w->name = g_strdup(name);
    w->ns = g_strdup(ns);
    w->uuid = g_strdup(uuid);
    w->func = func;
    w->data = data;
    w->destroy = destroy;
    w->context = g_main_context_ref_thread_default();
    w->hub = vmc_hub_ref(driver->hub);

    g_mutex_lock(&driver->hub->lock);
    id = w->id = ++driver->hub->next_id;
    driver->hub->watchers = g_list_append(driver->hub->watchers, w);
    g_mutex_unlock(&driver->hub->lock);
    return id;
}

/* A public watch follows the serial logs of the running VMs it covers. */
static void
vmc_driver_watch_follow_running(VmcDriver *driver, guint id)
{
    g_autoptr(virConnect) conn = NULL;
    VmcWatcher *w = NULL;
    virDomainPtr *doms = NULL;
    int n;

    g_mutex_lock(&driver->hub->lock);
    for (GList *l = driver->hub->watchers; l; l = l->next) {
        if (((VmcWatcher *) l->data)->id == id)
            w = l->data;
    }
    g_mutex_unlock(&driver->hub->lock);
    if (!w)
        return;
    w->follows = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, vmc_ready_follow_free);

    conn = vmc_driver_conn(driver);
    n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
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
}

/**
 * vmc_driver_watch:
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
 * Returns: the watch's id, for vmc_driver_unwatch().
 */
guint
vmc_driver_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                 gpointer user_data, GDestroyNotify destroy)
{
    guint id;

    g_return_val_if_fail(driver != NULL, 0);
    g_return_val_if_fail(func != NULL, 0);
    id = vmc_driver_watch_internal(driver, name, ns, NULL, func, user_data, destroy);
    vmc_driver_watch_follow_running(driver, id);
    return id;
}

/**
 * vmc_driver_unwatch:
 * @driver: a driver
 * @id: what vmc_driver_watch() returned
 *
 * Removes a watch; its function is not called again, even for changes
 * already on their way. Safe from inside the watch's own function.
 */
void
vmc_driver_unwatch(VmcDriver *driver, guint id)
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
    if (found)
        vmc_watcher_unref(found);
}

typedef struct {
    VmcSerialWatch *watch;
    VmcSerialFunc func;
    gpointer data;
} VmcSerialFollow;

static void
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
 * vmc_driver_follow_serial:
 * @driver: a driver
 * @handle: a VM on a local host
 * @func: called with the log's bytes as they arrive
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Follows the VM's serial log (inotify, no polling) from its start, on the
 * thread-default main context of the calling thread.
 *
 * Returns: an id for vmc_driver_unfollow_serial(), or 0 with %VMC_ERROR_IO.
 */
guint
vmc_driver_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                         gpointer user_data, GError **error)
{
    VmcSerialFollow *f;

    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    if (!handle->serial_log) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "VM '%s' has no serial log", handle->name);
        return 0;
    }
    f = g_new0(VmcSerialFollow, 1);
    f->func = func;
    f->data = user_data;
    f->watch = vmc_serial_watch_new(handle->serial_log, g_main_context_get_thread_default(),
                                    vmc_serial_follow_relay, f, error);
    if (!f->watch) {
        g_free(f);
        return 0;
    }
    g_hash_table_insert(driver->serial_follows, GUINT_TO_POINTER(++driver->next_follow), f);
    return driver->next_follow;
}

void
vmc_driver_unfollow_serial(VmcDriver *driver, guint id)
{
    g_return_if_fail(driver != NULL);
    g_hash_table_remove(driver->serial_follows, GUINT_TO_POINTER(id));
}

static gboolean
vmc_socket_answers(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;
    gboolean ok;

    if (strlen(path) >= sizeof(addr.sun_path))
        return FALSE;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FALSE;
    ok = connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static char *
vmc_embed_root(void)
{
    const char *env = g_getenv("VMC_EMBED_ROOT");

    if (env && *env)
        return g_strdup(env);
    if (geteuid() == 0)
        return g_strdup("/var/lib/virt-vmconfig/embed");
    return g_build_filename(g_get_user_data_dir(), "virt-vmconfig", "embed", NULL);
}

/* $LIBVIRT_DEFAULT_URI; else the system daemon (as root) or the session daemon when its
 * socket answers; else an embedded QEMU driver, which needs no daemon. */
static char *
vmc_default_uri(void)
{
    const char *env = g_getenv("LIBVIRT_DEFAULT_URI");
    g_autofree char *root = NULL;

    if (env && *env)
        return g_strdup(env);
    if (geteuid() == 0) {
        if (vmc_socket_answers("/run/libvirt/virtqemud-sock") ||
            vmc_socket_answers("/run/libvirt/libvirt-sock"))
            return g_strdup("qemu:///system");
    } else {
        g_autofree char *a = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "virtqemud-sock", NULL);
        g_autofree char *b = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "libvirt-sock", NULL);
        if (vmc_socket_answers(a) || vmc_socket_answers(b))
            return g_strdup("qemu:///session");
    }
    root = vmc_embed_root();
    return g_strdup_printf("qemu:///embed?root=%s", root);
}

/* An embedded driver logs QEMU's output through virtlogd unless told to
 * write files itself; with no daemon there is no virtlogd. */
static gboolean
vmc_prepare_embed_root(const char *uri, GError **error)
{
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, NULL);
    g_autoptr(GHashTable) params = NULL;
    g_autofree char *etc = NULL;
    g_autofree char *conf = NULL;
    const char *root;

    if (!parsed || g_strcmp0(g_uri_get_path(parsed), "/embed") != 0 || !g_uri_get_query(parsed))
        return TRUE;
    params = g_uri_parse_params(g_uri_get_query(parsed), -1, "&", G_URI_PARAMS_NONE, NULL);
    root = params ? g_hash_table_lookup(params, "root") : NULL;
    if (!root)
        return TRUE;
    etc = g_build_filename(root, "etc", NULL);
    conf = g_build_filename(etc, "qemu.conf", NULL);
    if (g_file_test(conf, G_FILE_TEST_EXISTS))
        return TRUE;
    if (g_mkdir_with_parents(etc, 0755) < 0 ||
        !g_file_set_contents(conf, "# written by virt-vmconfig: no virtlogd without a daemon\n"
                                   "stdio_handler = \"file\"\n", -1, NULL)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "cannot prepare the embedded QEMU driver's root '%s': %s", root,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/**
 * vmc_driver_open:
 * @uri: (nullable): a libvirt URI; %NULL picks $LIBVIRT_DEFAULT_URI, else
 *   the local system daemon (as root) or session daemon if its socket answers, else
 *   an embedded QEMU driver (`qemu:///embed`) that needs no daemon
 * @error: return location for a #GError, or %NULL
 *
 * Opens a connection. libvirt's event loop is registered first (once per
 * process) and libvirt never prints errors: they come back as GErrors.
 *
 * Returns: (transfer full): the driver, or %NULL with %VMC_ERROR_HYPERVISOR.
 */
/* What the hub remembers of a VM, to tell after a reconnect what changed
 * while libvirt was away. */
typedef struct {
    VmcStateKind kind;
    char *name;
} VmcSeen;

static void
vmc_seen_free(gpointer data)
{
    VmcSeen *seen = data;

    g_free(seen->name);
    g_free(seen);
}

/* With hub->lock held. */
static void
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

/* After a reconnect: every VM whose state changed while libvirt was away
 * (or that appeared, or vanished) is reported; the others, not at all, so
 * that a daemon restart never looks like VMs stopping. */
static void
vmc_hub_reconcile(VmcEventHub *hub, virConnectPtr conn)
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
        VmcState *state;
        VmcSeen *seen;

        if (virDomainGetUUIDString(doms[i], uuid) < 0 || !vmc_domain_is_ours(doms[i], NULL) ||
            virDomainGetState(doms[i], &st, &reason, 0) < 0) {
            virDomainFree(doms[i]);
            continue;
        }
        state = vmc_state_from_libvirt(st, reason);
        g_hash_table_add(present, g_strdup(uuid));
        g_mutex_lock(&hub->lock);
        seen = g_hash_table_lookup(hub->states, uuid);
        if (!seen || seen->kind != state->kind) {
            vmc_hub_remember(hub, uuid, virDomainGetName(doms[i]), state->kind);
            event = vmc_event_for_kind(state->kind, &detail);
            g_ptr_array_add(events, vmc_event_new(virDomainGetName(doms[i]), uuid,
                                                  vmc_state_copy(state), event, detail));
        }
        g_mutex_unlock(&hub->lock);
        vmc_state_free(state);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (n < 0) {
        virResetLastError();
        return;
    }

    g_mutex_lock(&hub->lock);
    g_hash_table_iter_init(&iter, hub->states);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (g_hash_table_contains(present, key))
            continue;
        g_ptr_array_add(events, vmc_event_new(((VmcSeen *) value)->name, key,
                                              vmc_state_new_libvirt(VMC_STATE_STOPPED, NULL,
                                                                    VIR_DOMAIN_SHUTOFF, 0),
                                              VIR_DOMAIN_EVENT_UNDEFINED, 0));
        g_hash_table_iter_remove(&iter);
    }
    for (guint i = 0; i < events->len; i++) {
        for (GList *l = hub->watchers; l; l = l->next)
            vmc_post(l->data, g_ptr_array_index(events, i));
    }
    hub->reconnects++;
    g_mutex_unlock(&hub->lock);
}

static void vmc_on_close(virConnectPtr conn, int reason, void *opaque);
static gboolean vmc_destroy(virDomainPtr dom, GError **error, VmcOperation op, const char *name);

/* Makes @conn the hub's connection: events and close detection on it
 * first, then the swap, then the old one closed. */
static gboolean
vmc_hub_attach(VmcEventHub *hub, virConnectPtr conn, GError **error)
{
    virConnectPtr old;
    int id, old_id;

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
    g_mutex_unlock(&hub->lock);

    if (old) {
        virConnectDomainEventDeregisterAny(old, old_id);
        virConnectUnregisterCloseCallback(old, vmc_on_close);
        virConnectClose(old);
        virResetLastError();
    }
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
        conn = virConnectOpen(hub->uri);
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
                vmc_hub_reconcile(hub, conn);
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
static void
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

/**
 * vmc_driver_open:
 * @uri: (nullable): a libvirt URI; %NULL picks $LIBVIRT_DEFAULT_URI, else
 *   the local system daemon (as root) or session daemon if its socket answers, else
 *   an embedded QEMU driver (`qemu:///embed`) that needs no daemon
 * @error: return location for a #GError, or %NULL
 *
 * Opens a connection. libvirt's event loop is registered first (once per
 * process) and libvirt never prints errors: they come back as GErrors. A
 * lost daemon is noticed (close callback, keepalive) and reconnected with
 * backoff; watches go on, and only the VMs whose state changed meanwhile
 * are reported.
 *
 * Returns: (transfer full): the driver, or %NULL with %VMC_ERROR_HYPERVISOR.
 */
VmcDriver *
vmc_driver_open(const char *uri, GError **error)
{
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(GUri) parsed = NULL;
    virConnectPtr conn;
    VmcEventHub *hub;
    const char *host;

    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    vmc_event_loop_ensure();
    driver = g_new0(VmcDriver, 1);
    g_mutex_init(&driver->boot_lock);
    g_mutex_init(&driver->accel_lock);
    driver->serial_follows = g_hash_table_new_full(NULL, NULL, NULL, vmc_serial_follow_free);
    hub = driver->hub = g_new0(VmcEventHub, 1);
    hub->ref = 1;
    hub->driver = driver;
    hub->lifecycle_id = -1;
    hub->namespaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    hub->states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vmc_seen_free);
    hub->stopping = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_mutex_init(&hub->lock);
    g_cond_init(&hub->wake);
    hub->uri = uri ? g_strdup(uri) : vmc_default_uri();

    if (!vmc_prepare_embed_root(hub->uri, error))
        return NULL;
    conn = virConnectOpen(hub->uri);
    if (!conn) {
        vmc_libvirt_error(error, VMC_OP_CONNECT, "cannot connect to '%s'", hub->uri);
        return NULL;
    }
    if (!vmc_hub_attach(hub, conn, error)) {
        virConnectClose(conn);
        return NULL;
    }
    parsed = g_uri_parse(hub->uri, G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_NON_DNS, NULL);
    host = parsed ? g_uri_get_host(parsed) : NULL;
    driver->local = !host || !*host || g_strcmp0(host, "localhost") == 0;
    driver->system = driver->local && parsed && g_strcmp0(g_uri_get_path(parsed), "/system") == 0;
    return g_steal_pointer(&driver);
}

void
vmc_driver_free(VmcDriver *driver)
{
    VmcEventHub *hub;
    virConnectPtr conn;
    int id;

    if (!driver)
        return;
    hub = driver->hub;
    g_mutex_lock(&hub->lock);
    hub->driver = NULL;
    hub->closing = TRUE;
    g_cond_broadcast(&hub->wake);
    for (GList *l = hub->watchers; l; l = l->next)
        ((VmcWatcher *) l->data)->removed = TRUE;
    conn = hub->conn;
    id = hub->lifecycle_id;
    hub->conn = NULL;
    g_mutex_unlock(&hub->lock);
    g_list_free_full(hub->watchers, (GDestroyNotify) vmc_watcher_unref);
    hub->watchers = NULL;

    if (conn) {
        if (id >= 0)
            virConnectDomainEventDeregisterAny(conn, id);
        virConnectUnregisterCloseCallback(conn, vmc_on_close);
        virConnectClose(conn);
        virResetLastError();
    }
    vmc_hub_unref(hub);
    g_clear_pointer(&driver->serial_follows, g_hash_table_unref);
    g_mutex_clear(&driver->boot_lock);
    g_mutex_clear(&driver->accel_lock);
    g_free(driver);
}

const char *
vmc_driver_get_uri(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, NULL);
    return driver->hub->uri;
}

/**
 * vmc_driver_is_local:
 * @driver: a driver
 *
 * Returns: %TRUE when libvirt runs VMs on this host, so that boot can
 * check the config's files here.
 */
gboolean
vmc_driver_is_local(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, FALSE);
    return driver->local;
}

/**
 * vmc_driver_get_accel:
 * @driver: a driver
 *
 * Returns: the accelerator VMs get: the one set, else `kvm` when the host's
 * domain capabilities offer it and, on a local host, a probe vCPU really
 * runs (vmc_host_kvm_runs()), else `qemu` (TCG).
 */
VmcAccel
vmc_driver_get_accel(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, VMC_ACCEL_QEMU);
    g_mutex_lock(&driver->accel_lock);
    if (!driver->accel_known) {
        g_autoptr(virConnect) conn = vmc_driver_conn(driver);
        g_autofree char *kvm = conn ? vmc_host_emulator(conn, NULL, "kvm") : NULL;

        driver->accel = kvm && (!driver->local || vmc_host_kvm_runs(NULL)) ? VMC_ACCEL_KVM
                                                                           : VMC_ACCEL_QEMU;
        driver->accel_known = TRUE;
    }
    g_mutex_unlock(&driver->accel_lock);
    return driver->accel;
}

void
vmc_driver_set_accel(VmcDriver *driver, VmcAccel accel)
{
    g_return_if_fail(driver != NULL);
    g_mutex_lock(&driver->accel_lock);
    driver->accel = accel;
    driver->accel_known = TRUE;
    g_mutex_unlock(&driver->accel_lock);
}

virConnectPtr
vmc_driver_get_conn(VmcDriver *driver)
{
    return vmc_driver_conn(driver);
}

gboolean
vmc_driver_is_system(VmcDriver *driver)
{
    return driver->system;
}

/* Our domains carry our metadata element; nothing else is touched. */
static gboolean
vmc_domain_is_ours(virDomainPtr dom, char **ns)
{
    char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMC_XMLNS, 0);
    g_autoptr(xmlDoc) doc = NULL;

    if (!meta) {
        virResetLastError();
        return FALSE;
    }
    if (ns) {
        doc = xmlReadMemory(meta, (int) strlen(meta), NULL, NULL, XML_PARSE_NONET);
        *ns = doc ? vmc_xml_prop(xmlDocGetRootElement(doc), "namespace") : NULL;
        if (!*ns)
            *ns = g_strdup("");
    }
    free(meta);
    return TRUE;
}

static char *
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
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (!dom || !vmc_domain_is_ours(dom, &ns)) {
        virResetLastError();
        return NULL;
    }
    g_mutex_lock(&driver->hub->lock);
    g_hash_table_replace(driver->hub->namespaces, g_strdup(uuid), g_strdup(ns));
    g_mutex_unlock(&driver->hub->lock);
    return ns;
}

#define VMC_SERIAL_SOURCE_XPATH "/domain/devices/serial[@type='file']/source"

/* The domain's live definition, parsed. */
static xmlDoc *
vmc_domain_live_xml(virDomainPtr dom, GError **error)
{
    /* Every libvirt call resets libvirt's error: take the name first. */
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    char *raw = virDomainGetXMLDesc(dom, 0);
    xmlDoc *doc;

    if (!raw) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot read the definition of VM '%s'", name);
        return NULL;
    }
    doc = vmc_xml_parse(raw, -1, error);
    free(raw);
    return doc;
}

static char *
vmc_driver_serial_log_of(VmcDriver *driver, const char *uuid)
{
    g_autoptr(virConnect) conn = vmc_driver_conn(driver);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(conn, uuid);
    g_autoptr(xmlDoc) doc = dom ? vmc_domain_live_xml(dom, NULL) : NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;

    virResetLastError();
    if (!doc)
        return NULL;
    ctxt = xmlXPathNewContext(doc);
    return vmc_xml_prop(vmc_xml_find(ctxt, VMC_SERIAL_SOURCE_XPATH), "path");
}

static VmcState *
vmc_domain_state(virDomainPtr dom, const char *serial_log, GError **error)
{
    /* Every libvirt call resets libvirt's error: take the name first. */
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    int state, reason;
    VmcState *result;
    g_autofree char *ip = NULL;

    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot read the state of VM '%s'", name);
        return NULL;
    }
    result = vmc_state_from_libvirt(state, reason);
    /* libvirt truncates the log at each start: a marker in it is this boot's. */
    if (result->kind == VMC_STATE_RUNNING && (ip = vmc_ready_scan_file(serial_log))) {
        vmc_state_free(result);
        result = vmc_state_new_libvirt(VMC_STATE_READY, ip, state, reason);
    }
    return result;
}

/* A handle from the domain's live XML: the CID libvirt chose is only there. */
static VmcHandle *
vmc_handle_from_domain(VmcDriver *driver, virDomainPtr dom, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autofree char *ns = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *cid = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];
    xmlNode *vm;
    VmcState *state;
    g_autofree char *name = g_strdup(virDomainGetName(dom));

    doc = vmc_domain_live_xml(dom, error);
    if (!doc)
        return NULL;
    ctxt = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctxt, (const xmlChar *) "vmc", (const xmlChar *) VMC_XMLNS);
    vm = vmc_xml_find(ctxt, "/domain/metadata/vmc:vm");
    ns = vm ? vmc_xml_prop(vm, "namespace") : NULL;
    serial = vmc_xml_prop(vmc_xml_find(ctxt, VMC_SERIAL_SOURCE_XPATH), "path");
    cid = vmc_xml_prop(vmc_xml_find(ctxt, "/domain/devices/vsock/cid"), "address");
    virDomainGetUUIDString(dom, uuid);

    if (vm) {
        g_mutex_lock(&driver->hub->lock);
        g_hash_table_replace(driver->hub->namespaces, g_strdup(uuid), g_strdup(ns ? ns : ""));
        g_mutex_unlock(&driver->hub->lock);
    }
    state = vmc_domain_state(dom, serial, error);
    if (!state)
        return NULL;
    return vmc_handle_new(name, ns, uuid, serial,
                          cid ? (guint) g_ascii_strtoull(cid, NULL, 10) : 0, state);
}

/* The domain a handle names, found by UUID so that a new VM of the same
 * name is never mistaken for it. */
static virDomainPtr
vmc_driver_domain(VmcDriver *driver, const VmcHandle *handle, VmcOperation op, GError **error)
{
    g_autoptr(virConnect) conn = vmc_driver_conn(driver);
    virDomainPtr dom = virDomainLookupByUUIDString(conn, handle->uuid);

    if (!dom)
        vmc_libvirt_error(error, op, "VM '%s' not found", handle->name);
    return dom;
}

static gboolean G_GNUC_PRINTF(3, 4)
vmc_fail(GError **error, VmcError code, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    if (error) {
        g_assert(*error == NULL);
        *error = g_error_new_valist(VMC_ERROR, code, fmt, args);
    }
    va_end(args);
    return FALSE;
}

static gboolean
vmc_check_file(const VmcConfig *cfg, const char *field, const char *path, gboolean dir,
               gboolean writable, GError **error)
{
    struct stat st;

    if (!path)
        return TRUE;
    if (stat(path, &st) < 0)
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' %s",
                        vmc_config_get_name(cfg), field, path,
                        errno == ENOENT ? "does not exist" : g_strerror(errno));
    if (dir != !!S_ISDIR(st.st_mode))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' is %s, not %s",
                        vmc_config_get_name(cfg), field, path, dir ? "a file" : "a directory",
                        dir ? "a directory" : "a file");
    if (access(path, R_OK | (writable ? W_OK : 0) | (dir ? X_OK : 0)) < 0)
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG, "VM '%s': %s '%s' cannot be %s: %s",
                        vmc_config_get_name(cfg), field, path,
                        writable ? "read and written" : "read", g_strerror(errno));
    return TRUE;
}

/* Under qemu:///system QEMU runs as another user: libvirt relabels the
 * files themselves, but every directory above them must let that user
 * through, or QEMU fails late with "Permission denied". */
static gboolean
vmc_check_traversable(const VmcConfig *cfg, const char *field, const char *path,
                      const struct passwd *qemu_user, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);

    while (strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
        struct stat st;
        gboolean ok;
        char *parent;

        if (stat(dir, &st) < 0)
            break;
        ok = (st.st_mode & S_IXOTH) ||
             (st.st_uid == qemu_user->pw_uid && (st.st_mode & S_IXUSR)) ||
             (st.st_gid == qemu_user->pw_gid && (st.st_mode & S_IXGRP));
        if (!ok)
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': QEMU runs as user '%s', which cannot enter directory '%s' "
                            "to reach %s '%s': allow it (chmod o+x '%s') or move the file",
                            vmc_config_get_name(cfg), qemu_user->pw_name, dir, field, path, dir);
        parent = g_path_get_dirname(dir);
        g_free(dir);
        dir = parent;
    }
    return TRUE;
}

/* TAP devices are made by the user (libvirt opens them, managed='no'):
 * each must exist, in the host's namespace or, for a VM with netns, in
 * that namespace, where the last boot left it. With netns every NIC must
 * be a TAP device: nothing else can be moved there. */
static gboolean
vmc_check_taps(const VmcConfig *cfg, GError **error)
{
    const char *netns = vmc_config_get_netns(cfg);

    if (netns && !vmc_netns_exists(netns))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': network namespace '%s' does not exist (ip netns add %s)",
                        vmc_config_get_name(cfg), netns, netns);
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *tap = vmc_network_attachment_get_source(net);

        if (vmc_network_attachment_get_kind(net) != VMC_NETWORK_TAP) {
            if (netns)
                return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                                "VM '%s': networks[%u] is a '%s' NIC, but with netns every NIC "
                                "must be a TAP device (it is moved into '%s' after start)",
                                vmc_config_get_name(cfg), i,
                                vmc_network_kind_to_string(vmc_network_attachment_get_kind(net)),
                                netns);
            continue;
        }
        if (!vmc_netns_has_link(NULL, tap) && !(netns && vmc_netns_has_link(netns, tap)))
            return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                            "VM '%s': networks[%u].name: TAP device '%s' does not exist; create "
                            "it first (ip tuntap add dev %s mode tap)",
                            vmc_config_get_name(cfg), i, tap, tap);
    }
    return TRUE;
}

/* Moves the VM's TAP devices between the host's namespace and its netns. */
static gboolean
vmc_move_taps(const VmcConfig *cfg, gboolean into, GError **error)
{
    const char *netns = vmc_config_get_netns(cfg);

    for (guint i = 0; netns && i < vmc_config_get_n_networks(cfg); i++) {
        const char *tap = vmc_network_attachment_get_source(vmc_config_get_network(cfg, i));

        if (vmc_netns_has_link(into ? netns : NULL, tap))
            continue;
        if (!vmc_netns_move_link(tap, into ? NULL : netns, into ? netns : NULL, error)) {
            g_prefix_error(error, "VM '%s': ", vmc_config_get_name(cfg));
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
vmc_driver_preflight(VmcDriver *driver, const VmcConfig *cfg, VmcAccel accel, GError **error)
{
    const struct {
        const char *field;
        const char *path;
        gboolean writable;
    } files[] = {
        { "kernel", vmc_config_get_kernel(cfg), FALSE },
        { "initramfs", vmc_config_get_initramfs(cfg), FALSE },
        { "root_disk", vmc_config_get_root_disk(cfg), TRUE },
        { "seed_iso", vmc_config_get_seed_iso(cfg), FALSE },
        { "data_disk", vmc_config_get_data_disk(cfg), TRUE },
    };
    struct passwd *qemu_user = driver->system ? getpwnam("libvirt-qemu") : NULL;
    g_autofree char *log_dir = g_path_get_dirname(vmc_config_get_serial_log(cfg));
    const char *nvram = vmc_config_get_efi_variable_store(cfg);
    g_autoptr(GError) kvm_error = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        if (!vmc_check_file(cfg, files[i].field, files[i].path, FALSE, files[i].writable, error))
            return FALSE;
        if (files[i].path && qemu_user &&
            !vmc_check_traversable(cfg, files[i].field, files[i].path, qemu_user, error))
            return FALSE;
    }
    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++) {
        const char *share = vmc_shared_dir_get_host_path(vmc_config_get_shared_dir(cfg, i));
        g_autofree char *share_field = g_strdup_printf("shared_dirs[%u].host_path", i);

        if (!vmc_check_file(cfg, share_field, share, TRUE, FALSE, error))
            return FALSE;
    }
    if (!vmc_check_file(cfg, "serial_log's directory", log_dir, TRUE, TRUE, error))
        return FALSE;
    if (qemu_user && !vmc_check_traversable(cfg, "serial_log", vmc_config_get_serial_log(cfg),
                                            qemu_user, error))
        return FALSE;
    if (nvram) {
        g_autofree char *nvram_dir = g_path_get_dirname(nvram);
        if (!vmc_check_file(cfg, "efi_variable_store's directory", nvram_dir, TRUE, TRUE, error))
            return FALSE;
    }
    if (!vmc_check_taps(cfg, error))
        return FALSE;
    if (accel == VMC_ACCEL_KVM && !vmc_host_kvm_runs(&kvm_error))
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': accelerator 'kvm' was asked for, but %s: boot it with "
                        "--accel qemu (TCG), or leave --accel out",
                        vmc_config_get_name(cfg), kvm_error->message);
    if (vmc_config_get_vsock(cfg) && !vmc_host_has_vhost_vsock())
        return vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': vsock is on, but this host has no /dev/vhost-vsock: load the "
                        "vhost_vsock kernel module (modprobe vhost_vsock) or set vsock to false",
                        vmc_config_get_name(cfg));
    return TRUE;
}

static int
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

/* Puts things back as they were after a failed start: the old definition,
 * or none, and no NVRAM file that this boot made. */
static void
vmc_boot_rollback(virDomainPtr dom, const char *old_xml, const VmcConfig *cfg,
                  gboolean nvram_existed)
{
    const char *nvram = vmc_config_get_efi_variable_store(cfg);

    /* Another boot of the same name may have won the race: never touch a
     * running domain. */
    if (virDomainIsActive(dom) == 0) {
        if (old_xml) {
            virDomainPtr back = virDomainDefineXML(virDomainGetConnect(dom), old_xml);
            if (back)
                virDomainFree(back);
        } else {
            vmc_domain_undefine(dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);
            if (nvram && !nvram_existed)
                g_unlink(nvram);
        }
    }
    virResetLastError();
}

/* Boots of one name on one host are serialized across threads and
 * processes (two virt-vmconfig runs): libvirt has no "define unless
 * running", so a losing boot would redefine the winner's running VM. An
 * advisory lock file per host URI and VM name; -1 (no lock) if it cannot
 * be made, which leaves the in-process mutex. */
static int
vmc_boot_lock_acquire(VmcDriver *driver, const char *name)
{
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, driver->hub->uri, -1);
    g_autofree char *dir = g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(),
                                            "virt-vmconfig", "locks", NULL);
    g_autofree char *file = g_strdup_printf("%.16s-%s.lock", uri_hash, name);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    int fd;

    if (g_mkdir_with_parents(dir, 0700) < 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void
vmc_boot_lock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

/**
 * vmc_driver_boot:
 * @driver: a driver
 * @cfg: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Validates @cfg, checks on a local host that its files exist and can be
 * reached, renders it, defines it (persistently) and starts it. Booting a
 * stopped VM of ours again redefines and starts it. A running VM, or a
 * domain of that name that is not ours, is refused and left untouched; a
 * start that fails leaves the host as it was.
 *
 * Returns: (transfer full): the VM's handle, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG (nothing was touched) or %VMC_ERROR_BOOT_FAILED.
 */
VmcHandle *
vmc_driver_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_autoptr(GError) move_error = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(virDomain) existing = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *old_xml = NULL;
    g_autofree char *uuid = NULL;
    g_autoptr(GMutexLocker) locker = NULL;
    int lock_fd __attribute__((cleanup(vmc_boot_lock_release))) = -1;
    const char *name;
    const char *nvram;
    gboolean nvram_existed;
    VmcAccel accel;

    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!vmc_config_validate(cfg, error))
        return NULL;
    if (!driver->local && vmc_config_get_netns(cfg)) {
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "VM '%s': netns can only be applied when libvirt runs on this host",
                 vmc_config_get_name(cfg));
        return NULL;
    }
    accel = vmc_driver_get_accel(driver);
    if (driver->local && !vmc_driver_preflight(driver, cfg, accel, error))
        return NULL;
    name = vmc_config_get_name(cfg);
    vmc_render_options_set_accel(opts, accel);
    vmc_render_options_set_remote_paths(opts, !driver->local);
    xml = vmc_config_to_domain_xml(cfg, opts, error);
    if (!xml)
        return NULL;
    uuid = vmc_config_get_uuid_string(cfg);

    locker = g_mutex_locker_new(&driver->boot_lock);
    lock_fd = vmc_boot_lock_acquire(driver, name);
    conn = vmc_driver_conn(driver);
    existing = virDomainLookupByName(conn, name);
    if (!existing) {
        if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot look up VM '%s'", name);
            return NULL;
        }
        virResetLastError();
    } else {
        char existing_uuid[VIR_UUID_STRING_BUFLEN] = "";
        int active;
        char *raw;

        if (!vmc_domain_is_ours(existing, NULL)) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s': a libvirt domain of that name exists and was not made by "
                     "virt-vmconfig; it was left untouched (pick another name)", name);
            return NULL;
        }
        active = virDomainIsActive(existing);
        if (active < 0) {
            vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot read the state of VM '%s'", name);
            return NULL;
        }
        if (active) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s' is already running; stop it before booting it again", name);
            return NULL;
        }
        virDomainGetUUIDString(existing, existing_uuid);
        if (g_ascii_strcasecmp(existing_uuid, uuid) != 0) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s' exists with UUID %s, but this config gives UUID %s (another "
                     "namespace or machine_id): delete the old VM first", name, existing_uuid,
                     uuid);
            return NULL;
        }
        raw = virDomainGetXMLDesc(existing, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        old_xml = g_strdup(raw);
        free(raw);
    }

    /* libvirt opens TAP devices in its own namespace: one that the last
     * boot moved into netns comes back first. */
    if (!vmc_move_taps(cfg, FALSE, &move_error)) {
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
        return NULL;
    }
    nvram = vmc_config_get_efi_variable_store(cfg);
    nvram_existed = nvram && g_file_test(nvram, G_FILE_TEST_EXISTS);
    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_DEFINE, "VM '%s' was refused by libvirt", name);
        return NULL;
    }
    if (virDomainCreate(dom) < 0) {
        virError start_error = { 0 };

        virCopyLastError(&start_error);
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        vmc_libvirt_error_from(error, VMC_OP_START, &start_error, "VM '%s' failed to start",
                               name);
        virResetError(&start_error);
        return NULL;
    }
    if (!vmc_move_taps(cfg, TRUE, &move_error)) {
        vmc_hub_mark_stopping(driver->hub, uuid);
        vmc_destroy(dom, NULL, VMC_OP_START, name);
        vmc_boot_rollback(dom, old_xml, cfg, nvram_existed);
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED, move_error->message);
        return NULL;
    }
    return vmc_handle_from_domain(driver, dom, error);
}

/**
 * vmc_driver_lookup:
 * @driver: a driver
 * @name: a VM's name
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the handle of the VM of that name, or %NULL
 * with %VMC_ERROR_NOT_FOUND when there is none or the domain of that name
 * was not made by virt-vmconfig.
 */
VmcHandle *
vmc_driver_lookup(VmcDriver *driver, const char *name, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && name != NULL, NULL);
    conn = vmc_driver_conn(driver);
    dom = virDomainLookupByName(conn, name);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_LOOKUP, "VM '%s' not found", name);
        return NULL;
    }
    if (!vmc_domain_is_ours(dom, NULL)) {
        vmc_fail(error, VMC_ERROR_NOT_FOUND,
                 "VM '%s' not found: the libvirt domain of that name was not made by "
                 "virt-vmconfig (use virsh for it)", name);
        return NULL;
    }
    return vmc_handle_from_domain(driver, dom, error);
}

/**
 * vmc_driver_list:
 * @driver: a driver
 * @ns: (nullable): only VMs of this namespace
 * @error: return location for a #GError, or %NULL
 *
 * Lists the VMs of virt-vmconfig, sorted by name: one libvirt call lists
 * every domain, then each domain's definition says whether it is ours.
 *
 * Returns: (transfer full) (element-type VmcHandle): the handles.
 */
static gint
vmc_handle_compare(gconstpointer a, gconstpointer b)
{
    const VmcHandle *x = *(const VmcHandle *const *) a;
    const VmcHandle *y = *(const VmcHandle *const *) b;

    return strcmp(x->name, y->name);
}

GPtrArray *
vmc_driver_list(VmcDriver *driver, const char *ns, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(GPtrArray) handles = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_handle_free);
    virDomainPtr *doms = NULL;
    int n;

    g_return_val_if_fail(driver != NULL, NULL);
    conn = vmc_driver_conn(driver);
    n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0) {
        vmc_libvirt_error(error, VMC_OP_LIST, "cannot list the VMs on '%s'", driver->hub->uri);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        g_autoptr(GError) local = NULL;
        VmcHandle *handle = NULL;

        if (vmc_domain_is_ours(doms[i], NULL))
            handle = vmc_handle_from_domain(driver, doms[i], &local);
        /* A domain that vanished meanwhile is simply not listed. */
        if (handle && (!ns || g_strcmp0(handle->ns, ns) == 0))
            g_ptr_array_add(handles, handle);
        else
            vmc_handle_free(handle);
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(handles, vmc_handle_compare);
    return g_steal_pointer(&handles);
}

/**
 * vmc_driver_get_state:
 * @driver: a driver
 * @handle: a VM
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM's state now: crashes and failed starts
 * are failed states, never a silent stopped; a running VM whose guest
 * printed the ready marker in this boot is ready.
 */
VmcState *
vmc_driver_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    dom = vmc_driver_domain(driver, handle, VMC_OP_STATE, error);
    if (!dom)
        return NULL;
    return vmc_domain_state(dom, handle->serial_log, error);
}

/* Waits, on a private main context, until the VM leaves the running states. */
typedef struct {
    gboolean stopped;
    gboolean timed_out;
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

static gboolean
vmc_flag_on_timeout(gpointer data)
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
static gboolean
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
 * vmc_driver_stop:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long the guest may take to power off
 *   (%VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS is vm-rs's 10 s)
 * @error: return location for a #GError, or %NULL
 *
 * Presses the VM's ACPI power button and waits for it to power off, on
 * libvirt's events (no polling). Past @timeout_ms it forces the VM off and
 * fails with %VMC_ERROR_STOP_FAILED saying so. Stopping a stopped VM
 * succeeds.
 *
 * Returns: %TRUE when the guest powered off by itself.
 */
gboolean
vmc_driver_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GSource) timeout = NULL;
    g_autoptr(GSource) repress = NULL;
    VmcStopWait wait = { FALSE, FALSE, NULL };
    guint watch;
    int active;

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    dom = vmc_driver_domain(driver, handle, VMC_OP_STOP, error);
    if (!dom)
        return FALSE;

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch_internal(driver, NULL, NULL, handle->uuid, vmc_stop_on_event, &wait,
                                      NULL);
    active = virDomainIsActive(dom);
    if (active == 1)
        vmc_hub_mark_stopping(driver->hub, handle->uuid);
    if (active == 1 && vmc_press_power_button(dom) < 0) {
        virError err = { 0 };

        virCopyLastError(&err);
        if (virDomainIsActive(dom) == 1) {
            vmc_driver_unwatch(driver, watch);
            g_main_context_pop_thread_default(context);
            vmc_libvirt_error_from(error, VMC_OP_STOP, &err,
                                   "cannot press the power button of VM '%s'", handle->name);
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

    /* The check after subscribing closes the race with a VM that stopped
     * before the watch existed. */
    while (active == 1 && !wait.stopped && !wait.timed_out && virDomainIsActive(dom) == 1)
        g_main_context_iteration(context, TRUE);

    g_source_destroy(timeout);
    g_source_destroy(repress);
    vmc_driver_unwatch(driver, watch);
    g_main_context_pop_thread_default(context);

    if (active < 0)
        return vmc_libvirt_error(error, VMC_OP_STOP, "cannot read the state of VM '%s'",
                                 handle->name);
    if (!wait.timed_out || virDomainIsActive(dom) == 0)
        return TRUE;
    vmc_hub_mark_stopping(driver->hub, handle->uuid);
    if (!vmc_destroy(dom, error, VMC_OP_STOP, handle->name))
        return FALSE;
    return vmc_fail(error, VMC_ERROR_STOP_FAILED,
                    "VM '%s' did not power off within %u ms of the ACPI power button, so it was "
                    "forced off (does the guest handle the power button?)",
                    handle->name, timeout_ms);
}

/**
 * vmc_driver_kill:
 * @driver: a driver
 * @handle: a VM
 * @error: return location for a #GError, or %NULL
 *
 * Forces the VM off at once. Killing a stopped VM succeeds.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_driver_kill(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    dom = vmc_driver_domain(driver, handle, VMC_OP_KILL, error);
    if (!dom)
        return FALSE;
    if (virDomainIsActive(dom) == 0)
        return TRUE;
    vmc_hub_mark_stopping(driver->hub, handle->uuid);
    return vmc_destroy(dom, error, VMC_OP_KILL, handle->name);
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
    state = vmc_domain_state(dom, NULL, error);
    if (!state)
        return FALSE;
    if (state->kind == (pause ? VMC_STATE_PAUSED : VMC_STATE_RUNNING))
        return TRUE;
    if (state->kind != (pause ? VMC_STATE_RUNNING : VMC_STATE_PAUSED)) {
        g_autofree char *now = vmc_state_to_string(state);
        return vmc_fail(error, VMC_ERROR_STATE_FAILED, "VM '%s' cannot be %s: it is %s",
                        handle->name, pause ? "paused" : "resumed", now);
    }
    if ((pause ? virDomainSuspend(dom) : virDomainResume(dom)) < 0)
        return vmc_libvirt_error(error, op, "cannot %s VM '%s'", pause ? "pause" : "resume",
                                 handle->name);
    return TRUE;
}

/**
 * vmc_driver_pause:
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
vmc_driver_pause(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    return vmc_driver_pause_resume(driver, handle, TRUE, error);
}

/**
 * vmc_driver_resume:
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
vmc_driver_resume(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    return vmc_driver_pause_resume(driver, handle, FALSE, error);
}

/**
 * vmc_driver_delete:
 * @driver: a driver
 * @handle: a VM
 * @flags: whether to remove the NVRAM file of a UEFI VM too
 * @error: return location for a #GError, or %NULL
 *
 * Stops the VM if it runs (ACPI first, then by force) and removes its
 * definition. Serial log, disks and shares are never touched, nor the
 * NVRAM file unless @flags say so.
 *
 * Returns: %TRUE on success.
 */
gboolean
vmc_driver_delete(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                  GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GError) stop_error = NULL;
    unsigned int undefine = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                            VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                            ((flags & VMC_DELETE_REMOVE_NVRAM) ? VIR_DOMAIN_UNDEFINE_NVRAM
                                                               : VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);

    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    dom = vmc_driver_domain(driver, handle, VMC_OP_DELETE, error);
    if (!dom)
        return FALSE;
    if (virDomainIsActive(dom) == 1 &&
        !vmc_driver_stop(driver, handle, VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS, &stop_error)) {
        if (!g_error_matches(stop_error, VMC_ERROR, VMC_ERROR_STOP_FAILED)) {
            g_propagate_error(error, g_steal_pointer(&stop_error));
            return FALSE;
        }
        /* STOP_FAILED is also a power button that could not be pressed:
         * undefining a running domain would leave it running, transient. */
        vmc_hub_mark_stopping(driver->hub, handle->uuid);
        if (virDomainIsActive(dom) == 1 && !vmc_destroy(dom, error, VMC_OP_DELETE, handle->name))
            return FALSE;
    }
    if (vmc_domain_undefine(dom, undefine) < 0)
        return vmc_libvirt_error(error, VMC_OP_DELETE, "cannot delete VM '%s'", handle->name);
    return TRUE;
}

typedef struct {
    VmcReadyScanner *scanner;
    VmcState *stopped;
    gboolean timed_out;
} VmcReadyWait;

static void
vmc_ready_on_serial(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcReadyWait *wait = user_data;

    if (reset)
        vmc_ready_scanner_reset(wait->scanner);
    else
        vmc_ready_scanner_feed(wait->scanner, data, len);
}

static void
vmc_ready_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcReadyWait *wait = data;

    if (!wait->stopped && vmc_event_ends_run(event))
        wait->stopped = vmc_state_copy(vmc_event_get_state(event));
}

/**
 * vmc_driver_wait_ready:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @error: return location for a #GError, or %NULL
 *
 * Waits until the guest prints `VMRS_READY <ip>` and a newline on its
 * serial console. The log is followed with inotify and read from where it
 * was last read; a marker counts only on a complete line with a valid
 * address. Fails at once with %VMC_ERROR_BOOT_FAILED when the VM stops or
 * crashes first, and with %VMC_ERROR_STATE_FAILED on timeout, naming the
 * last state.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_driver_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      GError **error)
{
    return vmc_driver_wait_ready_full(driver, handle, timeout_ms, NULL, NULL, error);
}

typedef struct {
    VmcWaitProgressFunc func;
    gpointer data;
    gint64 start;
    VmcSerialWatch **serial;
} VmcWaitProgress;

static gboolean
vmc_wait_progress_tick(gpointer data)
{
    VmcWaitProgress *p = data;

    p->func((guint64) (g_get_monotonic_time() - p->start) / 1000,
            *p->serial ? vmc_serial_watch_get_total(*p->serial) : 0, p->data);
    return G_SOURCE_CONTINUE;
}

/**
 * vmc_driver_wait_ready_full:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @progress: (nullable): told how the wait goes, about every 100 ms
 * @user_data: data for @progress
 * @error: return location for a #GError, or %NULL
 *
 * vmc_driver_wait_ready() with progress reports.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_driver_wait_ready_full(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                           VmcWaitProgressFunc progress, gpointer user_data, GError **error)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcReadyScanner) scanner = vmc_ready_scanner_new();
    g_autoptr(GSource) timeout = NULL;
    g_autoptr(VmcState) now = NULL;
    VmcReadyWait wait = { scanner, NULL, FALSE };
    VmcSerialWatch *serial = NULL;
    g_autoptr(GSource) ticker = NULL;
    VmcWaitProgress ticker_data = { 0 };
    VmcState *result = NULL;
    guint watch;

    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    if (!handle->serial_log) {
        vmc_fail(error, VMC_ERROR_STATE_FAILED,
                 "VM '%s' has no serial log to read the ready marker from", handle->name);
        return NULL;
    }

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch_internal(driver, NULL, NULL, handle->uuid, vmc_ready_on_event, &wait,
                                      NULL);
    serial = vmc_serial_watch_new(handle->serial_log, context, vmc_ready_on_serial, &wait, error);
    now = serial ? vmc_driver_get_state(driver, handle, error) : NULL;
    if (now && !vmc_state_is_running(now) && now->kind != VMC_STATE_STARTING &&
        now->kind != VMC_STATE_PAUSED)
        wait.stopped = vmc_state_copy(now);

    timeout = g_timeout_source_new(timeout_ms);
    g_source_set_callback(timeout, vmc_flag_on_timeout, &wait.timed_out, NULL);
    g_source_attach(timeout, context);
    if (progress) {
        ticker_data.func = progress;
        ticker_data.data = user_data;
        ticker_data.start = g_get_monotonic_time();
        ticker_data.serial = &serial;
        ticker = g_timeout_source_new(100);
        g_source_set_callback(ticker, vmc_wait_progress_tick, &ticker_data, NULL);
        g_source_attach(ticker, context);
    }
    while (now && !vmc_ready_scanner_get_ip(scanner) && !wait.stopped && !wait.timed_out)
        g_main_context_iteration(context, TRUE);
    if (ticker)
        g_source_destroy(ticker);

    if (!now) {
        /* error already set */
    } else if (vmc_ready_scanner_get_ip(scanner)) {
        result = vmc_state_new_libvirt(VMC_STATE_READY, vmc_ready_scanner_get_ip(scanner),
                                       VIR_DOMAIN_RUNNING, 0);
    } else if (wait.stopped) {
        g_autofree char *what = vmc_state_to_string(wait.stopped);
        vmc_fail(error, VMC_ERROR_BOOT_FAILED, "VM '%s' stopped before it was ready (%s)",
                 handle->name, what);
    } else {
        g_autoptr(VmcState) last = vmc_driver_get_state(driver, handle, NULL);
        g_autofree char *what = last ? vmc_state_to_string(last) : g_strdup("unknown");
        vmc_fail(error, VMC_ERROR_STATE_FAILED,
                 "VM '%s' was not ready within %u ms (last state: %s; %" G_GUINT64_FORMAT
                 " bytes of serial output, no VMRS_READY line)",
                 handle->name, timeout_ms, what, vmc_serial_watch_get_total(serial));
    }

    g_source_destroy(timeout);
    vmc_serial_watch_free(serial);
    vmc_driver_unwatch(driver, watch);
    vmc_state_free(wait.stopped);
    g_main_context_pop_thread_default(context);
    return result;
}
