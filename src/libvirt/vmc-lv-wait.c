/*
 * vmc-lv-wait.c: waiting for a guest's ready marker, with progress
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"

#include <sys/statvfs.h>

typedef struct {
    VmcDriver *driver;
    const VmcHandle *handle;
    VmcReadyScanner *scanner;
    VmcState *stopped;
    gboolean timed_out;
    const char *log;        /* checked for space when it is on this host, else NULL */
    gboolean log_full;
    gint cancelled;         /* set from any thread (atomic) */
    GMainContext *context;  /* the wait's, woken when cancelled */
    char *recorded;         /* the address of a Ready record, or of a lease */
    gboolean console_ended; /* a remote host's console ended (a daemon restart) */
    VmcGuestOutput *output;
} VmcReadyWait;

/* A serial log on a full file system gets none of the guest's output, so
 * no marker ever arrives: said at once rather than at the timeout. virtlogd
 * writes as root, so only blocks free to root count. */
static gboolean
vmc_ready_check_space(gpointer data)
{
    VmcReadyWait *wait = data;
    struct statvfs st;

    if (statvfs(wait->log, &st) == 0 && st.f_bfree == 0)
        wait->log_full = TRUE;
    return G_SOURCE_CONTINUE;
}

static void
vmc_ready_on_serial(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcReadyWait *wait = user_data;

    if (reset)
        vmc_ready_scanner_reset(wait->scanner);
    else if (data)
        vmc_ready_scanner_feed(wait->scanner, data, len);
    else
        wait->console_ended = TRUE;
}

/* From the thread that cancels: the wait's loop wakes and sees it. (A
 * GCancellableSource would do, but GLib 2.74 can leak one that is freed
 * while another thread cancels.) */
static void
vmc_ready_on_cancel(GCancellable *cancellable, gpointer data)
{
    VmcReadyWait *wait = data;

    g_atomic_int_set(&wait->cancelled, 1);
    g_main_context_wakeup(wait->context);
}

/* Where a console or no file gives the output, Ready also comes from the
 * record that another client wrote, or from a lease; asked every
 * VMC_READY_POLL_MS. A console that a daemon restart ended is opened
 * again once the daemon is back. */
#define VMC_READY_POLL_MS 250

static gboolean
vmc_ready_poll(gpointer data)
{
    VmcReadyWait *wait = data;
    g_autoptr(virDomain) dom = vmc_driver_domain(wait->driver, wait->handle, VMC_OP_STATE, NULL);

    virResetLastError();
    if (!dom)
        return G_SOURCE_CONTINUE;
    if (!wait->console_ended && vmc_guest_output_tap(wait->output) &&
        vmc_console_tap_ended(vmc_guest_output_tap(wait->output)))
        wait->console_ended = TRUE;
    if (!wait->recorded && virDomainIsActive(dom) == 1)
        wait->recorded = vmc_domain_ready_ip(wait->driver, dom, NULL, NULL);
    if (wait->console_ended && !wait->recorded && virDomainIsActive(dom) == 1) {
        g_autoptr(GError) error = NULL;
        VmcGuestOutput *again = vmc_guest_output_new(wait->driver,
                                                     vmc_handle_get_uuid(wait->handle), NULL,
                                                     g_main_context_get_thread_default(),
                                                     vmc_ready_on_serial, wait,
                                                     VMC_OUTPUT_DEFAULT, &error);
        if (again) {
            vmc_guest_output_free(wait->output);
            wait->output = again;
            wait->console_ended = FALSE;
        }
    }
    virResetLastError();
    return G_SOURCE_CONTINUE;
}

static void
vmc_ready_on_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    VmcReadyWait *wait = data;

    if (!wait->stopped && vmc_event_ends_run(event))
        wait->stopped = vmc_state_copy(vmc_event_get_state(event));
}

