/*
 * vmc-driver-plugin.h: the driver plugin ABI, a versioned table of operations
 *
 * For driver modules and for programs that dlopen() one and use its table
 * alone; applications that call vmc_driver_open() need none of it, and
 * <vmconfig/vmconfig.h> does not include it. Include it after (or
 * instead of) <vmconfig/vmconfig.h>.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define VMC_INSIDE
#include <vmconfig/vmc-config.h>
#include <vmconfig/vmc-domain.h>
#include <vmconfig/vmc-driver.h>
#include <vmconfig/vmc-host.h>
#include <vmconfig/vmc-error.h>
#undef VMC_INSIDE

/* The module's one entry point is exported (modules are built with
 * -fvisibility=hidden). */
#pragma GCC visibility push(default)

G_BEGIN_DECLS

/**
 * VMC_DRIVER_ABI_VERSION:
 *
 * The version of #VmcDriverOps this header describes. A later version only
 * appends members to the struct, so a table of version N also serves every
 * caller that asks for a version below N. The core loads modules of every
 * version from 1 on, and reads no member past the end of the module's own
 * version of the table: see #VmcDriverOps for what it calls on each.
 */
#define VMC_DRIVER_ABI_VERSION 5

/**
 * VmcWaitFlags:
 * @VMC_WAIT_DEFAULT: wait for the guest's ready marker of this boot
 *
 * Flags of the @wait_until_ready member of #VmcDriverOps. None but the
 * default is defined yet: a driver fails a call with a flag it does not
 * know with %G_IO_ERROR_NOT_SUPPORTED, so that a later flag is never
 * silently ignored.
 */
typedef enum {
    VMC_WAIT_DEFAULT = 0,
} VmcWaitFlags;

/**
 * VMC_DRIVER_PLUGIN_SYMBOL:
 *
 * The one symbol a driver module exports: a #VmcDriverPluginGetOps.
 */
#define VMC_DRIVER_PLUGIN_SYMBOL "vmc_driver_plugin_get_ops"

typedef struct _VmcDriverOps VmcDriverOps;

/**
 * VmcDriverHeader:
 * @ops: the operations of the module that made the driver
 *
 * How every #VmcDriver that a module's @open returns begins, so that
 * vmc_driver_boot() and the other calls can dispatch through its table.
 */
typedef struct {
    const VmcDriverOps *ops;
} VmcDriverHeader;

