/*
 * bench-ready.c: how soon vmc_driver_wait_ready() sees the ready marker
 *
 * The delay from the guest printing `VMRS_READY <ip>` on its serial
 * console to vmc_driver_wait_ready() returning, against the way other
 * tools wait: every 200 ms, run `virsh domstate` and read the whole log.
 * See bench/README.md.
 *
 * The benchmark plays the guest's part: it boots the test guest
 * (tests/guest/build-guest.sh) under the system daemon with `vmc.noready`,
 * so that the guest prints no marker itself, and appends to the VM's serial
 * log itself, so that the moment the marker is written is known exactly:
 * T0 is taken right before the write() of the marker line, T1 right after
 * the wait returns, and the delay is T1 - T0. (libvirt's test driver will
 * not do: its VMs print nothing, so no file makes one ready.)
 *
 * A benchmark, not a test: the goal is reported, never enforced. The exit
 * status is not 0 only when the benchmark itself cannot run (bad
 * arguments, a VM that does not boot, a wait that fails, a virsh that
 * fails, files that cannot be written or removed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-record.h"

#include <vmconfig/vmconfig.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The goal the inotify figure is reported against. */
#define BENCH_GOAL_MEDIAN_MS 10.0

/* The VM: a real guest under the system daemon, a host whose files this
 * process sees (its log followed with inotify). */
#define BENCH_VM_URI "qemu:///system"
#define BENCH_TEST_URI "test:///default"
#define BENCH_VM_NAME "bench-ready"
#define BENCH_READY_IP "10.0.2.15"
#define BENCH_MARKER_LINE "VMRS_READY " BENCH_READY_IP "\n"

/* No wait of a round may last longer than this. */
#define BENCH_WAIT_TIMEOUT_MS 10000

/* The baseline: a check every 200 ms. virsh in another process cannot see
 * the test driver's domain of this process: it asks the system daemon
 * about a small domain defined there (never started), or else its own
 * test driver about its "test" domain. */
#define BENCH_POLL_INTERVAL_US (200 * G_TIME_SPAN_MILLISECOND)
#define BENCH_SYSTEM_URI "qemu:///system"
#define BENCH_VIRSH_TEST_DOMAIN "test"

/* After the wait has started, the noise and the marker come this much
 * later (at random, up to): not always right after a progress report. */
#define BENCH_INOTIFY_JITTER_US (50 * G_TIME_SPAN_MILLISECOND)

typedef struct {
    char *tmp_dir;
    char *kernel;
    char *initrd;
    char *log_dir;
    char *log;
    char *domain_xml;
    int log_fd;
    VmcDriver *driver;
    VmcHandle *handle;
    GRand *rand;
    GString *boot_noise;     /* in the log before each wait starts */
    GString *late_noise;     /* written right before the marker */
    /* The baseline. */
    char *virsh;
    char *virsh_uri;
    char *virsh_domain;
    char *virsh_state;       /* what domstate said at the warm-up */
    char *virsh_note;        /* why the system daemon was not used */
    gboolean virsh_defined;  /* virsh_domain was defined by us */
} BenchContext;

