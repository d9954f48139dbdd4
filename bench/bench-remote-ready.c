/*
 * bench-remote-ready.c: how soon a client reports Ready on a remote host
 * (the console stream) beside a local one (inotify on the serial log)
 *
 *   bench-remote-ready [-n ROUNDS] [--local URI] --remote URI
 *
 * The test guest (tests/guest/build-guest.sh) boots once on each host with
 * `vmc.noready`, so that it prints no marker of its own. Each round is a
 * new client (a new driver, with no console and nothing read yet) on a
 * running guest whose Ready record was cleared: it attaches to the guest's
 * console, starts vmc_driver_wait_ready() in a thread, and once the wait
 * runs, types `VMRS_READY 10.0.2.15` into the console. The guest's
 * terminal echoes the line back: that echo is the guest writing the
 * marker. The delay is from the send (T0) to the return of the wait (T1),
 * so it also holds the way in (client -> libvirtd -> QEMU -> guest); the
 * way out is the console stream on the remote host and the serial log
 * (virtlogd, then inotify) on the local one, and both include the guest's
 * echo under TCG.
 *
 * A benchmark, not a test: the goal (remote median <= 50 ms) is reported,
 * never enforced. See bench/README.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-record.h"

#include <vmconfig/vmconfig.h>

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_VM_NAME "bench-remote-ready"
#define BENCH_READY_IP "10.0.2.15"
#define BENCH_MARKER_LINE "VMRS_READY " BENCH_READY_IP "\n"
#define BENCH_GOAL_MS 50.0
#define BENCH_BOOT_TIMEOUT_MS 60000
#define BENCH_WAIT_TIMEOUT_MS 10000
#define BENCH_CONSOLE_SETTLE_US (1500 * G_TIME_SPAN_MILLISECOND)

typedef struct {
    GMutex lock;
    GCond cond;
    VmcDriver *driver;
    VmcHandle *handle;
    gboolean started;
    gboolean done;
    VmcState *state;
    GError *error;
    gint64 t1;
} BenchWait;

static void
bench_on_progress(guint64 elapsed_ms, guint64 serial_bytes, gpointer user_data)
{
    BenchWait *w = user_data;

    g_mutex_lock(&w->lock);
    w->started = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static gpointer
bench_wait_thread(gpointer data)
{
    BenchWait *w = data;
    GError *error = NULL;
    VmcState *state = vmc_driver_wait_ready_full(w->driver, w->handle, BENCH_WAIT_TIMEOUT_MS,
                                                 bench_on_progress, w, &error);

    w->t1 = g_get_monotonic_time();
    g_mutex_lock(&w->lock);
    w->state = state;
    w->error = error;
    w->done = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
    return NULL;
}

static void
bench_ignore_output(const char *data, gsize len, gpointer user_data)
{
}

/* One round on @uri: a new client, its console, its wait, the marker typed. */
static gboolean
bench_round(const char *uri, double *delay_ms, GError **error)
{
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    BenchWait w = { 0 };
    GThread *thread;
    gint64 t0;
    guint console;
    gboolean sent;

    if (!bench_clear_ready_record(uri, BENCH_VM_NAME, error))
        return FALSE;
    driver = vmc_driver_open(uri, error);
    handle = driver ? vmc_driver_lookup(driver, BENCH_VM_NAME, error) : NULL;
    if (!handle)
        return FALSE;
    /* On a local host the marker of the round before is still in this
     * boot's log (and would count): the log starts over, as at a start. */
    if (vmc_driver_is_local(driver) && truncate(vmc_handle_get_serial_log(handle), 0) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot empty %s: %s",
                    vmc_handle_get_serial_log(handle), g_strerror(errno));
        return FALSE;
    }
    console = vmc_driver_open_console(driver, handle, VMC_CONSOLE_DEFAULT, bench_ignore_output,
                                      NULL, error);
    if (!console)
        return FALSE;
    /* QEMU looks for a client on its pty once a second: a console opened
     * just now carries nothing until it has. A boot opens its console
     * before the guest runs, so this wait is not part of a boot's delay. */
    g_usleep(BENCH_CONSOLE_SETTLE_US);
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    w.driver = driver;
    w.handle = handle;
    thread = g_thread_new("bench-wait", bench_wait_thread, &w);
    g_mutex_lock(&w.lock);
    while (!w.started && !w.done)
        g_cond_wait(&w.cond, &w.lock);
    g_mutex_unlock(&w.lock);
    t0 = g_get_monotonic_time();
    sent = vmc_driver_console_send(driver, console, BENCH_MARKER_LINE, strlen(BENCH_MARKER_LINE),
                                   error);
    g_thread_join(thread);
    vmc_driver_close_console(driver, console);
    state = w.state;
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    if (!sent) {
        g_clear_error(&w.error);
        return FALSE;
    }
    if (!state) {
        g_propagate_prefixed_error(error, w.error, "vmc_driver_wait_ready on %s: ", uri);
        return FALSE;
    }
    if (g_strcmp0(vmc_state_get_ip(state), BENCH_READY_IP) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the wait on %s gave %s, not %s", uri,
                    vmc_state_get_ip(state), BENCH_READY_IP);
        return FALSE;
    }
    *delay_ms = (double) (w.t1 - t0) / 1000.0;
    return TRUE;
}

