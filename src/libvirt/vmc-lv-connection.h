/*
 * vmc-lv-connection.h: the connection stratum of the libvirt driver
 *
 * The driver itself, opening and closing it (vmc-lv-open.c), the hub that
 * holds its connection, reconnects a lost daemon and delivers libvirt's
 * lifecycle events to its listeners (vmc-lv-hub.c), and the per-name job
 * lock every operation that changes a VM takes (vmc-lv-lock.c). It builds
 * on the plumbing only (vmc-libvirt-private.h, vmc-host-private.h,
 * vmc-serial-private.h, vmc-netns-private.h); the strata above are reading
 * (vmc-lv-reading.h), resources (vmc-lv-resources.h), operations
 * (vmc-lv-operations.h) and the plugin. A file includes the header of its
 * own stratum and those below, never one above (tests/check-strata.py).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-host-private.h"
#include "vmc-libvirt-private.h"
#include "vmc-serial-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

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
    gboolean events;          /* conn follows lifecycle events (event loop, keepalive) */
    GMutex events_lock;       /* serializes turning them on */
    GHashTable *states;       /* UUID -> VmcSeen, the last state each VM was seen in */
    GHashTable *stopping;     /* UUIDs of VMs told or seen to shut down in this run */
    GHashTable *panicked;     /* UUIDs of VMs whose guest panicked in this run */
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
    GHashTable *follows;    /* UUID -> VmcReadyFollow (resources), for public watches */
    GSource *start;         /* the first look at running VMs, until it ran */
    /* Set by the layer that made the watch: runs on its context before
     * each callback; FALSE drops the event. */
    gboolean (*before)(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev, gboolean early);
};



/* What the libvirt module's open() returns: the header the core
 * dispatches through comes first. */
struct _VmcDriver {
    VmcDriverHeader header;
    gboolean local;           /* this process sees the host's files (vmc_uri_is_local) */
    gboolean in_process;      /* libvirt's test driver: no guest, no serial output */
    gboolean system;          /* qemu:///system: QEMU runs as another user */
    GMutex accel_lock;
    gboolean accel_known;
    VmcAccel accel;
    gboolean user_backend_known;  /* guarded by accel_lock too, as the three below */
    VmcUserBackend user_backend;
    char *no_passt_why;           /* why not passt, when slirp */
    gboolean native_readonly_known;
    gboolean native_readonly;     /* libvirt takes virtiofs <readonly/> */
    VmcEventHub *hub;
    GMutex boot_lock;             /* guards name_locks */
    GHashTable *name_locks;       /* VM name -> VmcNameLock, while boots of it run */
    VmcReadyCache *ready_cache;   /* what state queries read of serial logs */
    GMutex follow_lock;           /* guards the two below */
    GHashTable *serial_follows;   /* id -> VmcSerialFollow */
    guint next_follow;
    GMutex console_lock;          /* guards the two below */
    GHashTable *consoles;         /* UUID -> VmcConsoleTap, opened by this driver's boots */
    GHashTable *open_consoles;    /* id -> VmcOpenConsole, of vmc_lv_open_console() */
    guint next_console;
};

/* vmc-lv-open.c */
VmcDriver *vmc_lv_open(const char *uri, const VmcDriverOps *ops, GError **error);
void vmc_lv_close(VmcDriver *driver);
const char *vmc_lv_get_uri(VmcDriver *driver);

/* The root directory of an embedded QEMU driver's connection (free with
 * g_free()); NULL for any other. */
char *vmc_lv_embed_root(VmcDriver *driver);
gboolean vmc_lv_is_local(VmcDriver *driver);
VmcAccel vmc_lv_get_accel(VmcDriver *driver);
VmcUserBackend vmc_lv_user_backend(VmcDriver *driver);
char *vmc_lv_no_passt_why(VmcDriver *driver);
gboolean vmc_lv_native_readonly(VmcDriver *driver);
void vmc_lv_set_accel(VmcDriver *driver, VmcAccel accel);
virConnectPtr vmc_driver_get_conn(VmcDriver *driver);
virConnectPtr vmc_driver_conn_checked(VmcDriver *driver, GError **error);
gboolean vmc_driver_is_system(VmcDriver *driver);

/* vmc-lv-hub.c: the hub */
VmcEventHub *vmc_hub_ref(VmcEventHub *hub);
void vmc_hub_unref(gpointer data);
void vmc_conn_unref(virConnect *conn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, vmc_conn_unref)

virConnectPtr vmc_hub_conn(VmcEventHub *hub);
void vmc_hub_attach_plain(VmcEventHub *hub, virConnectPtr conn);
gboolean vmc_hub_want_events(VmcEventHub *hub, GError **error);

#define vmc_driver_conn(driver) vmc_hub_conn((driver)->hub)

void vmc_seen_free(gpointer data);
void vmc_hub_remember(VmcEventHub *hub, const char *uuid, const char *name, VmcStateKind kind);
gboolean vmc_hub_attach(VmcEventHub *hub, virConnectPtr conn, GError **error);
void vmc_on_close(virConnectPtr conn, int reason, void *opaque);
/* VMs told or seen to shut down in this run (a kill that follows is no
 * crash). */
gboolean vmc_hub_is_stopping(VmcEventHub *hub, const char *uuid);
void vmc_hub_mark_stopping(VmcEventHub *hub, const char *uuid);

/* Whether @dom carries our metadata element; with @ns, its namespace. */
gboolean vmc_domain_is_ours(virDomainPtr dom, char **ns);
/* The namespace of our domain @uuid (remembered by the hub), or NULL. */
char *vmc_driver_namespace_of(VmcDriver *driver, const char *uuid);

/* vmc-lv-hub.c: its listeners */
VmcWatcher *vmc_watcher_new(VmcDriver *driver, const char *name, const char *ns,
                            const char *uuid, VmcWatchFunc func, gpointer data,
                            GDestroyNotify destroy);
guint vmc_watcher_publish(VmcDriver *driver, VmcWatcher *w, GSourceFunc first);
VmcDriver *vmc_watcher_driver(VmcWatcher *w);
void vmc_watcher_unref(VmcWatcher *w);
void vmc_watcher_cancel(VmcWatcher *w);
void vmc_post(VmcWatcher *w, VmcEvent *ev, gboolean early);
int vmc_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque);

/* vmc-lv-lock.c: the lock that serializes the changes of one VM name */
typedef struct _VmcBootLock VmcBootLock;
void vmc_name_lock_free(gpointer data);
VmcBootLock *vmc_boot_lock_acquire(VmcDriver *driver, const char *name,
                                   GCancellable *cancellable, GError **error);
VmcBootLock *vmc_boot_lock_try(VmcDriver *driver, const char *name);
void vmc_boot_lock_release(VmcBootLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcBootLock, vmc_boot_lock_release)
