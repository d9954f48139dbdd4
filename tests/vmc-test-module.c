/*
 * vmc-test-module.c: a driver module built at an older ABI, for
 * test-abi-modules.c
 *
 * Built once per ABI version (TEST_MODULE_ABI, TEST_MODULE_NAME): its
 * table has the members of that version only, and is placed at the very
 * end of a page whose next page is mapped PROT_NONE, so that a core that
 * reads one byte past the table of the module's version crashes. Its VMs
 * live in memory. Every member records its own name, which the test reads
 * with vmc_test_module_last_call(), so that it sees which member each call
 * of the core reached. From ABI 5 on its console echoes what is sent to
 * it, from an idle source on the opener's thread-default main context.
 * TEST_MODULE_SPARSE builds a module of the current ABI that sets only
 * open, close, get_uri and boot.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vmconfig/vmconfig.h>
#include <vmconfig/vmc-driver-plugin.h>

#include <gio/gio.h>
#include <gmodule.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    VmcDriverHeader header;
    char *uri;
    GMutex lock;
    GCond cond;
    char last[64];
    GHashTable *vms;       /* name -> VmcStateKind */
    gboolean hold;         /* wait_until_ready waits for vmc_test_module_release() */
    gboolean waiting;      /* a held wait is under way */
    guint console;         /* the open console's id, or 0 */
    guint consoles;        /* how many were opened */
    VmcConsoleFunc console_func;
    gpointer console_data;
    GMainContext *console_context;
} TestDriver;

static gint test_closed;

G_MODULE_EXPORT const VmcDriverOps *vmc_driver_plugin_get_ops(guint abi_version, GError **error);
G_MODULE_EXPORT const char *vmc_test_module_last_call(VmcDriver *driver);
G_MODULE_EXPORT int vmc_test_module_closed(void);
G_MODULE_EXPORT void vmc_test_module_hold(VmcDriver *driver);
G_MODULE_EXPORT void vmc_test_module_wait_held(VmcDriver *driver);
G_MODULE_EXPORT void vmc_test_module_release(VmcDriver *driver);

static void
called(VmcDriver *driver, const char *member)
{
    TestDriver *d = (TestDriver *) driver;

    g_mutex_lock(&d->lock);
    g_strlcpy(d->last, member, sizeof d->last);
    g_mutex_unlock(&d->lock);
}

static G_GNUC_UNUSED gboolean
cancelled(GCancellable *cancellable, GError **error)
{
    if (!g_cancellable_is_cancelled(cancellable))
        return FALSE;
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled in the module");
    return TRUE;
}

static VmcHandle *
handle_of(const char *name, VmcStateKind kind)
{
    return vmc_handle_new(name, "abi-test", "4f3b6e0c-5d1a-4c1e-9d7a-2b8e6f0a1c3d", NULL, 0,
                          vmc_state_new_full(kind, NULL, 0, 0));
}

static G_GNUC_UNUSED gboolean
set_kind(VmcDriver *driver, const VmcHandle *handle, VmcStateKind kind, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    const char *name = vmc_handle_get_name(handle);
    gboolean known;

    g_mutex_lock(&d->lock);
    known = g_hash_table_contains(d->vms, name);
    if (known)
        g_hash_table_insert(d->vms, g_strdup(name), GINT_TO_POINTER(kind));
    g_mutex_unlock(&d->lock);
    if (!known)
        g_set_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND, "no VM '%s'", name);
    return known;
}

static VmcDriver *
test_open(const char *uri, GError **error);

static void
test_close(VmcDriver *driver)
{
    TestDriver *d = (TestDriver *) driver;

    g_hash_table_unref(d->vms);
    if (d->console_context)
        g_main_context_unref(d->console_context);
    g_free(d->uri);
    g_mutex_clear(&d->lock);
    g_cond_clear(&d->cond);
    g_free(d);
    g_atomic_int_inc(&test_closed);
}

static const char *
test_get_uri(VmcDriver *driver)
{
    return ((TestDriver *) driver)->uri;
}

static VmcHandle *
test_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    TestDriver *d = (TestDriver *) driver;

    called(driver, "boot");
    g_mutex_lock(&d->lock);
    g_hash_table_insert(d->vms, g_strdup(vmc_config_get_name(cfg)),
                        GINT_TO_POINTER(VMC_STATE_RUNNING));
    g_mutex_unlock(&d->lock);
    return handle_of(vmc_config_get_name(cfg), VMC_STATE_RUNNING);
}

