/*
 * vmc-driver.h: run VMs on a libvirt host
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(VMC_INSIDE) && !defined(VMC_COMPILATION)
#error "Only <vmconfig/vmconfig.h> can be included directly."
#endif

#include <gio/gio.h>
#include <vmconfig/vmc-config.h>
#include <vmconfig/vmc-domain.h>

G_BEGIN_DECLS

/**
 * VmcStateKind:
 * @VMC_STATE_STARTING: being created or booting, not yet running.
 * @VMC_STATE_RUNNING: the hypervisor runs it; the guest has not said it is
 *   ready.
 * @VMC_STATE_READY: running, and the guest printed `VMRS_READY <ip>` on
 *   its serial console during this boot.
 * @VMC_STATE_PAUSED: its vCPUs are suspended.
 * @VMC_STATE_STOPPED: not running, after a stop, a kill or a guest power-off.
 * @VMC_STATE_FAILED: not running because it crashed or failed to start;
 *   the reason says which.
 */
typedef enum {
    VMC_STATE_STARTING,
    VMC_STATE_RUNNING,
    VMC_STATE_READY,
    VMC_STATE_PAUSED,
    VMC_STATE_STOPPED,
    VMC_STATE_FAILED,
} VmcStateKind;

/**
 * VmcState:
 *
 * A VM's state: its kind, the guest's IP when ready, the reason when
 * failed, and libvirt's own state and reason codes. Immutable.
 */
typedef struct _VmcState VmcState;

/*
 * State, handle and event values are immutable: their getters return
 * (transfer none) data owned by the value, and may be called from any
 * thread. vmc_state_get_ip() is %NULL unless the state is Ready,
 * vmc_state_get_reason() unless it is Failed; the libvirt codes are 0
 * where no hypervisor reported one. copy() is deep, free() accepts %NULL.
 */
VmcState *vmc_state_new(VmcStateKind kind, const char *detail);
VmcState *vmc_state_copy(const VmcState *state);
void vmc_state_free(VmcState *state);
VmcStateKind vmc_state_get_kind(const VmcState *state);
const char *vmc_state_get_ip(const VmcState *state);
const char *vmc_state_get_reason(const VmcState *state);
int vmc_state_get_libvirt_state(const VmcState *state);
int vmc_state_get_libvirt_reason(const VmcState *state);
gboolean vmc_state_is_running(const VmcState *state);
gboolean vmc_state_equal(const VmcState *a, const VmcState *b);
char *vmc_state_to_string(const VmcState *state);
const char *vmc_state_kind_to_string(VmcStateKind kind);

/**
 * VmcHandle:
 *
 * What boot() and lookup() return: the VM's name, namespace, UUID, serial
 * log, vsock CID, the TAP devices its driver made, and the state it was
 * in then. Immutable.
 */
typedef struct _VmcHandle VmcHandle;

VmcHandle *vmc_handle_copy(const VmcHandle *handle);
void vmc_handle_free(VmcHandle *handle);
const char *vmc_handle_get_name(const VmcHandle *handle);
const char *vmc_handle_get_namespace(const VmcHandle *handle);
const char *vmc_handle_get_uuid(const VmcHandle *handle);
const char *vmc_handle_get_serial_log(const VmcHandle *handle);
guint vmc_handle_get_vsock_cid(const VmcHandle *handle);
const char *const *vmc_handle_get_owned_taps(const VmcHandle *handle);
gboolean vmc_handle_is_foreign(const VmcHandle *handle);
const VmcState *vmc_handle_get_state(const VmcHandle *handle);

/**
 * VmcDriver:
 *
 * One connection to a libvirt host, and the VMs of virt-vmconfig on it.
 * A driver may be used from several threads.
 */
typedef struct _VmcDriver VmcDriver;

/**
 * VmcDeleteFlags:
 * @VMC_DELETE_DEFAULT: keep the NVRAM file of a UEFI VM (it is the user's).
 * @VMC_DELETE_REMOVE_NVRAM: remove the NVRAM file too.
 */
typedef enum {
    VMC_DELETE_DEFAULT = 0,
    VMC_DELETE_REMOVE_NVRAM = 1 << 0,
} VmcDeleteFlags;

/**
 * VmcAdoptFlags:
 * @VMC_ADOPT_DEFAULT: adopt only a domain that a VM config can hold whole.
 * @VMC_ADOPT_FORCE: adopt it even so; the next boot of its config drops
 *   what the config cannot hold.
 */
