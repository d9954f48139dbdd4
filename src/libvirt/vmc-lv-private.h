/*
 * vmc-lv-private.h: what the files of the libvirt driver (vmc-lv-*.c)
 * share: the connection hub, watches, Ready follows and the driver
 * itself, and the functions that one of them calls in another
 *
 * These files define, start, stop and watch VMs through libvirt; with
 * vmc-events.c, vmc-libvirt-error.c and vmc-host-check.c they are the
 * only ones that talk to libvirt. The contract is DESIGN.md §5.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-driver-private.h"
#include "vmc-serial-private.h"

#include <libxml/xpath.h>

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
    GSource *start;         /* the first look at running VMs, until it ran */
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

/* What the libvirt module's open() returns: the header the core
 * dispatches through comes first. */
struct _VmcDriver {
    VmcDriverHeader header;
    gboolean local;
    gboolean system;          /* qemu:///system: QEMU runs as another user */
    GMutex accel_lock;
    gboolean accel_known;
    VmcAccel accel;
    gboolean user_backend_known;  /* guarded by accel_lock too */
    VmcUserBackend user_backend;
    VmcEventHub *hub;
    GMutex boot_lock;             /* guards name_locks */
    GHashTable *name_locks;       /* VM name -> VmcNameLock, while boots of it run */
    VmcReadyCache *ready_cache;   /* what state queries read of serial logs */
    GMutex follow_lock;           /* guards the two below */
    GHashTable *serial_follows;   /* id -> VmcSerialFollow */
    guint next_follow;
};

/* vmc-lv-open.c: FALSE when @uri is the local system or session daemon
 * and no socket of it answers; TRUE for every other URI. */
gboolean vmc_local_daemon_may_answer(const char *uri);

/* vmc-lv-hub.c */
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

/* vmc-lv-watch.c */
void vmc_watcher_unref(VmcWatcher *w);
void vmc_watcher_cancel(VmcWatcher *w);
void vmc_post(VmcWatcher *w, VmcEvent *ev, gboolean early);
int vmc_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque);
guint vmc_driver_watch_internal(VmcDriver *driver, const char *name, const char *ns,
                                const char *uuid, gboolean follow, VmcWatchFunc func,
                                gpointer data, GDestroyNotify destroy);
void vmc_serial_follow_free(gpointer data);

/* vmc-lv-follow.c */
void vmc_ready_follow_free(gpointer data);
void vmc_hub_mark_stopping(VmcEventHub *hub, const char *uuid);
void vmc_watcher_follow(VmcWatcher *w, VmcDriver *driver, const char *name, const char *uuid);
void vmc_watcher_track(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev, gboolean early);

/* vmc-lv-domain.c */
gboolean vmc_domain_is_ours(virDomainPtr dom, char **ns);
char *vmc_driver_namespace_of(VmcDriver *driver, const char *uuid);
char *vmc_driver_serial_log_of(VmcDriver *driver, const char *uuid);
VmcState *vmc_domain_state(VmcDriver *driver, virDomainPtr dom, const char *serial_log,
                           GError **error);
VmcHandle *vmc_handle_from_domain(VmcDriver *driver, virDomainPtr dom, GError **error);
char *vmc_domain_lease_ip(virDomainPtr dom);
virDomainPtr vmc_driver_domain(VmcDriver *driver, const VmcHandle *handle, VmcOperation op,
                               GError **error);

/* vmc-lv-preflight.c */
gboolean vmc_fail(GError **error, VmcError code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
gboolean vmc_driver_preflight(VmcDriver *driver, const VmcConfig *cfg, VmcAccel accel,
                              GError **error);
gboolean vmc_check_networks(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                            GError **error);
void vmc_name_lock_free(gpointer data);
gboolean vmc_move_taps(const VmcConfig *cfg, gboolean into, GError **error);
GArray *vmc_taps_where(const VmcConfig *cfg);
void vmc_taps_restore(const VmcConfig *cfg, GArray *where);

/* The driver's operations (vmc-lv-plugin.c), and what each of them
 * does, in the file of its concern; the public vmc_driver_* calls of the
 * core dispatch to them. */
extern const VmcDriverOps vmc_lv_ops;

VmcDriver *vmc_lv_open(const char *uri, GError **error);
void vmc_lv_close(VmcDriver *driver);
const char *vmc_lv_get_uri(VmcDriver *driver);
gboolean vmc_lv_is_local(VmcDriver *driver);
VmcAccel vmc_lv_get_accel(VmcDriver *driver);
VmcUserBackend vmc_lv_user_backend(VmcDriver *driver);
void vmc_lv_set_accel(VmcDriver *driver, VmcAccel accel);
VmcHandle *vmc_lv_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error);
VmcHandle *vmc_lv_boot_cancellable(VmcDriver *driver, const VmcConfig *cfg,
                                   GCancellable *cancellable, GError **error);