#ifndef TEST_MODULE_SPARSE
static gboolean
test_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    called(driver, "stop");
    return set_kind(driver, handle, VMC_STATE_STOPPED, error);
}

static gboolean
test_kill(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    called(driver, "kill");
    return set_kind(driver, handle, VMC_STATE_STOPPED, error);
}

static gboolean
test_pause(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    called(driver, "pause");
    return set_kind(driver, handle, VMC_STATE_PAUSED, error);
}

static gboolean
test_resume(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    called(driver, "resume");
    return set_kind(driver, handle, VMC_STATE_RUNNING, error);
}

static VmcState *
test_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    gpointer kind = NULL;
    gboolean known;

    called(driver, "get_state");
    g_mutex_lock(&d->lock);
    known = g_hash_table_lookup_extended(d->vms, vmc_handle_get_name(handle), NULL, &kind);
    g_mutex_unlock(&d->lock);
    if (!known) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND, "no VM '%s'",
                    vmc_handle_get_name(handle));
        return NULL;
    }
    return vmc_state_new_full(GPOINTER_TO_INT(kind), NULL, 0, 0);
}

/* Every wait answers Ready at once with this IP (the address block of
 * documentation), unless the test holds it. */
static VmcState *
ready(void)
{
    return vmc_state_new_full(VMC_STATE_READY, "192.0.2.7", 1, 1);
}

static VmcState *
test_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    called(driver, "wait_ready");
    return ready();
}

static VmcState *
test_wait_ready_full(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                     VmcWaitProgressFunc progress, gpointer user_data, GError **error)
{
    called(driver, "wait_ready_full");
    if (progress)
        progress(0, 0, user_data);
    return ready();
}

static gboolean
test_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    gboolean known;

    called(driver, "remove");
    g_mutex_lock(&d->lock);
    known = g_hash_table_remove(d->vms, vmc_handle_get_name(handle));
    g_mutex_unlock(&d->lock);
    if (!known)
        g_set_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND, "no VM '%s'",
                    vmc_handle_get_name(handle));
    return known;
}

static VmcHandle *
test_lookup(VmcDriver *driver, const char *name, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    gpointer kind = NULL;
    gboolean known;

    called(driver, "lookup");
    g_mutex_lock(&d->lock);
    known = g_hash_table_lookup_extended(d->vms, name, NULL, &kind);
    g_mutex_unlock(&d->lock);
    if (!known) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND, "no VM '%s'", name);
        return NULL;
    }
    return handle_of(name, GPOINTER_TO_INT(kind));
}

static GPtrArray *
test_list(VmcDriver *driver, const char *ns, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_handle_free);
    GHashTableIter iter;
    gpointer name, kind;

    called(driver, "list");
    g_mutex_lock(&d->lock);
    g_hash_table_iter_init(&iter, d->vms);
    while (g_hash_table_iter_next(&iter, &name, &kind))
        g_ptr_array_add(all, handle_of(name, GPOINTER_TO_INT(kind)));
    g_mutex_unlock(&d->lock);
    return all;
}

static gboolean
test_is_local(VmcDriver *driver)
{
    return FALSE;
}

static VmcAccel
test_get_accel(VmcDriver *driver)
{
    return VMC_ACCEL_QEMU;
}

static void
test_set_accel(VmcDriver *driver, VmcAccel accel)
{
    called(driver, "set_accel");
}

#if TEST_MODULE_ABI >= 2
static GPtrArray *
test_list_all(VmcDriver *driver, GError **error)
{
    GPtrArray *all = test_list(driver, NULL, error);

    called(driver, "list_all");
    return all;
}

static VmcConfig *
test_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
           gpointer user_data, GError **error)
{
    called(driver, "stage");
    return vmc_config_copy(cfg);
}

static char **
test_gc_staged(VmcDriver *driver, GError **error)
{
    called(driver, "gc_staged");
    return g_new0(char *, 1);
}
#endif

#if TEST_MODULE_ABI >= 3
static VmcHandle *
test_boot_cancellable(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                      GError **error)
{
    VmcHandle *handle;

    if (cancelled(cancellable, error)) {
        called(driver, "boot_cancellable");
        return NULL;
    }
    handle = test_boot(driver, cfg, error);
    called(driver, "boot_cancellable");
    return handle;
}

