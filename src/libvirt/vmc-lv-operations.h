/*
 * vmc-lv-operations.h: the operations stratum of the libvirt driver: boot
 * and its preflight (vmc-lv-boot.c, vmc-lv-preflight.c), stop, kill,
 * pause, resume and delete (vmc-lv-control.c), wait (vmc-lv-wait.c), list
 * (vmc-lv-list.c), stage and gc (vmc-lv-stage.c), adopt and export
 * (vmc-lv-adopt.c), check-host (vmc-host-check.c). Builds on the
 * resources stratum; only the plugin (vmc-lv-plugin.c) is above it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-lv-resources.h"

/* vmc-lv-preflight.c */
/* The port forwards of @cfg's user NICs can be carried out on that host:
 * passt is there (slirp would take a <portForward> and forward nothing),
 * and where passt runs here as a user without privileges, no host port is
 * below the first unprivileged one. INVALID_CONFIG with the reason and the
 * remedy otherwise. */
gboolean vmc_check_forwards(VmcDriver *driver, const VmcConfig *cfg, GError **error);
gboolean vmc_driver_preflight(VmcDriver *driver, const VmcConfig *cfg, VmcAccel accel,
                              GError **error);
gboolean vmc_check_networks(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                            GError **error);
gboolean vmc_check_remote_files(VmcDriver *driver, virConnectPtr conn, const VmcConfig *cfg,
                                GError **error);
gboolean vmc_move_taps(const VmcConfig *cfg, gboolean into, GError **error);
GArray *vmc_taps_where(const VmcConfig *cfg);
void vmc_taps_restore(const VmcConfig *cfg, GArray *where);

/* vmc-lv-control.c */
gboolean vmc_flag_on_timeout(gpointer data);
gboolean vmc_flag_on_cancel(GCancellable *cancellable, gpointer data);
gboolean vmc_destroy(virDomainPtr dom, GError **error, VmcOperation op, const char *name);
int vmc_domain_undefine(virDomainPtr dom, unsigned int flags);

/* vmc-host-check.c: the checks of check-host. */
typedef enum {
    VMC_HOST_CHECK_ON_ANY,          /* every host libvirt answers for */
    VMC_HOST_CHECK_ON_LOCAL,        /* a host whose files this process sees */
    VMC_HOST_CHECK_ON_REMOTE,       /* any other host */
    VMC_HOST_CHECK_ON_KVM_DEVICE,   /* a local host that has /dev/kvm */
    VMC_HOST_CHECK_ON_SYSTEM,       /* the local system daemon */
} VmcHostCheckScope;

typedef struct {
    const char *id;
    const char *title;
    VmcHostCheckScope scope;
} VmcHostCheckRow;

/* Every check vmc_lv_check_host() makes, in its order, each with its id and
 * title (written here only) and the hosts it applies to. A host libvirt
 * does not answer for gets the "libvirt" check alone, failed. */
extern const VmcHostCheckRow vmc_host_check_rows[];
extern const gsize vmc_host_n_check_rows;

/* The row of check @id, or NULL. */
const VmcHostCheckRow *vmc_host_check_row(const char *id);

/* Whether @row's check is made on a host that is @local (its files seen
 * here), the @system daemon, and has a KVM device (@kvm_device). */
gboolean vmc_host_check_applies(const VmcHostCheckRow *row, gboolean local, gboolean system,
                                gboolean kvm_device);

/* The operations of the driver's table (vmc-lv-plugin.c), each in the
 * file of its concern; the public vmc_driver_* calls of the core dispatch
 * to them. Those of the strata below are declared there. */
VmcHandle *vmc_lv_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error);
VmcHandle *vmc_lv_boot_cancellable(VmcDriver *driver, const VmcConfig *cfg,
                                   GCancellable *cancellable, GError **error);
gboolean vmc_lv_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                     GError **error);
gboolean vmc_lv_stop_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 GCancellable *cancellable, GError **error);
gboolean vmc_lv_kill(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_pause(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_resume(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_lv_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                       GError **error);
gboolean vmc_lv_remove_cancellable(VmcDriver *driver, const VmcHandle *handle,
                                   VmcDeleteFlags flags, GCancellable *cancellable,
                                   GError **error);
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
VmcState *vmc_lv_wait_until_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                  VmcWaitFlags flags, VmcWaitProgressFunc progress,
                                  gpointer user_data, GCancellable *cancellable,
                                  GError **error);
GPtrArray *vmc_lv_check_host(const char *uri);