typedef enum {
    VMC_ADOPT_DEFAULT = 0,
    VMC_ADOPT_FORCE = 1 << 0,
} VmcAdoptFlags;

#define VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS 10000

VmcDriver *vmc_driver_open(const char *uri, GError **error);
void vmc_driver_free(VmcDriver *driver);
VmcDriver *vmc_driver_ref(VmcDriver *driver);
void vmc_driver_unref(VmcDriver *driver);
const char *vmc_driver_get_uri(VmcDriver *driver);
gboolean vmc_driver_is_local(VmcDriver *driver);
VmcAccel vmc_driver_get_accel(VmcDriver *driver);
void vmc_driver_set_accel(VmcDriver *driver, VmcAccel accel);

VmcHandle *vmc_driver_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error);
gboolean vmc_driver_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                         GError **error);
gboolean vmc_driver_kill(VmcDriver *driver, const VmcHandle *handle, GError **error);
VmcState *vmc_driver_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_driver_pause(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_driver_resume(VmcDriver *driver, const VmcHandle *handle, GError **error);
gboolean vmc_driver_delete(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                           GError **error);
VmcHandle *vmc_driver_lookup(VmcDriver *driver, const char *name, GError **error);
GPtrArray *vmc_driver_list(VmcDriver *driver, const char *ns, GError **error);
GPtrArray *vmc_driver_list_all(VmcDriver *driver, GError **error);
VmcConfig *vmc_driver_export(VmcDriver *driver, const VmcHandle *handle, char ***warnings,
                             GError **error);
VmcHandle *vmc_driver_adopt(VmcDriver *driver, const char *name, const char *ns,
                            VmcAdoptFlags flags, char ***lost, GError **error);

/**
 * VmcStageProgressFunc:
 * @field: the config field whose file is uploaded ("kernel", "root_disk", ...)
 * @path: the file on this host
 * @done: bytes uploaded so far
 * @total: the file's size
 * @user_data: the data given with the function
 *
 * Told how an upload of vmc_driver_stage() goes: once at its start, after
 * every chunk, and at its end. Files that need no upload are not reported.
 */
typedef void (*VmcStageProgressFunc)(const char *field, const char *path, guint64 done,
                                     guint64 total, gpointer user_data);

VmcConfig *vmc_driver_stage(VmcDriver *driver, const VmcConfig *cfg,
                            VmcStageProgressFunc progress, gpointer user_data, GError **error);
char **vmc_driver_gc_staged(VmcDriver *driver, GError **error);
VmcState *vmc_driver_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                GError **error);

/**
 * VmcWaitProgressFunc:
 * @elapsed_ms: time waited so far
 * @serial_bytes: bytes of serial console seen so far in this boot
 * @user_data: the data given to vmc_driver_wait_ready_full()
 *
 * Called about every 100 ms while a wait goes on, on the waiting thread.
 */
typedef void (*VmcWaitProgressFunc)(guint64 elapsed_ms, guint64 serial_bytes, gpointer user_data);

VmcState *vmc_driver_wait_ready_full(VmcDriver *driver, const VmcHandle *handle,
                                     guint timeout_ms, VmcWaitProgressFunc progress,
                                     gpointer user_data, GError **error);

/*
 * The long calls without blocking, GIO style: each _async() call copies
 * its arguments, runs the call on a worker thread and calls @callback on
 * the thread-default main context of the thread that called it; the
 * matching _finish(), called from @callback, gives the result and the
 * errors of the sync call, or %G_IO_ERROR_CANCELLED. Each call holds a
 * reference on the driver until its task is gone, so the driver may be
 * freed while the call runs. Their gtk-doc is in vmc-driver-async.c.
 */