static void
bench_context_clear(BenchContext *ctx)
{
    g_clear_pointer(&ctx->tmp_dir, g_free);
    g_clear_pointer(&ctx->kernel, g_free);
    g_clear_pointer(&ctx->initrd, g_free);
    g_clear_pointer(&ctx->log_dir, g_free);
    g_clear_pointer(&ctx->log, g_free);
    g_clear_pointer(&ctx->domain_xml, g_free);
    if (ctx->log_fd >= 0)
        close(ctx->log_fd);
    ctx->log_fd = -1;
    g_clear_pointer(&ctx->handle, vmc_handle_free);
    g_clear_pointer(&ctx->driver, vmc_driver_free);
    g_clear_pointer(&ctx->rand, g_rand_free);
    if (ctx->boot_noise)
        g_string_free(ctx->boot_noise, TRUE);
    ctx->boot_noise = NULL;
    if (ctx->late_noise)
        g_string_free(ctx->late_noise, TRUE);
    ctx->late_noise = NULL;
    g_clear_pointer(&ctx->virsh, g_free);
    g_clear_pointer(&ctx->virsh_uri, g_free);
    g_clear_pointer(&ctx->virsh_domain, g_free);
    g_clear_pointer(&ctx->virsh_state, g_free);
    g_clear_pointer(&ctx->virsh_note, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(BenchContext, bench_context_clear)

/* The delays of the rounds of one way of waiting, in ms. */
typedef struct {
    double median;
    double p90;
    double max;
} BenchStats;

static int
bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;

    return (x > y) - (x < y);
}

/* Sorts @values in place; the p90 is the nearest rank. */
static BenchStats
bench_stats(double *values, guint n)
{
    BenchStats stats;

    g_assert(n > 0);
    qsort(values, n, sizeof(double), bench_compare_doubles);
    stats.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
    stats.p90 = values[(9 * n + 9) / 10 - 1];
    stats.max = values[n - 1];
    return stats;
}

static const char *
bench_verdict(gboolean met)
{
    return met ? "met" : "NOT met";
}

static gboolean
bench_write_all(int fd, const char *data, gsize len, GError **error)
{
    while (len > 0) {
        ssize_t done = write(fd, data, len);

        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0) {
            int saved = errno;

            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                        "cannot write the serial log: %s", g_strerror(saved));
            return FALSE;
        }
        data += done;
        len -= (gsize) done;
    }
    return TRUE;
}

/* A new boot: the log is emptied (as libvirt does at each start) and gets
 * the boot messages so far. */
static gboolean
bench_log_restart(BenchContext *ctx, GError **error)
{
    if (ftruncate(ctx->log_fd, 0) < 0) {
        int saved = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "cannot truncate the serial log '%s': %s", ctx->log, g_strerror(saved));
        return FALSE;
    }
    return bench_write_all(ctx->log_fd, ctx->boot_noise->str, ctx->boot_noise->len, error);
}

/* The guest's last words before it is ready, then the marker; *@t0 is
 * taken right before the marker's write(). */
static gboolean
bench_log_print_ready(BenchContext *ctx, gint64 *t0, GError **error)
{
    if (!bench_write_all(ctx->log_fd, ctx->late_noise->str, ctx->late_noise->len, error))
        return FALSE;
    *t0 = g_get_monotonic_time();
    return bench_write_all(ctx->log_fd, BENCH_MARKER_LINE, strlen(BENCH_MARKER_LINE), error);
}

static void
bench_make_noise(BenchContext *ctx)
{
    ctx->boot_noise = g_string_new(NULL);
    for (guint i = 0; i < 40; i++)
        g_string_append_printf(ctx->boot_noise,
                               "[%5u.%06u] bench-ready: boot message %u of the pretend guest, "
                               "as long as a kernel's\n", i / 10, (i * 24571u) % 1000000u, i);
    ctx->late_noise = g_string_new("[  OK  ] Started getty@ttyS0.service - Serial Getty on "
                                   "ttyS0.\n"
                                   "[  OK  ] Reached target multi-user.target - Multi-User "
                                   "System.\n"
                                   "vmrs-agent: eth0 up, address " BENCH_READY_IP "/24\n");
}

/*
 * Setup and teardown
 */

/* The log's directory in a temporary directory, and the test guest booted
 * under the system daemon. */