static int
bench_compare(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

static VmcConfig *
bench_config(const char *guest_dir)
{
    VmcConfig *cfg = vmc_config_new(BENCH_VM_NAME);
    g_autofree char *kernel = g_build_filename(guest_dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(guest_dir, "initramfs.img", NULL);
    g_autofree char *log = g_build_filename(guest_dir, BENCH_VM_NAME ".serial", NULL);

    vmc_config_set_namespace(cfg, "bench");
    vmc_config_set_kernel(cfg, kernel);
    vmc_config_set_initramfs(cfg, initrd);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.noready");
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 256);
    vmc_config_set_serial_log(cfg, log);
    return cfg;
}

/* The guest booted on @uri (staged there when remote), up to its last line. */
static VmcHandle *
bench_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_autoptr(VmcConfig) staged = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) expected = NULL;
    VmcHandle *handle;

    vmc_driver_set_accel(driver, VMC_ACCEL_QEMU);
    if (!vmc_driver_is_local(driver)) {
        staged = vmc_driver_stage(driver, cfg, NULL, NULL, error);
        if (!staged)
            return NULL;
    }
    handle = vmc_driver_boot(driver, staged ? staged : cfg, error);
    if (!handle)
        return NULL;
    /* It prints no marker: this wait times out once the guest is up. */
    ready = vmc_driver_wait_ready(driver, handle, 8000, &expected);
    if (ready) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the guest printed a marker itself");
        vmc_handle_free(handle);
        return NULL;
    }
    return handle;
}

static gboolean
bench_host(const char *uri, const char *guest_dir, guint rounds, double *median, GError **error)
{
    g_autoptr(VmcConfig) cfg = bench_config(guest_dir);
    g_autoptr(VmcDriver) booter = vmc_driver_open(uri, error);
    g_autoptr(VmcHandle) handle = booter ? bench_boot(booter, cfg, error) : NULL;
    g_autofree double *delays = g_new0(double, rounds);
    gboolean ok = handle != NULL;

    /* The booting client lets go of the console: each round is a new one. */
    g_clear_pointer(&booter, vmc_driver_free);
    for (guint r = 0; ok && r < rounds; r++)
        ok = bench_round(uri, &delays[r], error);
    if (handle) {
        g_autoptr(VmcDriver) d = vmc_driver_open(uri, NULL);

        if (d) {
            vmc_driver_kill(d, handle, NULL);
            vmc_driver_delete(d, handle, VMC_DELETE_DEFAULT, NULL);
            g_strfreev(vmc_driver_gc_staged(d, NULL));
        }
    }
    if (!ok)
        return FALSE;
    qsort(delays, rounds, sizeof(double), bench_compare);
    *median = rounds % 2 ? delays[rounds / 2] : (delays[rounds / 2 - 1] + delays[rounds / 2]) / 2;
    printf("ready on %s: median %.2f ms (p90 %.2f, max %.2f) over %u rounds\n", uri, *median,
           delays[(9 * rounds + 9) / 10 - 1], delays[rounds - 1], rounds);
    fflush(stdout);
    return TRUE;
}

int
main(int argc, char **argv)
{
    int rounds = 20;
    g_autofree char *local = g_strdup("qemu:///system");
    g_autofree char *remote = NULL;
    g_autofree char *guest_dir = g_strdup(g_getenv("VMC_GUEST_DIR") ? g_getenv("VMC_GUEST_DIR")
                                                                    : "/var/tmp/virt-vmconfig-guest");
    const GOptionEntry entries[] = {
        { "rounds", 'n', 0, G_OPTION_ARG_INT, &rounds, "rounds per host (default 20)", "N" },
        { "local", 0, 0, G_OPTION_ARG_STRING, &local,
          "a host whose files this process sees (default qemu:///system)", "URI" },
        { "remote", 0, 0, G_OPTION_ARG_STRING, &remote,
          "a remote host, e.g. qemu+tcp://127.0.0.1:16509/system", "URI" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- ready delay, remote and local");
    g_autoptr(GError) error = NULL;
    double local_ms = 0, remote_ms = 0;

    setlocale(LC_ALL, "");
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &error) || rounds < 1 || !remote) {
        g_printerr("bench-remote-ready: %s\n",
                   error ? error->message : "--remote URI is needed, and -n at least 1");
        return 2;
    }
    vmc_driver_quiet_process(NULL, NULL);
    printf("ready delay: a new client's console on a running guest, the marker typed into it "
           "and echoed by the guest's terminal (T0 the send, T1 the wait's return)\n");
    if (!bench_host(local, guest_dir, (guint) rounds, &local_ms, &error) ||
        !bench_host(remote, guest_dir, (guint) rounds, &remote_ms, &error)) {
        g_printerr("bench-remote-ready: %s\n", error->message);
        return 1;
    }
    printf("  ratio: remote (console stream) / local (inotify) = %.2fx (medians)\n",
           remote_ms / local_ms);
    printf("  goal remote median <= %.0f ms: %s (median %.2f ms)\n", BENCH_GOAL_MS,
           remote_ms <= BENCH_GOAL_MS ? "met" : "not met", remote_ms);
    return 0;
}