/**
 * vmc_lv_wait_ready:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @error: return location for a #GError, or %NULL
 *
 * Waits until the guest prints `VMRS_READY <ip>` and a newline on its
 * serial console. The log is followed with inotify and read from where it
 * was last read; a marker counts only on a complete line with a valid
 * address. Fails at once with %VMC_ERROR_BOOT_FAILED when the VM stops or
 * crashes first, with %VMC_ERROR_IO (the VM left running) as soon as the
 * file system of a serial log on this host is full, and with
 * %VMC_ERROR_STATE_FAILED on timeout, naming the last state.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_lv_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      GError **error)
{
    return vmc_lv_wait_ready_full(driver, handle, timeout_ms, NULL, NULL, error);
}

typedef struct {
    VmcWaitProgressFunc func;
    gpointer data;
    gint64 start;
    VmcGuestOutput **output;
} VmcWaitProgress;

static gboolean
vmc_wait_progress_tick(gpointer data)
{
    VmcWaitProgress *p = data;

    p->func((guint64) (g_get_monotonic_time() - p->start) / 1000,
            vmc_guest_output_total(*p->output), p->data);
    return G_SOURCE_CONTINUE;
}

/**
 * vmc_lv_wait_ready_full:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @progress: (nullable): told how the wait goes, about every 100 ms
 * @user_data: data for @progress
 * @error: return location for a #GError, or %NULL
 *
 * vmc_lv_wait_ready() with progress reports.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_lv_wait_ready_full(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                           VmcWaitProgressFunc progress, gpointer user_data, GError **error)
{
    return vmc_lv_wait_ready_cancellable(driver, handle, timeout_ms, progress, user_data, NULL,
                                         error);
}

/**
 * vmc_lv_wait_ready_cancellable:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @progress: (nullable): told how the wait goes, about every 100 ms
 * @user_data: data for @progress
 * @cancellable: (nullable): ends the wait when cancelled, from any thread
 * @error: return location for a #GError, or %NULL
 *
 * The ABI 3 member: vmc_lv_wait_until_ready() without flags.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_lv_wait_ready_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                              VmcWaitProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error)
{
    return vmc_lv_wait_until_ready(driver, handle, timeout_ms, VMC_WAIT_DEFAULT, progress,
                                   user_data, cancellable, error);
}

/**
 * vmc_lv_wait_until_ready:
 * @driver: a driver
 * @handle: a VM
 * @timeout_ms: how long to wait
 * @flags: %VMC_WAIT_DEFAULT (no other flag is defined)
 * @progress: (nullable): told how the wait goes, about every 100 ms
 * @user_data: data for @progress
 * @cancellable: (nullable): ends the wait when cancelled, from any thread
 * @error: return location for a #GError, or %NULL
 *
 * The one wait (ABI 4): vmc_lv_wait_ready() with progress reports, that a
 * #GCancellable ends: its source on the wait's own main context wakes the
 * wait at once, which then fails with %G_IO_ERROR_CANCELLED; the VM is not
 * touched. A flag it does not know fails the call with
 * %G_IO_ERROR_NOT_SUPPORTED before anything is done.
 *
 * Returns: (transfer full): the ready state, with the guest's IP.
 */