static gboolean
bench_setup_vm(BenchContext *ctx, GError **error)
{
    const char *guest_dir = g_getenv("VMC_GUEST_DIR") ? g_getenv("VMC_GUEST_DIR")
                                                      : "/var/tmp/virt-vmconfig-guest";
    g_autoptr(VmcConfig) cfg = vmc_config_new(BENCH_VM_NAME);
    g_autoptr(VmcState) state = NULL;

    ctx->tmp_dir = g_dir_make_tmp("vmc-bench-ready-XXXXXX", error);
    if (!ctx->tmp_dir)
        return FALSE;
    ctx->kernel = g_build_filename(guest_dir, "vmlinuz", NULL);
    ctx->initrd = g_build_filename(guest_dir, "initramfs.img", NULL);
    ctx->log_dir = g_build_filename(ctx->tmp_dir, "log", NULL);
    ctx->log = g_build_filename(ctx->log_dir, BENCH_VM_NAME ".serial", NULL);
    if (!g_file_test(ctx->kernel, G_FILE_TEST_EXISTS)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no test guest in %s: run tests/guest/build-guest.sh", guest_dir);
        return FALSE;
    }
    if (g_chmod(ctx->tmp_dir, 0755) < 0 || g_mkdir(ctx->log_dir, 0755) < 0) {
        int saved = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "cannot make directory '%s': %s", ctx->log_dir, g_strerror(saved));
        return FALSE;
    }

    vmc_config_set_namespace(cfg, "bench");
    vmc_config_set_kernel(cfg, ctx->kernel);
    vmc_config_set_initramfs(cfg, ctx->initrd);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.noready");
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 256);
    vmc_config_set_serial_log(cfg, ctx->log);

    ctx->driver = vmc_driver_open(BENCH_VM_URI, error);
    if (!ctx->driver)
        return FALSE;
    vmc_driver_set_accel(ctx->driver, VMC_ACCEL_QEMU);
    ctx->handle = vmc_driver_boot(ctx->driver, cfg, error);
    if (!ctx->handle)
        return FALSE;
    /* The file the boot's log is: libvirt makes it anew at the start. */
    ctx->log_fd = open(ctx->log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (ctx->log_fd < 0) {
        int saved = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "cannot open the serial log '%s': %s", ctx->log, g_strerror(saved));
        return FALSE;
    }
    state = vmc_driver_get_state(ctx->driver, ctx->handle, error);
    if (!state)
        return FALSE;
    if (vmc_state_get_kind(state) != VMC_STATE_RUNNING) {
        g_autofree char *what = vmc_state_to_string(state);

        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "VM '%s' on %s is %s after boot, not running", BENCH_VM_NAME,
                    BENCH_VM_URI, what);
        return FALSE;
    }
    return TRUE;
}

/* Runs `virsh -c URI COMMAND ARG` (no shell); it must exit 0. */
static gboolean
bench_virsh(const char *virsh, const char *uri, const char *command, const char *arg,
            char **out, GError **error)
{
    const char *argv[] = { virsh, "-c", uri, command, arg, NULL };
    g_autofree char *stdout_text = NULL;
    g_autofree char *stderr_text = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &stdout_text,
                      &stderr_text, &status, error))
        return FALSE;
    if (!g_spawn_check_exit_status(status, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "virsh -c %s %s %s failed: %s", uri,
                    command, arg, g_strstrip(stderr_text));
        return FALSE;
    }
    if (out)
        *out = g_strstrip(g_steal_pointer(&stdout_text));
    return TRUE;
}

/* A small domain on @uri, defined and never started: `virsh domstate` of
 * it pays the whole cost of the call. A random UUID: libvirt refuses to
 * redefine a domain of that name with another UUID, so nothing of anyone
 * else's is replaced. */
static gboolean
bench_define_baseline_domain(BenchContext *ctx, const char *uri, GError **error)
{
    g_autofree char *name = g_strdup_printf("vmc-bench-ready-%d", (int) getpid());
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'>\n"
        "  <name>%s</name>\n"
        "  <uuid>%s</uuid>\n"
        "  <description>virt-vmconfig bench-ready: polling baseline, never started; "
        "safe to undefine</description>\n"
        "  <memory unit='MiB'>64</memory>\n"
        "  <vcpu>1</vcpu>\n"
        "  <os><type>hvm</type></os>\n"
        "</domain>\n", name, uuid);

    ctx->domain_xml = g_build_filename(ctx->tmp_dir, "baseline-domain.xml", NULL);
    if (!g_file_set_contents(ctx->domain_xml, xml, -1, error))
        return FALSE;
    if (!bench_virsh(ctx->virsh, uri, "define", ctx->domain_xml, NULL, error))
        return FALSE;
    ctx->virsh_uri = g_strdup(uri);
    ctx->virsh_domain = g_steal_pointer(&name);
    ctx->virsh_defined = TRUE;
    return TRUE;
}

/* Picks where the baseline's virsh runs: @uri if given, else the system
 * daemon, else virsh's own test driver; checks it once (untimed).
 * FALSE without @error: there is no virsh, no baseline. */