static gboolean
test_stop_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      GCancellable *cancellable, GError **error)
{
    gboolean ok = !cancelled(cancellable, error) && test_stop(driver, handle, timeout_ms, error);

    called(driver, "stop_cancellable");
    return ok;
}

static VmcState *
test_wait_ready_cancellable(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                            VmcWaitProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, GError **error)
{
    called(driver, "wait_ready_cancellable");
    return cancelled(cancellable, error) ? NULL : ready();
}

static gboolean
test_remove_cancellable(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                        GCancellable *cancellable, GError **error)
{
    gboolean ok = !cancelled(cancellable, error) && test_remove(driver, handle, flags, error);

    called(driver, "remove_cancellable");
    return ok;
}

static VmcConfig *
test_stage_cancellable(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
                       gpointer user_data, GCancellable *cancellable, GError **error)
{
    called(driver, "stage_cancellable");
    return cancelled(cancellable, error) ? NULL : vmc_config_copy(cfg);
}
#endif

#if TEST_MODULE_ABI >= 4
/* Held (vmc_test_module_hold()), it waits until released or cancelled. */
static VmcState *
test_wait_until_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      VmcWaitFlags flags, VmcWaitProgressFunc progress, gpointer user_data,
                      GCancellable *cancellable, GError **error)
{
    TestDriver *d = (TestDriver *) driver;

    called(driver, "wait_until_ready");
    if (flags != VMC_WAIT_DEFAULT) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "flag 0x%x", (guint) flags);
        return NULL;
    }
    if (progress)
        progress(0, 0, user_data);
    g_mutex_lock(&d->lock);
    d->waiting = d->hold;
    g_cond_broadcast(&d->cond);
    while (d->hold && !g_cancellable_is_cancelled(cancellable))
        g_cond_wait_until(&d->cond, &d->lock, g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND);
    d->waiting = FALSE;
    g_mutex_unlock(&d->lock);
    return cancelled(cancellable, error) ? NULL : ready();
}
#endif

#if TEST_MODULE_ABI >= 5
static guint
test_open_console(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                  VmcConsoleFunc func, gpointer user_data, GError **error)
{
    TestDriver *d = (TestDriver *) driver;

    called(driver, flags & VMC_CONSOLE_FORCE ? "open_console force" : "open_console");
    if (d->console && !(flags & VMC_CONSOLE_FORCE)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED,
                    "the console of VM '%s' is held by another client",
                    vmc_handle_get_name(handle));
        return 0;
    }
    if (d->console_context)
        g_main_context_unref(d->console_context);
    d->console = ++d->consoles;
    d->console_func = func;
    d->console_data = user_data;
    d->console_context = g_main_context_ref_thread_default();
    return d->console;
}

typedef struct {
    TestDriver *driver;
    guint console;
    GBytes *bytes;
} TestEcho;

static void
test_echo_free(gpointer data)
{
    TestEcho *echo = data;

    g_bytes_unref(echo->bytes);
    g_free(echo);
}

static gboolean
test_echo(gpointer data)
{
    TestEcho *echo = data;
    gsize len;
    const char *bytes = g_bytes_get_data(echo->bytes, &len);

    if (echo->driver->console == echo->console)
        echo->driver->console_func(bytes, len, echo->driver->console_data);
    return G_SOURCE_REMOVE;
}

static gboolean
test_console_send(VmcDriver *driver, guint id, const char *data, gsize len, GError **error)
{
    TestDriver *d = (TestDriver *) driver;
    TestEcho *echo;
    g_autoptr(GSource) idle = NULL;

    called(driver, "console_send");
    if (id != d->console) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED, "no console %u", id);
        return FALSE;
    }
    echo = g_new0(TestEcho, 1);
    echo->driver = d;
    echo->console = id;
    echo->bytes = g_bytes_new(data, len);
    idle = g_idle_source_new();
    g_source_set_callback(idle, test_echo, echo, test_echo_free);
    g_source_attach(idle, d->console_context);
    return TRUE;
}

static void
test_close_console(VmcDriver *driver, guint id)
{
    TestDriver *d = (TestDriver *) driver;

    called(driver, "close_console");
    if (id == d->console) {
        d->console = 0;
        g_clear_pointer(&d->console_context, g_main_context_unref);
    }
}
#endif
#endif /* !TEST_MODULE_SPARSE */