/**
 * VmcDriverOps:
 * @abi_version: the version of this table (%VMC_DRIVER_ABI_VERSION when
 *   the module was built)
 * @name: the driver's name, e.g. "libvirt"
 * @open: as vmc_driver_open()
 * @close: as vmc_driver_free()
 * @boot: as vmc_driver_boot()
 * @stop: as vmc_driver_stop()
 * @kill: as vmc_driver_kill()
 * @pause: as vmc_driver_pause()
 * @resume: as vmc_driver_resume()
 * @get_state: as vmc_driver_get_state()
 * @wait_ready: as vmc_driver_wait_ready()
 * @remove: as vmc_driver_delete() (not `delete`: a C++ keyword)
 * @lookup: as vmc_driver_lookup()
 * @list: as vmc_driver_list()
 * @watch: as vmc_driver_watch()
 * @unwatch: as vmc_driver_unwatch()
 * @get_uri: as vmc_driver_get_uri()
 * @is_local: as vmc_driver_is_local()
 * @get_accel: as vmc_driver_get_accel()
 * @set_accel: as vmc_driver_set_accel()
 * @wait_ready_full: as vmc_driver_wait_ready_full()
 * @follow_serial: as vmc_driver_follow_serial()
 * @unfollow_serial: as vmc_driver_unfollow_serial()
 * @check_host: as vmc_host_check(), for a host of this driver
 * @quiet_process: as vmc_driver_quiet_process()
 * @list_all: as vmc_driver_list_all() (ABI 2)
 * @export_config: as vmc_driver_export() (ABI 2)
 * @adopt: as vmc_driver_adopt() (ABI 2)
 * @stage: as vmc_driver_stage() (ABI 2)
 * @gc_staged: as vmc_driver_gc_staged() (ABI 2)
 * @boot_cancellable: as vmc_driver_boot(), observing @cancellable
 *   (vmc_driver_boot_async() runs it on a worker thread) (ABI 3)
 * @stop_cancellable: as vmc_driver_stop(), observing @cancellable
 *   (ABI 3)
 * @wait_ready_cancellable: as vmc_driver_wait_ready_full(), observing
 *   @cancellable (ABI 3)
 * @remove_cancellable: as vmc_driver_delete(), observing @cancellable
 *   (ABI 3)
 * @stage_cancellable: as vmc_driver_stage(), observing @cancellable
 *   (ABI 3)
 * @wait_until_ready: the one wait of ABI 4: vmc_driver_wait_ready(),
 *   vmc_driver_wait_ready_full() and vmc_driver_wait_ready_async() all
 *   call it, with @flags %VMC_WAIT_DEFAULT (ABI 4)
 * @open_console: as vmc_driver_open_console() (ABI 5)
 * @console_send: as vmc_driver_console_send() (ABI 5)
 * @close_console: as vmc_driver_close_console() (ABI 5)
 *
 * The seed's VmDriver trait as a C ABI: what a driver module does, with
 * the semantics, ownership and error codes of the vmc_driver_* call each
 * member names. @open and @close are required; any other member may be
 * %NULL, and the call it serves then fails with %G_IO_ERROR_NOT_SUPPORTED
 * naming the driver and the call (vmc_driver_watch() returns 0, the calls
 * without an error say nothing). Members are only ever appended, with a
 * new @abi_version.
 *
 * The core adapts to the module's version: a call whose member the
 * module's table does not have (ABI 1 has no @stage) is not supported;
 * on a module of ABI 4 the three waits all go to @wait_until_ready, on an
 * older one each to its own member (@wait_ready, @wait_ready_full, and for
 * the _async call @wait_ready_cancellable from ABI 3 on, else
 * @wait_ready); the _async calls of boot, stop, delete, wait and stage
 * hand their #GCancellable to the member of ABI 3 or later that observes
 * it, and on a module older than that look at it only before the call
 * starts. A module of ABI 4 may leave @wait_ready, @wait_ready_full and
 * @wait_ready_cancellable %NULL if it serves no caller of an older ABI.
 *
 * The members that take a #GCancellable (%NULL for none) end their waits
 * as soon as it is cancelled, from any thread, and then fail with
 * %G_IO_ERROR_CANCELLED, with the contract of the call they name: boot
 * undoes what it did; stop and remove leave the VM as it is at that
 * moment; stage removes the upload under way. A cancellable that is
 * cancelled before the call makes it do nothing.
 */
struct _VmcDriverOps {
    guint abi_version;
    const char *name;

    VmcDriver *(*open)(const char *uri, GError **error);
    void (*close)(VmcDriver *driver);
    VmcHandle *(*boot)(VmcDriver *driver, const VmcConfig *cfg, GError **error);
    gboolean (*stop)(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                     GError **error);
    gboolean (*kill)(VmcDriver *driver, const VmcHandle *handle, GError **error);
    gboolean (*pause)(VmcDriver *driver, const VmcHandle *handle, GError **error);
    gboolean (*resume)(VmcDriver *driver, const VmcHandle *handle, GError **error);
    VmcState *(*get_state)(VmcDriver *driver, const VmcHandle *handle, GError **error);
    VmcState *(*wait_ready)(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                            GError **error);
    gboolean (*remove)(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                       GError **error);
    VmcHandle *(*lookup)(VmcDriver *driver, const char *name, GError **error);
    GPtrArray *(*list)(VmcDriver *driver, const char *ns, GError **error);
    guint (*watch)(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                   gpointer user_data, GDestroyNotify destroy);
    void (*unwatch)(VmcDriver *driver, guint id);