static gboolean
bench_setup_baseline(BenchContext *ctx, const char *uri, GError **error)
{
    g_autoptr(GError) local = NULL;

    ctx->virsh = g_find_program_in_path("virsh");
    if (!ctx->virsh)
        return FALSE;

    if (g_strcmp0(uri, BENCH_TEST_URI) == 0) {
        ctx->virsh_uri = g_strdup(BENCH_TEST_URI);
        ctx->virsh_domain = g_strdup(BENCH_VIRSH_TEST_DOMAIN);
    } else if (uri) {
        if (!bench_define_baseline_domain(ctx, uri, error))
            return FALSE;
    } else if (!bench_define_baseline_domain(ctx, BENCH_SYSTEM_URI, &local)) {
        ctx->virsh_note = g_strdup_printf("%s not usable (%s)", BENCH_SYSTEM_URI,
                                          local->message);
        ctx->virsh_uri = g_strdup(BENCH_TEST_URI);
        ctx->virsh_domain = g_strdup(BENCH_VIRSH_TEST_DOMAIN);
    }
    return bench_virsh(ctx->virsh, ctx->virsh_uri, "domstate", ctx->virsh_domain,
                       &ctx->virsh_state, error);
}

static gboolean
bench_teardown(BenchContext *ctx)
{
    const char *files[] = { ctx->log, ctx->domain_xml };
    const char *dirs[] = { ctx->log_dir, ctx->tmp_dir };
    gboolean ok = TRUE;

    if (ctx->virsh_defined) {
        g_autoptr(GError) error = NULL;

        if (!bench_virsh(ctx->virsh, ctx->virsh_uri, "undefine", ctx->virsh_domain, NULL,
                         &error)) {
            g_printerr("bench-ready: %s\n", error->message);
            ok = FALSE;
        }
        ctx->virsh_defined = FALSE;
    }
    if (ctx->handle) {
        g_autoptr(GError) error = NULL;

        if (!vmc_driver_kill(ctx->driver, ctx->handle, &error) ||
            !vmc_driver_delete(ctx->driver, ctx->handle, VMC_DELETE_DEFAULT, &error)) {
            g_printerr("bench-ready: cannot delete VM '%s': %s\n", BENCH_VM_NAME,
                       error->message);
            ok = FALSE;
        }
        g_clear_pointer(&ctx->handle, vmc_handle_free);
    }
    if (ctx->log_fd >= 0)
        close(ctx->log_fd);
    ctx->log_fd = -1;
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        if (files[i] && g_unlink(files[i]) < 0 && errno != ENOENT) {
            g_printerr("bench-ready: cannot remove '%s': %s\n", files[i], g_strerror(errno));
            ok = FALSE;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (dirs[i] && g_rmdir(dirs[i]) < 0 && errno != ENOENT) {
            g_printerr("bench-ready: cannot remove '%s': %s\n", dirs[i], g_strerror(errno));
            ok = FALSE;
        }
    }
    return ok;
}

/*
 * inotify: vmc_driver_wait_ready()
 */

typedef struct {
    BenchContext *ctx;
    GMutex lock;
    GCond cond;
    guint reports;           /* progress reports so far */
    guint64 serial_bytes;    /* as the last one said */
    gboolean done;
    VmcState *state;
    GError *error;
    gint64 t1;
} BenchWaiter;