VmcState *
vmc_lv_wait_until_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                        VmcWaitFlags flags, VmcWaitProgressFunc progress, gpointer user_data,
                        GCancellable *cancellable, GError **error)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcReadyScanner) scanner = vmc_ready_scanner_new();
    g_autoptr(GSource) timeout = NULL;
    g_autoptr(VmcState) now = NULL;
    g_autoptr(GError) console_error = NULL;
    VmcReadyWait wait = { driver, handle, scanner, NULL, FALSE, NULL, FALSE, 0, context, NULL,
                          FALSE, NULL };
    g_autoptr(GSource) space = NULL;
    gulong cancel = 0;
    g_autoptr(GSource) poll = NULL;
    g_autoptr(GSource) ticker = NULL;
    g_autofree char *ip = NULL;
    VmcWaitProgress ticker_data = { 0 };
    VmcConsoleTap *tap;
    VmcState *result = NULL;
    const char *name;
    guint watch;

    if (flags != VMC_WAIT_DEFAULT) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "cannot wait for VM '%s' to be ready: the libvirt driver knows no wait "
                    "flag 0x%x", vmc_handle_get_name(handle), (guint) flags);
        return NULL;
    }

    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    name = vmc_handle_get_name(handle);
    if (driver->local && !driver->in_process && !vmc_handle_get_serial_log(handle)) {
        vmc_fail(error, VMC_ERROR_STATE_FAILED,
                 "VM '%s' has no serial log to read the ready marker from", name);
        return NULL;
    }
    if (g_cancellable_is_cancelled(cancellable)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The wait for VM '%s' to be ready was cancelled before it started.", name);
        return NULL;
    }

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch_internal(driver, NULL, NULL, vmc_handle_get_uuid(handle), FALSE,
                                      vmc_ready_on_event, &wait, NULL);
    /* The guest's output: the log on this host, else the console (the
     * boot's, or one opened now). A console another client holds leaves
     * the record and leases, which are asked all along on such hosts. */
    if (!driver->in_process)
        wait.output = vmc_guest_output_new(driver, vmc_handle_get_uuid(handle),
                                           vmc_handle_get_serial_log(handle), context,
                                           vmc_ready_on_serial, &wait, VMC_OUTPUT_DEFAULT,
                                           driver->local ? error : &console_error);
    if (console_error)
        g_message("VM '%s': %s; its readiness comes from the record of the client that holds "
                  "it, or from a DHCP lease", name, console_error->message);
    now = wait.output || !driver->local || driver->in_process
              ? vmc_lv_get_state(driver, handle, error)
              : NULL;
    if (now && vmc_state_get_kind(now) == VMC_STATE_READY)
        wait.recorded = g_strdup(vmc_state_get_ip(now));
    else if (now && !vmc_state_is_running(now) && vmc_state_get_kind(now) != VMC_STATE_STARTING &&
             vmc_state_get_kind(now) != VMC_STATE_PAUSED)
        wait.stopped = vmc_state_copy(now);

    timeout = g_timeout_source_new(timeout_ms);
    g_source_set_callback(timeout, vmc_flag_on_timeout, &wait.timed_out, NULL);
    g_source_attach(timeout, context);
    if (cancellable)
        cancel = g_cancellable_connect(cancellable, G_CALLBACK(vmc_ready_on_cancel), &wait,
                                       NULL);
    if (driver->local && !driver->in_process) {
        wait.log = vmc_handle_get_serial_log(handle);
        vmc_ready_check_space(&wait);
        space = g_timeout_source_new(500);
        g_source_set_callback(space, vmc_ready_check_space, &wait, NULL);
        g_source_attach(space, context);
    } else {
        poll = g_timeout_source_new(VMC_READY_POLL_MS);
        g_source_set_callback(poll, vmc_ready_poll, &wait, NULL);
        g_source_attach(poll, context);
    }
    if (progress) {
        ticker_data.func = progress;
        ticker_data.data = user_data;
        ticker_data.start = g_get_monotonic_time();
        ticker_data.output = &wait.output;
        ticker = g_timeout_source_new(100);
        g_source_set_callback(ticker, vmc_wait_progress_tick, &ticker_data, NULL);
        g_source_attach(ticker, context);
    }
    while (now && !vmc_ready_scanner_get_ip(scanner) && !wait.recorded && !wait.stopped &&
           !wait.timed_out && !wait.log_full && !g_atomic_int_get(&wait.cancelled))
        g_main_context_iteration(context, TRUE);
    if (cancellable)
        g_cancellable_disconnect(cancellable, cancel);   /* waits for a handler that runs */
    if (ticker)
        g_source_destroy(ticker);
    if (space)
        g_source_destroy(space);
    if (poll)
        g_source_destroy(poll);

    /* What this wait saw itself is recorded for every later reader: the
     * console's own record first, else one written here. */
    tap = vmc_guest_output_tap(wait.output);
    if (now && vmc_ready_scanner_get_ip(scanner)) {
        ip = tap ? vmc_console_tap_ready_ip(tap) : NULL;
        if (!ip) {
            g_autoptr(virDomain) dom = vmc_driver_domain(driver, handle, VMC_OP_STATE, NULL);

            ip = g_strdup(vmc_ready_scanner_get_ip(scanner));
            if (dom && !driver->in_process)
                vmc_ready_record_write(dom, ip, NULL);
            virResetLastError();
        }
    } else if (now && wait.recorded) {
        ip = g_strdup(wait.recorded);
    }

    if (!now) {
        /* error already set */
    } else if (ip) {
        result = vmc_state_new_full(VMC_STATE_READY, ip, VIR_DOMAIN_RUNNING, 0);
    } else if (g_atomic_int_get(&wait.cancelled)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "The wait for VM '%s' to be ready was cancelled; the VM was left as it is.",
                    name);
    } else if (wait.log_full) {
        g_autofree char *q = vmc_quote_value(wait.log);
        vmc_fail(error, VMC_ERROR_IO,
                 "VM '%s' runs, but the file system of its serial log %s is full: the guest's "
                 "console output and its ready marker are lost (free space there; the VM is "
                 "left running)", name, q);
    } else if (wait.stopped) {
        g_autofree char *what = vmc_state_to_string(wait.stopped);
        vmc_fail(error, VMC_ERROR_BOOT_FAILED, "VM '%s' stopped before it was ready (%s)", name,
                 what);
    } else {
        g_autoptr(VmcState) last = vmc_lv_get_state(driver, handle, NULL);
        g_autofree char *what = last ? vmc_state_to_string(last) : g_strdup("unknown");
        g_autofree char *seen = NULL;

        if (driver->in_process)
            seen = g_strdup("the test driver's VMs print nothing, so only a Ready record "
                            "makes one ready");
        else if (!wait.output)
            seen = g_strdup("its console is held by another client, and no Ready record or "
                            "DHCP lease came");
        else
            seen = g_strdup_printf("%" G_GUINT64_FORMAT " bytes of serial output, no "
                                   "VMRS_READY line", vmc_guest_output_total(wait.output));
        vmc_fail(error, VMC_ERROR_STATE_FAILED,
                 "VM '%s' was not ready within %u ms (last state: %s; %s)", name, timeout_ms,
                 what, seen);
    }

    g_source_destroy(timeout);
    vmc_guest_output_free(wait.output);
    vmc_lv_unwatch(driver, watch);
    vmc_state_free(wait.stopped);
    g_free(wait.recorded);
    g_main_context_pop_thread_default(context);
    return result;
}
