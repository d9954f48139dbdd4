/*
 * vmc-lv-follow.c: the Ready follows of a public watch: the serial log
 * of each running VM scanned for the ready marker, and a QEMU killed by
 * a signal (its pid file, /proc, a pidfd) reported as a crash before
 * libvirt says so, unless the VM was marked as stopping
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-resources.h"

#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void
vmc_ready_follow_free(gpointer data)
{
    VmcReadyFollow *f = data;

    if (f->exit_source) {
        g_source_destroy(f->exit_source);
        g_source_unref(f->exit_source);
    }
    if (f->grace) {
        g_source_destroy(f->grace);
        g_source_unref(f->grace);
    }
    if (f->poll) {
        g_source_destroy(f->poll);
        g_source_unref(f->poll);
    }
    if (f->pidfd >= 0)
        close(f->pidfd);
    vmc_guest_output_free(f->output);
    vmc_ready_scanner_free(f->scanner);
    g_free(f->name);
    g_free(f->uuid);
    g_free(f);
}

static void
vmc_ready_follow_report(VmcReadyFollow *f, const char *ip)
{
    VmcEvent *ev;

    f->reported = TRUE;
    /* Posted, not called: the callback may remove the watch, and with it
     * this follow, which must not happen inside its own read. */
    ev = vmc_event_new(f->name, f->uuid,
                       vmc_state_new_full(VMC_STATE_READY, ip, VIR_DOMAIN_RUNNING, 0),
                       VMC_EVENT_READY, 0);
    vmc_post(f->watcher, ev, FALSE);
    vmc_event_unref(ev);
}

static void
vmc_ready_follow_on_serial(const char *data, gsize len, gboolean reset, gpointer user_data)
{
    VmcReadyFollow *f = user_data;

    if (reset) {
        vmc_ready_scanner_reset(f->scanner);
        f->reported = FALSE;
        return;
    }
    if (!data || f->reported || !vmc_ready_scanner_feed(f->scanner, data, len))
        return;
    vmc_ready_follow_report(f, vmc_ready_scanner_get_ip(f->scanner));
}

/* How often a watch asks a remote host's VM for its Ready record. */
#define VMC_FOLLOW_POLL_MS 500

static gboolean
vmc_ready_follow_poll(gpointer data)
{
    VmcReadyFollow *f = data;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *ip = NULL;

    if (f->reported)
        return G_SOURCE_CONTINUE;
    /* The hub, not the driver: it outlives a driver closed meanwhile, and
     * has no connection once closing. */
    conn = vmc_hub_conn(f->watcher->hub);
    dom = conn ? virDomainLookupByUUIDString(conn, f->uuid) : NULL;
    ip = dom ? vmc_domain_ready_record(dom, NULL) : NULL;
    virResetLastError();
    if (ip)
        vmc_ready_follow_report(f, ip);
    return G_SOURCE_CONTINUE;
}

/* The QEMU process of a running VM on this host, from the pid file that
 * libvirt keeps for it, checked against its command line; 0 if unknown. */
static int
vmc_qemu_pid(const char *uri, const char *name)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = g_strconcat(name, ".pid", NULL);
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    g_autofree char *cmdline_path = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *guest = g_strconcat("guest=", name, ",", NULL);
    gsize len;
    gint64 pid;

    if (g_str_has_prefix(uri, "qemu:///system"))
        dir = g_strdup("/run/libvirt/qemu");
    else if (g_str_has_prefix(uri, "qemu:///embed?root="))
        dir = g_build_filename(uri + strlen("qemu:///embed?root="), "run", "qemu", NULL);
    else
        return 0;
    path = g_build_filename(dir, file, NULL);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    pid = g_ascii_strtoll(text, NULL, 10);
    cmdline_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    if (pid <= 0 || !g_file_get_contents(cmdline_path, &cmdline, &len, NULL))
        return 0;
    for (gsize i = 0; i + 1 < len; i++) {
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    }
    return strstr(cmdline, guest) ? (int) pid : 0;
}

/* How a process that has exited but is not reaped yet ended: the signal
 * that killed it, or 0 (a normal exit, or no longer there to ask). */
static int
vmc_exit_signal(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *end;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(end = strrchr(text, ')')))
        return 0;
    /* After "pid (comm) ": field 3 (state) is fields[0], field 52 (exit code) fields[49]. */
    fields = g_strsplit(end + 2, " ", -1);
    if (g_strv_length(fields) < 50 || strcmp(fields[0], "Z") != 0)
        return 0;
    return (int) (g_ascii_strtoll(fields[49], NULL, 10) & 0x7f);
}

/* How long a signalled QEMU exit waits for libvirt's word that the VM
 * was shutting down (its SHUTDOWN event) before it counts as a crash. */
#define VMC_CRASH_GRACE_MS 250

