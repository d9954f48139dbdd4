/*
 * vmc-lv-lock.c: the per-name job lock that every operation changing a VM
 * takes (connection stratum)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-connection.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Boots of one name on one host are serialized across threads and
 * processes (two virt-vmconfig runs): libvirt has no "define unless
 * running", so a losing boot would redefine the winner's running VM.
 * Within the process, a lock per name (boots of other names go on); across
 * processes, an advisory lock file per host URI and name, removed by the
 * boot that holds it when it is done. Neither waits longer than
 * VMC_BOOT_LOCK_TIMEOUT_MS. A lock file that cannot be made leaves the
 * in-process lock alone. */
#define VMC_BOOT_LOCK_TIMEOUT_MS 60000

typedef struct {
    gboolean held;
    guint users;
    GCond cond;
} VmcNameLock;

struct _VmcBootLock {
    VmcDriver *driver;
    char *name;
    VmcNameLock *name_lock;   /* NULL until held */
    char *path;
    int fd;
};

void
vmc_name_lock_free(gpointer data)
{
    VmcNameLock *nl = data;

    g_cond_clear(&nl->cond);
    g_free(nl);
}

static char *
vmc_boot_lock_path(VmcDriver *driver, const char *name)
{
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, driver->hub->uri,
                                                              -1);
    g_autofree char *dir = g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(),
                                            "virt-vmconfig", "locks", NULL);
    g_autofree char *file = g_strdup_printf("%.16s-%s.lock", uri_hash, name);

    if (g_mkdir_with_parents(dir, 0700) < 0)
        return NULL;
    return g_build_filename(dir, file, NULL);
}

/* The lock file, once flock() holds it and it is still the file of that
 * name (the holder before removes it when done); -1 when it cannot be
 * made; -2 past @deadline; -3 once @cancellable is cancelled. */
static int
vmc_boot_lock_file(const char *path, gint64 deadline, GCancellable *cancellable)
{
    for (;;) {
        struct stat held, named;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
            return -1;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                close(fd);
                return -1;
            }
            if (g_get_monotonic_time() > deadline) {
                close(fd);
                return -2;
            }
            if (g_cancellable_is_cancelled(cancellable)) {
                close(fd);
                return -3;
            }
            g_usleep(20 * 1000);
        }
        if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
            return fd;
        close(fd);   /* removed by the holder before: take the new one */
    }
}

void
vmc_boot_lock_release(VmcBootLock *lock)
{
    VmcDriver *driver = lock->driver;

    if (lock->fd >= 0) {
        g_unlink(lock->path);
        close(lock->fd);
    }
    if (lock->name_lock) {
        g_mutex_lock(&driver->boot_lock);
        lock->name_lock->held = FALSE;
        g_cond_signal(&lock->name_lock->cond);
        if (--lock->name_lock->users == 0)
            g_hash_table_remove(driver->name_locks, lock->name);
        g_mutex_unlock(&driver->boot_lock);
    }
    g_free(lock->name);
    g_free(lock->path);
    g_free(lock);
}

/* The wait for the lock looks at @cancellable this often. */
#define VMC_BOOT_LOCK_CANCEL_POLL_US (20 * G_TIME_SPAN_MILLISECOND)

static VmcBootLock *
vmc_boot_lock_acquire_within(VmcDriver *driver, const char *name, guint timeout_ms,
                             GCancellable *cancellable, GError **error)
{
    g_autoptr(VmcBootLock) lock = g_new0(VmcBootLock, 1);
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    VmcNameLock *nl;

    lock->driver = driver;
    lock->name = g_strdup(name);
    lock->fd = -1;

    g_mutex_lock(&driver->boot_lock);
    nl = g_hash_table_lookup(driver->name_locks, name);
    if (!nl) {
        nl = g_new0(VmcNameLock, 1);
        g_cond_init(&nl->cond);
        g_hash_table_insert(driver->name_locks, g_strdup(name), nl);
    }
    nl->users++;
    while (nl->held) {
        gint64 until = cancellable ? MIN(deadline, g_get_monotonic_time() +
                                                       VMC_BOOT_LOCK_CANCEL_POLL_US)
                                   : deadline;
        gboolean cancelled;

        g_cond_wait_until(&nl->cond, &driver->boot_lock, until);
        if (!nl->held)
            break;
        cancelled = g_cancellable_is_cancelled(cancellable);
        if (cancelled || g_get_monotonic_time() >= deadline) {
            if (--nl->users == 0)
                g_hash_table_remove(driver->name_locks, name);
            g_mutex_unlock(&driver->boot_lock);
            if (cancelled)
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                            "VM '%s': the boot was cancelled while another boot of it ran; "
                            "nothing was changed", name);
            else
                vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                         "VM '%s': another boot of it in this process did not finish in %d s; "
                         "nothing was changed", name, VMC_BOOT_LOCK_TIMEOUT_MS / 1000);
            return NULL;
        }
    }
    nl->held = TRUE;
    lock->name_lock = nl;
    g_mutex_unlock(&driver->boot_lock);

    lock->path = vmc_boot_lock_path(driver, name);
    if (lock->path) {
        lock->fd = vmc_boot_lock_file(lock->path, deadline, cancellable);
        if (lock->fd == -3) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "VM '%s': the boot was cancelled while another process booted it; "
                        "nothing was changed", name);
            lock->fd = -1;
            return NULL;
        }
        if (lock->fd == -2) {
            vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                     "VM '%s': another process has been booting it for %d s (it holds %s); "
                     "nothing was changed", name, VMC_BOOT_LOCK_TIMEOUT_MS / 1000, lock->path);
            lock->fd = -1;
            return NULL;
        }
    }
    return g_steal_pointer(&lock);
}

VmcBootLock *
vmc_boot_lock_acquire(VmcDriver *driver, const char *name, GCancellable *cancellable,
                      GError **error)
{
    return vmc_boot_lock_acquire_within(driver, name, VMC_BOOT_LOCK_TIMEOUT_MS, cancellable,
                                        error);
}

/* The boot lock of @name if no boot holds it now, else NULL. */
VmcBootLock *
vmc_boot_lock_try(VmcDriver *driver, const char *name)
{
    return vmc_boot_lock_acquire_within(driver, name, 0, NULL, NULL);
}
