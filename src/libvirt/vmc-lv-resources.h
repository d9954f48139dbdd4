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