/* On the waiting thread: the wait's main loop runs and follows the log. */
static void
bench_waiter_on_progress(guint64 elapsed_ms, guint64 serial_bytes, gpointer user_data)
{
    BenchWaiter *w = user_data;

    g_mutex_lock(&w->lock);
    w->reports++;
    w->serial_bytes = serial_bytes;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static gpointer
bench_waiter_run(gpointer data)
{
    BenchWaiter *w = data;
    GError *error = NULL;
    VmcState *state;

    /* vmc_driver_wait_ready() with progress reports: the first report says
     * that the wait has started. */
    state = vmc_driver_wait_ready_full(w->ctx->driver, w->ctx->handle, BENCH_WAIT_TIMEOUT_MS,
                                       bench_waiter_on_progress, w, &error);
    w->t1 = g_get_monotonic_time();

    g_mutex_lock(&w->lock);
    w->state = state;
    w->error = error;
    w->done = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
    return NULL;
}

/* One round: a new boot's log, the wait in a thread, and once it follows
 * the log (a progress report says it has read the boot messages), the
 * guest's last lines and the marker. */
static gboolean
bench_inotify_round(BenchContext *ctx, double *delay_ms, GError **error)
{
    BenchWaiter w = { .ctx = ctx };
    g_autoptr(VmcState) state = NULL;
    GThread *thread;
    gboolean waiting;
    gboolean ok = TRUE;
    gint64 t0 = 0;

    /* A wait that saw the marker recorded it: a new boot has none. */
    if (!bench_log_restart(ctx, error) ||
        !bench_clear_ready_record(BENCH_VM_URI, BENCH_VM_NAME, error))
        return FALSE;
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    thread = g_thread_new("bench-wait", bench_waiter_run, &w);

    g_mutex_lock(&w.lock);
    while (!w.done && !(w.reports > 0 && w.serial_bytes >= ctx->boot_noise->len))
        g_cond_wait(&w.cond, &w.lock);
    waiting = !w.done;
    g_mutex_unlock(&w.lock);

    if (waiting) {
        g_usleep((gulong) g_rand_int_range(ctx->rand, 0, (gint32) BENCH_INOTIFY_JITTER_US));
        ok = bench_log_print_ready(ctx, &t0, error);
    }
    g_thread_join(thread);
    state = w.state;
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);

    if (!state) {
        if (ok)
            g_propagate_prefixed_error(error, w.error, "vmc_driver_wait_ready: ");
        else
            g_clear_error(&w.error);
        return FALSE;
    }
    if (!ok)
        return FALSE;
    if (!waiting) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "vmc_driver_wait_ready returned before the marker was written");
        return FALSE;
    }
    if (vmc_state_get_kind(state) != VMC_STATE_READY ||
        g_strcmp0(vmc_state_get_ip(state), BENCH_READY_IP) != 0) {
        g_autofree char *what = vmc_state_to_string(state);

        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "vmc_driver_wait_ready returned %s, not ready with IP %s", what,
                    BENCH_READY_IP);
        return FALSE;
    }
    *delay_ms = (double) (w.t1 - t0) / 1000.0;
    return TRUE;
}

/*
 * The baseline: every 200 ms, virsh domstate and the whole log
 */

typedef struct {
    BenchContext *ctx;
    GMutex lock;
    GCond cond;
    gboolean polled;         /* the first check is done: the loop runs */
    gboolean done;
    gboolean found;
    GError *error;
    gint64 t1;
    GArray *virsh_ms;        /* the time of each virsh call */
} BenchPoller;

/* A complete line with the marker in it, as `grep` would find it. */
static gboolean
bench_text_has_marker(const char *text)
{
    for (const char *p = text; (p = strstr(p, "VMRS_READY ")); p++) {
        const char *end = strchr(p, '\n');

        if (end && end > p + strlen("VMRS_READY "))
            return TRUE;
    }
    return FALSE;
}

/* One check, as such tools do it: is the domain there and what is its
 * state (any answer will do: the call is what costs), then the whole log
 * read for the marker. */
static gboolean
bench_poll_once(BenchPoller *p, gboolean *found, GError **error)
{
    BenchContext *ctx = p->ctx;
    g_autofree char *state = NULL;
    g_autofree char *text = NULL;
    gint64 start = g_get_monotonic_time();
    double ms;

    if (!bench_virsh(ctx->virsh, ctx->virsh_uri, "domstate", ctx->virsh_domain, &state, error))
        return FALSE;
    ms = (double) (g_get_monotonic_time() - start) / 1000.0;
    g_array_append_val(p->virsh_ms, ms);
    if (!g_file_get_contents(ctx->log, &text, NULL, error))
        return FALSE;
    *found = bench_text_has_marker(text);
    return TRUE;
}

/* The checks start every 200 ms (a late one starts at once): a loop that
 * slept 200 ms after each check would be slower by the check's own time. */
