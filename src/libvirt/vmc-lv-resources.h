/*
 * vmc-lv-resources.h: the resources stratum of the libvirt driver: what a
 * boot makes on the host and its release (TAPs the driver made, read-only
 * views: vmc-lv-hostres.c), the Ready follows of public watches and the
 * waits for a lifecycle change (vmc-lv-follow.c, vmc-lv-watch.c), and the
 * serial log followed for an application. Builds on the reading stratum.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-lv-reading.h"
#include "vmc-netns-private.h"

/* A public watch follows the serial log of each running VM it sees, so
 * that it can report Ready; only ever touched on the watch's context. */
typedef struct {
    VmcWatcher *watcher;   /* not a reference: the watcher owns this */
    char *name;
    char *uuid;
    struct _VmcGuestOutput *output;  /* the log, or this driver's boot console */
    GSource *poll;         /* elsewhere: the Ready record, asked until it is there */
    VmcReadyScanner *scanner;
    gboolean reported;
    GSource *exit_source;  /* the QEMU process, through a pidfd */
    GSource *grace;        /* a signalled exit waits this out before it is a crash */
    int signal;
    int pidfd;
    int pid;
    gboolean crashed;      /* reported before libvirt did */
} VmcReadyFollow;

/* vmc-lv-follow.c */
void vmc_ready_follow_free(gpointer data);
void vmc_watcher_follow(VmcWatcher *w, VmcDriver *driver, const char *name, const char *uuid);
void vmc_watcher_track(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev, gboolean early);
gboolean vmc_watcher_before_delivery(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev,
                                     gboolean early);

/* vmc-lv-watch.c */
guint vmc_driver_watch_internal(VmcDriver *driver, const char *name, const char *ns,
                                const char *uuid, gboolean follow, VmcWatchFunc func,
                                gpointer data, GDestroyNotify destroy);
void vmc_serial_follow_free(gpointer data);
guint vmc_lv_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                   gpointer user_data, GDestroyNotify destroy);
void vmc_lv_unwatch(VmcDriver *driver, guint id);
guint vmc_lv_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                           gpointer user_data, GError **error);
void vmc_lv_unfollow_serial(VmcDriver *driver, guint id);

/* vmc-lv-hostres.c: TAPs and read-only views a boot makes, and their
 * release */
char *vmc_views_dir(VmcDriver *driver, const char *name);
char *vmc_boot_mark_path(VmcDriver *driver, const char *name);
gboolean vmc_views_make(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                        VmcRenderOptions *opts, GError **error);
GStrv vmc_taps_missing(VmcDriver *driver, const VmcConfig *cfg);
gboolean vmc_taps_create(VmcDriver *driver, const VmcConfig *cfg, const char *const *taps,
                         GError **error);
gboolean vmc_boot_mark_write(VmcDriver *driver, const VmcConfig *cfg, const char *const *taps,
                             GError **error);
void vmc_boot_mark_clear(VmcDriver *driver, const char *name);
void vmc_domain_owned(const char *xml, char **netns, GStrv *taps);
GStrv vmc_release(VmcDriver *driver, const char *name, const char *xml, gboolean own_boot);
guint vmc_release_unfinished_boots(VmcDriver *driver, virConnectPtr conn);
void vmc_release_if_stopped(VmcDriver *driver, virDomainPtr dom);

/* vmc-lv-console.c: the console stream of a remote host's domain, the
 * Ready record, and the guest's output from wherever its host gives it */
typedef struct _VmcConsoleTap VmcConsoleTap;
/* Output as it comes; NULL once the console ended. */
typedef void (*VmcConsoleChunkFunc)(const char *data, gsize len, gpointer user_data);

gboolean vmc_ready_record_write(virDomainPtr dom, const char *ip, GError **error);
void vmc_boot_note_stale_leases(virDomainPtr dom);
VmcConsoleTap *vmc_console_tap_open(VmcDriver *driver, const char *uuid, gboolean force,
                                    GError **error);
VmcConsoleTap *vmc_console_tap_ref(VmcConsoleTap *tap);
void vmc_console_tap_unref(gpointer data);
void vmc_console_tap_close(VmcConsoleTap *tap);
gboolean vmc_console_tap_ended(VmcConsoleTap *tap);
char *vmc_console_tap_ready_ip(VmcConsoleTap *tap);
guint64 vmc_console_tap_total(VmcConsoleTap *tap);
guint vmc_console_tap_listen(VmcConsoleTap *tap, VmcConsoleChunkFunc func, gpointer data);
void vmc_console_tap_unlisten(VmcConsoleTap *tap, guint id);
gboolean vmc_console_tap_send(VmcConsoleTap *tap, const char *data, gsize len,
                              GError **error);
void vmc_boot_console_keep(VmcDriver *driver, const char *uuid, VmcConsoleTap *tap);
VmcConsoleTap *vmc_boot_console_get(VmcDriver *driver, const char *uuid);
void vmc_boot_console_free(gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcConsoleTap, vmc_console_tap_unref)

typedef struct _VmcGuestOutput VmcGuestOutput;
typedef enum {
    VMC_OUTPUT_DEFAULT = 0,
    VMC_OUTPUT_FORCE = 1 << 0,      /* take a console another client holds */
    VMC_OUTPUT_KEPT_ONLY = 1 << 1,  /* a boot console of this driver, or none */
} VmcOutputFlags;
VmcGuestOutput *vmc_guest_output_new(VmcDriver *driver, const char *uuid,
                                     const char *serial_log, GMainContext *context,
                                     VmcSerialChunkFunc func, gpointer data,
                                     VmcOutputFlags flags, GError **error);
guint64 vmc_guest_output_total(VmcGuestOutput *o);
VmcConsoleTap *vmc_guest_output_tap(VmcGuestOutput *o);
void vmc_guest_output_free(VmcGuestOutput *o);
guint vmc_lv_open_console(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                          VmcConsoleFunc func, gpointer user_data, GError **error);
gboolean vmc_lv_console_send(VmcDriver *driver, guint id, const char *data, gsize len,
                             GError **error);
void vmc_lv_close_console(VmcDriver *driver, guint id);