static gboolean
vmc_ready_follow_report_crash(gpointer data)
{
    VmcReadyFollow *f = data;
    g_autofree char *reason = NULL;
    VmcEvent *ev;

    if (vmc_hub_is_stopping(f->watcher->hub, f->uuid))
        return G_SOURCE_REMOVE;
    reason = g_strdup_printf("QEMU was killed by signal %d (%s)", f->signal,
                             g_strsignal(f->signal));
    ev = vmc_event_new(f->name, f->uuid,
                       vmc_state_new_full(VMC_STATE_FAILED, reason, VIR_DOMAIN_SHUTOFF,
                                             VIR_DOMAIN_SHUTOFF_CRASHED),
                       VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
    f->crashed = TRUE;
    vmc_post(f->watcher, ev, TRUE);
    vmc_event_unref(ev);
    return G_SOURCE_REMOVE;
}

/* QEMU is gone. libvirt says so only after its cleanup, which on a host
 * whose init is slow to reap takes more than a second. A QEMU that died
 * of a signal while no shutdown was under way crashed, whatever libvirt
 * says later, so that is reported at once. libvirt itself ends QEMU with
 * SIGKILL at the end of a normal power-off or destroy: those come after
 * its SHUTDOWN event, or after our own kill, and are left to libvirt's
 * STOPPED event; a short grace lets a SHUTDOWN event still on its way
 * arrive first. */
static gboolean
vmc_ready_follow_on_exit(gint fd, GIOCondition condition, gpointer data)
{
    VmcReadyFollow *f = data;

    f->signal = vmc_exit_signal(f->pid);
    if (f->signal != SIGKILL && f->signal != SIGSEGV && f->signal != SIGABRT &&
        f->signal != SIGBUS && f->signal != SIGILL && f->signal != SIGFPE)
        return G_SOURCE_REMOVE;
    if (vmc_hub_is_stopping(f->watcher->hub, f->uuid))
        return G_SOURCE_REMOVE;
    f->grace = g_timeout_source_new(VMC_CRASH_GRACE_MS);
    g_source_set_callback(f->grace, vmc_ready_follow_report_crash, f, NULL);
    g_source_attach(f->grace, f->watcher->context);
    return G_SOURCE_REMOVE;
}

static void
vmc_ready_follow_watch_exit(VmcReadyFollow *f, const char *uri)
{
    f->pid = vmc_qemu_pid(uri, f->name);
    if (f->pid <= 0)
        return;
    f->pidfd = (int) syscall(SYS_pidfd_open, f->pid, 0);
    if (f->pidfd < 0)
        return;
    f->exit_source = g_unix_fd_source_new(f->pidfd, G_IO_IN);
    g_source_set_callback(f->exit_source, G_SOURCE_FUNC(vmc_ready_follow_on_exit), f, NULL);
    g_source_attach(f->exit_source, f->watcher->context);
}

void
vmc_watcher_follow(VmcWatcher *w, VmcDriver *driver, const char *name, const char *uuid)
{
    g_autofree char *log = NULL;
    VmcReadyFollow *f;

    if (g_hash_table_contains(w->follows, uuid))
        return;
    log = vmc_driver_serial_log_of(driver, uuid);
    if (!log && driver->local && !driver->in_process)
        return;
    f = g_new0(VmcReadyFollow, 1);
    f->watcher = w;
    f->name = g_strdup(name);
    f->uuid = g_strdup(uuid);
    f->scanner = vmc_ready_scanner_new();
    f->pidfd = -1;
    g_hash_table_insert(w->follows, f->uuid, f);
    if (driver->local && !driver->in_process)
        vmc_ready_follow_watch_exit(f, driver->hub->uri);
    /* The log on this host; elsewhere the console this driver's boot keeps
     * (a watch opens none: it would hold every VM's console), and the
     * Ready record that whoever holds it writes. */
    if (!driver->in_process)
        f->output = vmc_guest_output_new(driver, uuid, log, w->context,
                                         vmc_ready_follow_on_serial, f, VMC_OUTPUT_KEPT_ONLY,
                                         NULL);
    if (!driver->local || driver->in_process) {
        f->poll = g_timeout_source_new(VMC_FOLLOW_POLL_MS);
        g_source_set_callback(f->poll, vmc_ready_follow_poll, f, NULL);
        g_source_attach(f->poll, w->context);
    }
}

void
vmc_watcher_track(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev, gboolean early)
{
    int event = vmc_event_get_libvirt_event(ev);

    if (!w->follows)
        return;
    if (event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_RESUMED)
        vmc_watcher_follow(w, driver, vmc_event_get_name(ev), vmc_event_get_uuid(ev));
    else if ((vmc_event_ends_run(ev) && !early) || event == VIR_DOMAIN_EVENT_UNDEFINED)
        g_hash_table_remove(w->follows, vmc_event_get_uuid(ev));
}

/* A public watch's hook before its callback (see VmcWatcher): libvirt's
 * own word on a crash reported early is dropped, said once being enough;
 * else the watch's follows are kept up with the event. */
gboolean
vmc_watcher_before_delivery(VmcWatcher *w, VmcDriver *driver, const VmcEvent *ev,
                            gboolean early)
{
    if (!w->follows)
        return TRUE;   /* dropped when the watch was removed */
    if (vmc_event_ends_run(ev) && !early) {
        VmcReadyFollow *f = g_hash_table_lookup(w->follows, vmc_event_get_uuid(ev));

        if (f && f->crashed) {
            g_hash_table_remove(w->follows, vmc_event_get_uuid(ev));
            return FALSE;
        }
    }
    vmc_watcher_track(w, driver, ev, early);
    return TRUE;
}