static gpointer
bench_poller_run(gpointer data)
{
    BenchPoller *p = data;
    GError *error = NULL;
    gboolean found = FALSE;
    gint64 start = g_get_monotonic_time();
    gint64 next = start;
    gint64 t1 = 0;

    for (;;) {
        gint64 now = g_get_monotonic_time();

        if (next > now)
            g_usleep((gulong) (next - now));
        next += BENCH_POLL_INTERVAL_US;
        if (next < g_get_monotonic_time())
            next = g_get_monotonic_time();
        if (!bench_poll_once(p, &found, &error))
            break;
        if (found) {
            t1 = g_get_monotonic_time();
            break;
        }
        if (g_get_monotonic_time() - start > BENCH_WAIT_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND) {
            g_set_error(&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "the polling loop saw no marker within %u ms", BENCH_WAIT_TIMEOUT_MS);
            break;
        }
        g_mutex_lock(&p->lock);
        p->polled = TRUE;
        g_cond_broadcast(&p->cond);
        g_mutex_unlock(&p->lock);
    }

    g_mutex_lock(&p->lock);
    p->done = TRUE;
    p->found = found;
    p->error = error;
    p->t1 = t1;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
    return NULL;
}

/* One round: a new boot's log, the loop in a thread, and once it runs, the
 * marker at a random phase of its 200 ms period. */
static gboolean
bench_polling_round(BenchContext *ctx, GArray *virsh_ms, double *delay_ms, GError **error)
{
    BenchPoller p = { .ctx = ctx, .virsh_ms = virsh_ms };
    GThread *thread;
    gboolean polling;
    gboolean ok = TRUE;
    gint64 t0 = 0;

    if (!bench_log_restart(ctx, error))
        return FALSE;
    g_mutex_init(&p.lock);
    g_cond_init(&p.cond);
    thread = g_thread_new("bench-poll", bench_poller_run, &p);

    g_mutex_lock(&p.lock);
    while (!p.done && !p.polled)
        g_cond_wait(&p.cond, &p.lock);
    polling = !p.done;
    g_mutex_unlock(&p.lock);

    if (polling) {
        g_usleep((gulong) g_rand_int_range(ctx->rand, 0, (gint32) BENCH_POLL_INTERVAL_US));
        ok = bench_log_print_ready(ctx, &t0, error);
    }
    g_thread_join(thread);
    g_mutex_clear(&p.lock);
    g_cond_clear(&p.cond);

    if (p.error) {
        if (ok)
            g_propagate_prefixed_error(error, p.error, "polling: ");
        else
            g_clear_error(&p.error);
        return FALSE;
    }
    if (!ok)
        return FALSE;
    if (!polling || !p.found) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "the polling loop ended before the marker was written");
        return FALSE;
    }
    *delay_ms = (double) (p.t1 - t0) / 1000.0;
    return TRUE;
}

/*
 * Both
 */