void vmc_driver_boot_async(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
VmcHandle *vmc_driver_boot_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_stop_async(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean vmc_driver_stop_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_kill_async(VmcDriver *driver, const VmcHandle *handle,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean vmc_driver_kill_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_pause_async(VmcDriver *driver, const VmcHandle *handle,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean vmc_driver_pause_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_resume_async(VmcDriver *driver, const VmcHandle *handle,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean vmc_driver_resume_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_get_state_async(VmcDriver *driver, const VmcHandle *handle,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
VmcState *vmc_driver_get_state_finish(VmcDriver *driver, GAsyncResult *result,
                                      GError **error);
void vmc_driver_delete_async(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean vmc_driver_delete_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_wait_ready_async(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
VmcState *vmc_driver_wait_ready_finish(VmcDriver *driver, GAsyncResult *result,
                                       GError **error);
void vmc_driver_stage_async(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
VmcConfig *vmc_driver_stage_finish(VmcDriver *driver, GAsyncResult *result, GError **error);
void vmc_driver_gc_staged_async(VmcDriver *driver, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
char **vmc_driver_gc_staged_finish(VmcDriver *driver, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcState, vmc_state_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcHandle, vmc_handle_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcDriver, vmc_driver_free)

G_END_DECLS

G_BEGIN_DECLS

/**
 * VmcEvent:
 *
 * A state change of one VM, as a watch delivers it: the VM's name and
 * UUID, its new state, and libvirt's event and detail codes
 * (virDomainEventType and its detail enum).
 */
typedef struct _VmcEvent VmcEvent;

/**
 * VMC_EVENT_READY:
 *
 * The libvirt event code of a #VmcEvent that reports readiness: the guest
 * printed its ready marker on the serial console. libvirt has no such
 * event; its codes are all 0 or more.
 */
#define VMC_EVENT_READY (-1)

const char *vmc_event_get_name(const VmcEvent *event);
const char *vmc_event_get_uuid(const VmcEvent *event);
const VmcState *vmc_event_get_state(const VmcEvent *event);
int vmc_event_get_libvirt_event(const VmcEvent *event);
int vmc_event_get_libvirt_detail(const VmcEvent *event);
const char *vmc_event_get_libvirt_event_name(const VmcEvent *event);
const char *vmc_event_get_libvirt_detail_name(const VmcEvent *event);
gboolean vmc_event_ends_run(const VmcEvent *event);

/**
 * VmcWatchFunc:
 * @driver: the driver
 * @event: what happened; valid during the call
 * @user_data: the data given to vmc_driver_watch()
 *
 * Runs on the thread-default main context of the thread that called
 * vmc_driver_watch(), never inside libvirt's event loop, so it may call
 * the driver. It may remove its own watch.
 */
typedef void (*VmcWatchFunc)(VmcDriver *driver, const VmcEvent *event, gpointer user_data);

/**
 * VmcSerialFunc:
 * @data: new bytes of the serial log, or %NULL when the log started over
 *   (a new boot truncated or replaced it)
 * @len: their number
 * @user_data: the data given to vmc_driver_follow_serial()
 */
typedef void (*VmcSerialFunc)(const char *data, gsize len, gpointer user_data);

guint vmc_driver_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                               gpointer user_data, GError **error);
void vmc_driver_unfollow_serial(VmcDriver *driver, guint id);

/**
 * VmcConsoleFlags:
 * @VMC_CONSOLE_DEFAULT: fail when another client holds the console.
 * @VMC_CONSOLE_FORCE: take the console from another client that holds it;
 *   that client's console ends.
 *
 * Flags of vmc_driver_open_console(). A flag the library does not know
 * fails the call with %G_IO_ERROR_NOT_SUPPORTED, so that a later flag is
 * never silently ignored.
 *
 * Since: 0.1
 */
typedef enum {
    VMC_CONSOLE_DEFAULT = 0,
    VMC_CONSOLE_FORCE = 1 << 0,
} VmcConsoleFlags;

/**
 * VmcConsoleFunc:
 * @data: (nullable): bytes the guest wrote on its serial console, or %NULL
 *   when the console ended
 * @len: their number; 0 when the console ended
 * @user_data: the data given to vmc_driver_open_console()
 *
 * Called on the thread-default main context of the thread that opened the
 * console, with the guest's serial output as it arrives; once with @data
 * %NULL and @len 0 when the console ended (the VM stopped, another client
 * took the console with %VMC_CONSOLE_FORCE, or the connection was lost),
 * and never again after that.
 *
 * Since: 0.1
 */
typedef void (*VmcConsoleFunc)(const char *data, gsize len, gpointer user_data);

guint vmc_driver_open_console(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                              VmcConsoleFunc func, gpointer user_data, GError **error);
gboolean vmc_driver_console_send(VmcDriver *driver, guint id, const char *data, gsize len,
                                 GError **error);
void vmc_driver_close_console(VmcDriver *driver, guint id);

guint vmc_driver_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                       gpointer user_data, GDestroyNotify destroy);
void vmc_driver_unwatch(VmcDriver *driver, guint id);

/* A driver of the module @name (NULL: the default, "libvirt"); and that
 * module's errors kept from this whole process's stderr. */
VmcDriver *vmc_driver_open_with(const char *name, const char *uri, GError **error);
gboolean vmc_driver_quiet_process(const char *name, GError **error);

G_END_DECLS