static const VmcDriverOps test_ops = {
    .abi_version = TEST_MODULE_ABI,
    .name = TEST_MODULE_NAME,
    .open = test_open,
    .close = test_close,
    .boot = test_boot,
    .get_uri = test_get_uri,
#ifndef TEST_MODULE_SPARSE
    .stop = test_stop,
    .kill = test_kill,
    .pause = test_pause,
    .resume = test_resume,
    .get_state = test_get_state,
    .wait_ready = test_wait_ready,
    .remove = test_remove,
    .lookup = test_lookup,
    .list = test_list,
    .is_local = test_is_local,
    .get_accel = test_get_accel,
    .set_accel = test_set_accel,
    .wait_ready_full = test_wait_ready_full,
#if TEST_MODULE_ABI >= 2
    .list_all = test_list_all,
    .stage = test_stage,
    .gc_staged = test_gc_staged,
#endif
#if TEST_MODULE_ABI >= 3
    .boot_cancellable = test_boot_cancellable,
    .stop_cancellable = test_stop_cancellable,
    .wait_ready_cancellable = test_wait_ready_cancellable,
    .remove_cancellable = test_remove_cancellable,
    .stage_cancellable = test_stage_cancellable,
#endif
#if TEST_MODULE_ABI >= 4
    .wait_until_ready = test_wait_until_ready,
#endif
#if TEST_MODULE_ABI >= 5
    .open_console = test_open_console,
    .console_send = test_console_send,
    .close_console = test_close_console,
#endif
#endif /* !TEST_MODULE_SPARSE */
};

static VmcDriver *
test_open(const char *uri, GError **error)
{
    TestDriver *d = g_new0(TestDriver, 1);

    d->header.ops = vmc_driver_plugin_get_ops(TEST_MODULE_ABI, NULL);
    d->uri = g_strdup(uri ? uri : "test-module:///");
    g_mutex_init(&d->lock);
    g_cond_init(&d->cond);
    d->vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return (VmcDriver *) d;
}

/* The bytes of a table of ABI @abi: where the next version's members
 * begin. */
static gsize
table_size(guint abi)
{
    switch (abi) {
    case 1:
        return offsetof(VmcDriverOps, list_all);
    case 2:
        return offsetof(VmcDriverOps, boot_cancellable);
    case 3:
        return offsetof(VmcDriverOps, wait_until_ready);
    case 4:
        return offsetof(VmcDriverOps, open_console);
    default:
        return sizeof(VmcDriverOps);
    }
}

/* The table, ending where a PROT_NONE page begins. */
static gpointer
make_guarded_table(gpointer data)
{
    gsize page = (gsize) sysconf(_SC_PAGESIZE);
    gsize size = table_size(TEST_MODULE_ABI);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED)
        return NULL;
    memcpy(map + page - size, &test_ops, size);
    if (mprotect(map, page, PROT_READ) != 0 || mprotect(map + page, page, PROT_NONE) != 0)
        return NULL;
    return map + page - size;
}

const VmcDriverOps *
vmc_driver_plugin_get_ops(guint abi_version, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    const VmcDriverOps *ops;

    if (abi_version < 1 || abi_version > TEST_MODULE_ABI) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "the %s test module serves driver ABI 1 to %u, not %u", TEST_MODULE_NAME,
                    (guint) TEST_MODULE_ABI, abi_version);
        return NULL;
    }
    ops = g_once(&once, make_guarded_table, NULL);
    if (!ops)
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR, "cannot map the table");
    return ops;
}

const char *
vmc_test_module_last_call(VmcDriver *driver)
{
    return ((TestDriver *) driver)->last;
}

int
vmc_test_module_closed(void)
{
    return g_atomic_int_get(&test_closed);
}

void
vmc_test_module_hold(VmcDriver *driver)
{
    TestDriver *d = (TestDriver *) driver;

    g_mutex_lock(&d->lock);
    d->hold = TRUE;
    g_mutex_unlock(&d->lock);
}

/* Until a held wait is under way. */
void
vmc_test_module_wait_held(VmcDriver *driver)
{
    TestDriver *d = (TestDriver *) driver;

    g_mutex_lock(&d->lock);
    while (!d->waiting)
        g_cond_wait(&d->cond, &d->lock);
    g_mutex_unlock(&d->lock);
}

void
vmc_test_module_release(VmcDriver *driver)
{
    TestDriver *d = (TestDriver *) driver;

    g_mutex_lock(&d->lock);
    d->hold = FALSE;
    g_cond_broadcast(&d->cond);
    g_mutex_unlock(&d->lock);
}