gboolean vmc_lv_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                     GError **error);
gboolean vmc_lv_stop_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 GCancellable *cancellable, GError **error);
gboolean vmc_lv_kill(VmcDriver *driver, const VmcHandle *handle, GError **error);
VmcState *vmc_lv_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_pause(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_resume(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                       GError **error);
gboolean vmc_lv_remove_cancellable(VmcDriver *driver, const VmcHandle *handle,
                                   VmcDeleteFlags flags, GCancellable *cancellable,
                                   GError **error);
VmcHandle *vmc_lv_lookup(VmcDriver *driver, const char *name, GError **error);
GPtrArray *vmc_lv_list(VmcDriver *driver, const char *ns, GError **error);
GPtrArray *vmc_lv_list_all(VmcDriver *driver, GError **error);
VmcConfig *vmc_lv_export(VmcDriver *driver, const VmcHandle *handle, char ***warnings,
                         GError **error);
VmcHandle *vmc_lv_adopt(VmcDriver *driver, const char *name, const char *ns,
                        VmcAdoptFlags flags, char ***lost, GError **error);
VmcConfig *vmc_lv_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
                        gpointer user_data, GError **error);
VmcConfig *vmc_lv_stage_cancellable(VmcDriver *driver, const VmcConfig *cfg,
                                    VmcStageProgressFunc progress, gpointer user_data,
                                    GCancellable *cancellable, GError **error);
char **vmc_lv_gc_staged(VmcDriver *driver, GError **error);
VmcState *vmc_lv_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                            GError **error);
VmcState *vmc_lv_wait_ready_full(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 VmcWaitProgressFunc progress, gpointer user_data,
                                 GError **error);
VmcState *vmc_lv_wait_ready_cancellable(VmcDriver *driver, const VmcHandle *handle,
                                        guint timeout_ms, VmcWaitProgressFunc progress,
                                        gpointer user_data, GCancellable *cancellable,
                                        GError **error);
guint vmc_lv_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                           gpointer user_data, GError **error);
void vmc_lv_unfollow_serial(VmcDriver *driver, guint id);
guint vmc_lv_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                   gpointer user_data, GDestroyNotify destroy);
void vmc_lv_unwatch(VmcDriver *driver, guint id);
GPtrArray *vmc_lv_check_host(const char *uri);

/* vmc-lv-boot.c: the lock that serializes boots of one name */
typedef struct _VmcBootLock VmcBootLock;
VmcBootLock *vmc_boot_lock_try(VmcDriver *driver, const char *name);
void vmc_boot_lock_release(VmcBootLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcBootLock, vmc_boot_lock_release)

/* vmc-lv-hostres.c: TAPs and read-only views a boot makes */
char *vmc_views_dir(VmcDriver *driver, const char *name);
gboolean vmc_views_make(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                        VmcRenderOptions *opts, GError **error);
void vmc_views_remove(VmcDriver *driver, const char *name);
GStrv vmc_taps_create_missing(VmcDriver *driver, const VmcConfig *cfg, GError **error);
void vmc_taps_remove(const char *netns, const char *const *taps);
void vmc_domain_owned(const char *xml, char **netns, GStrv *taps);
void vmc_release_host_resources(VmcDriver *driver, const char *name, const char *xml);
void vmc_release_if_stopped(VmcDriver *driver, virDomainPtr dom);
/* vmc-lv-control.c */
gboolean vmc_flag_on_timeout(gpointer data);
gboolean vmc_flag_on_cancel(GCancellable *cancellable, gpointer data);
gboolean vmc_destroy(virDomainPtr dom, GError **error, VmcOperation op, const char *name);
int vmc_domain_undefine(virDomainPtr dom, unsigned int flags);