static gboolean
bench_run(BenchContext *ctx, guint rounds, guint poll_rounds, const char *virsh_uri,
          GError **error)
{
    g_autofree double *delays = g_new0(double, MAX(rounds, poll_rounds));
    g_autoptr(GArray) virsh_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GError) baseline_error = NULL;
    BenchStats ours, theirs, virsh_stats;
    gboolean baseline = poll_rounds > 0;

    if (!bench_setup_vm(ctx, error))
        return FALSE;
    if (baseline && !bench_setup_baseline(ctx, virsh_uri, &baseline_error)) {
        if (baseline_error) {
            g_propagate_prefixed_error(error, g_steal_pointer(&baseline_error),
                                       "polling baseline: ");
            return FALSE;
        }
        baseline = FALSE;
    }

    printf("ready delay: the test guest booted on %s (vmc.noready: it prints no marker); "
           "the benchmark appends to its serial log itself, as the guest would, and times "
           "from the write() of the marker line to the return of the wait\n", BENCH_VM_URI);
    fflush(stdout);

    for (guint r = 0; r < rounds; r++) {
        if (!bench_inotify_round(ctx, &delays[r], error)) {
            g_prefix_error(error, "inotify round %u: ", r + 1);
            return FALSE;
        }
        g_debug("inotify round %u: %.3f ms", r + 1, delays[r]);
    }
    ours = bench_stats(delays, rounds);
    printf("ready via inotify: median %.2f ms (p90 %.2f, max %.2f) over %u rounds "
           "(vmc_driver_wait_ready)\n", ours.median, ours.p90, ours.max, rounds);
    fflush(stdout);

    if (baseline) {
        for (guint r = 0; r < poll_rounds; r++) {
            if (!bench_polling_round(ctx, virsh_ms, &delays[r], error)) {
                g_prefix_error(error, "polling round %u: ", r + 1);
                return FALSE;
            }
            g_debug("polling round %u: %.3f ms", r + 1, delays[r]);
        }
        theirs = bench_stats(delays, poll_rounds);
        virsh_stats = bench_stats(&g_array_index(virsh_ms, double, 0), virsh_ms->len);
        printf("ready via %.0f ms polling of virsh domstate + log: median %.0f ms (p90 %.0f, "
               "max %.0f) over %u rounds\n", BENCH_POLL_INTERVAL_US / 1000.0, theirs.median,
               theirs.p90, theirs.max, poll_rounds);
        printf("  virsh -c %s domstate %s (%s%s): median %.1f ms per call (p90 %.1f, max %.1f) "
               "over %u calls%s%s\n", ctx->virsh_uri, ctx->virsh_domain,
               ctx->virsh_defined ? "a domain defined for this, never started: " : "",
               ctx->virsh_state, virsh_stats.median, virsh_stats.p90, virsh_stats.max,
               virsh_ms->len, ctx->virsh_note ? "; " : "",
               ctx->virsh_note ? ctx->virsh_note : "");
        printf("  ratio: polling / inotify = %.0fx (medians)\n", theirs.median / ours.median);
    } else if (poll_rounds > 0) {
        printf("ready via polling: virsh not found in PATH: no baseline (apt-get install "
               "libvirt-clients)\n");
    }
    printf("  goal median < %.0f ms: %s (median %.2f ms)\n", BENCH_GOAL_MEDIAN_MS,
           bench_verdict(ours.median < BENCH_GOAL_MEDIAN_MS), ours.median);
    fflush(stdout);
    return TRUE;
}

int
main(int argc, char **argv)
{
    g_auto(BenchContext) ctx = { .log_fd = -1 };
    int rounds = 50;
    int poll_rounds = 50;
    g_autofree char *virsh_uri = NULL;
    const GOptionEntry entries[] = {
        { "rounds", 'n', 0, G_OPTION_ARG_INT, &rounds,
          "rounds of vmc_driver_wait_ready (default 50)", "N" },
        { "poll-rounds", 'p', 0, G_OPTION_ARG_INT, &poll_rounds,
          "rounds of the polling baseline, 0 for none (default 50)", "P" },
        { "virsh-uri", 0, 0, G_OPTION_ARG_STRING, &virsh_uri,
          "where the baseline's virsh runs: a small domain is defined there, or on "
          "test:///default its 'test' domain is used (default: qemu:///system if a domain "
          "can be defined there, else test:///default)", "URI" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;
    gboolean ok;

    setlocale(LC_ALL, "");
    g_option_context_set_summary(
        octx, "Measure the delay from the guest printing 'VMRS_READY <ip>' on its serial "
              "console to vmc_driver_wait_ready() returning, beside a loop that every 200 ms "
              "runs 'virsh domstate' and reads the whole serial log.");
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        g_printerr("bench-ready: %s\n", error->message);
        return 2;
    }
    if (argc > 1 || rounds < 1 || poll_rounds < 0) {
        g_printerr("bench-ready: no arguments; --rounds must be at least 1, --poll-rounds at "
                   "least 0\n");
        return 2;
    }
    ctx.rand = g_rand_new();
    bench_make_noise(&ctx);

    ok = bench_run(&ctx, (guint) rounds, (guint) poll_rounds, virsh_uri, &error);
    if (!ok)
        g_printerr("bench-ready: %s\n", error->message);
    if (!bench_teardown(&ctx))
        ok = FALSE;
    return ok ? 0 : 1;
}