    const char *(*get_uri)(VmcDriver *driver);
    gboolean (*is_local)(VmcDriver *driver);
    VmcAccel (*get_accel)(VmcDriver *driver);
    void (*set_accel)(VmcDriver *driver, VmcAccel accel);
    VmcState *(*wait_ready_full)(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 VmcWaitProgressFunc progress, gpointer user_data,
                                 GError **error);
    guint (*follow_serial)(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                           gpointer user_data, GError **error);
    void (*unfollow_serial)(VmcDriver *driver, guint id);
    GPtrArray *(*check_host)(const char *uri);
    void (*quiet_process)(void);

    /* ABI 2 */
    GPtrArray *(*list_all)(VmcDriver *driver, GError **error);
    VmcConfig *(*export_config)(VmcDriver *driver, const VmcHandle *handle, char ***warnings,
                                GError **error);
    VmcHandle *(*adopt)(VmcDriver *driver, const char *name, const char *ns,
                        VmcAdoptFlags flags, char ***lost, GError **error);
    VmcConfig *(*stage)(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
                        gpointer user_data, GError **error);
    char **(*gc_staged)(VmcDriver *driver, GError **error);

    /* ABI 3 */
    VmcHandle *(*boot_cancellable)(VmcDriver *driver, const VmcConfig *cfg,
                                   GCancellable *cancellable, GError **error);
    gboolean (*stop_cancellable)(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 GCancellable *cancellable, GError **error);
    VmcState *(*wait_ready_cancellable)(VmcDriver *driver, const VmcHandle *handle,
                                        guint timeout_ms, VmcWaitProgressFunc progress,
                                        gpointer user_data, GCancellable *cancellable,
                                        GError **error);
    gboolean (*remove_cancellable)(VmcDriver *driver, const VmcHandle *handle,
                                   VmcDeleteFlags flags, GCancellable *cancellable,
                                   GError **error);
    VmcConfig *(*stage_cancellable)(VmcDriver *driver, const VmcConfig *cfg,
                                    VmcStageProgressFunc progress, gpointer user_data,
                                    GCancellable *cancellable, GError **error);

    /* ABI 4 */
    VmcState *(*wait_until_ready)(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                  VmcWaitFlags flags, VmcWaitProgressFunc progress,
                                  gpointer user_data, GCancellable *cancellable,
                                  GError **error);

    /* ABI 5 */
    guint (*open_console)(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                          VmcConsoleFunc func, gpointer user_data, GError **error);
    gboolean (*console_send)(VmcDriver *driver, guint id, const char *data, gsize len,
                             GError **error);
    void (*close_console)(VmcDriver *driver, guint id);
};

/**
 * VmcDriverPluginGetOps:
 * @abi_version: the version of #VmcDriverOps the caller was built for
 * @error: return location for a #GError, or %NULL
 *
 * The type of %VMC_DRIVER_PLUGIN_SYMBOL. A module returns its table when
 * it serves @abi_version, else %NULL and %VMC_ERROR_HYPERVISOR naming both
 * versions.
 *
 * Returns: (transfer none): the module's operations, valid while the
 *   module stays loaded.
 */
typedef const VmcDriverOps *(*VmcDriverPluginGetOps)(guint abi_version, GError **error);

/* What a driver module makes the values it hands out with. */

/* What a driver module makes of the values it hands out. */
VmcState *vmc_state_new_full(VmcStateKind kind, const char *detail, int libvirt_state,
                             int libvirt_reason);
VmcHandle *vmc_handle_new(const char *name, const char *ns, const char *uuid,
                          const char *serial_log, guint vsock_cid, VmcState *state);
void vmc_handle_set_owned_taps(VmcHandle *handle, const char *const *taps);
void vmc_handle_set_foreign(VmcHandle *handle, gboolean foreign);
VmcEvent *vmc_event_new(const char *name, const char *uuid, VmcState *state, int event,
                        int detail);
VmcEvent *vmc_event_ref(VmcEvent *ev);
void vmc_event_unref(VmcEvent *ev);
VmcHostCheck *vmc_host_check_new(const char *id, const char *title, VmcHostCheckStatus status,
                                 const char *detail, const char *hint);
void vmc_error_set_libvirt_origin(GError *error, int libvirt_code, int libvirt_domain);

G_END_DECLS

#pragma GCC visibility pop
