/*
 * test-abi-modules.c: the core drives modules of every driver ABI, and a
 * driver outlives the _async calls made on it
 *
 * The modules (vmc-test-module.c) are built at ABI 1, 2, 3, 4 and 5, each
 * with a table that ends where an unreadable page begins, and one of ABI 5
 * that sets only open, close, get_uri and boot. Each call of the public
 * API is made on each, and the member it reached is read back from the
 * module: the adapter of vmc-driver-dispatch.c picks the member of the
 * module's version, refuses a call whose member is missing with
 * G_IO_ERROR_NOT_SUPPORTED naming the driver and the call, and never reads
 * past the table (that would crash the test).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vmconfig/vmconfig.h>

#include <gio/gio.h>
#include <gmodule.h>

typedef const char *(*LastCallFunc)(VmcDriver *driver);
typedef int (*ClosedFunc)(void);
typedef void (*DriverFunc)(VmcDriver *driver);

typedef struct {
    VmcDriver *driver;
    LastCallFunc last_call;
    ClosedFunc closed;
    DriverFunc hold, wait_held, release;
    guint abi;
} Module;

static void
module_open(Module *m, const char *name, guint abi)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *file = g_strdup_printf("vmc-driver-%s.so", name);
    g_autofree char *path = g_build_filename(g_getenv("VMC_DRIVER_DIR"), file, NULL);
    GModule *module;

    m->abi = abi;
    m->driver = vmc_driver_open_with(name, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(m->driver);
    /* The module the core loaded: dlopen() of it again finds it. */
    module = g_module_open(path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
    g_assert_nonnull(module);
    g_assert_true(g_module_symbol(module, "vmc_test_module_last_call", (gpointer *) &m->last_call));
    g_assert_true(g_module_symbol(module, "vmc_test_module_closed", (gpointer *) &m->closed));
    g_assert_true(g_module_symbol(module, "vmc_test_module_hold", (gpointer *) &m->hold));
    g_assert_true(g_module_symbol(module, "vmc_test_module_wait_held", (gpointer *) &m->wait_held));
    g_assert_true(g_module_symbol(module, "vmc_test_module_release", (gpointer *) &m->release));
    g_module_make_resident(module);
    g_module_close(module);
}

static VmcConfig *
make_config(const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *json = g_strdup_printf("{\"name\": \"%s\", \"namespace\": \"abi-test\", "
                                            "\"kernel\": \"/boot/vmlinuz\", \"cpus\": 1, "
                                            "\"memory_mb\": 256}", name);
    VmcConfig *cfg = vmc_config_load_data(json, -1, &error);

    g_assert_no_error(error);
    return cfg;
}

/* ---- the async calls, run to their end on a main context of the test -- */

typedef struct {
    GAsyncResult *result;
    gboolean driver_open_in_callback;
    Module *module;
    int closed_before;
} Async;

static void
async_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Async *a = data;

    a->result = g_object_ref(result);
    if (a->module)
        a->driver_open_in_callback = a->module->closed() == a->closed_before;
}

static GAsyncResult *
async_wait(Async *a)
{
    while (!a->result)
        g_main_context_iteration(NULL, TRUE);
    return a->result;
}

static void
assert_unsupported(GError *error, const char *driver, const char *call)
{
    g_autofree char *drv = g_strdup_printf("'%s' driver", driver);

    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull(strstr(error->message, drv));
    g_assert_nonnull(strstr(error->message, call));
}

static void
progress_seen(guint64 elapsed_ms, guint64 serial_bytes, gpointer data)
{
    (*(int *) data)++;
}

static void
no_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
}

static void
no_serial(const char *data, gsize len, gpointer user_data)
{
}

typedef struct {
    GString *got;
    guint ends;
} ConsoleSeen;

static void
console_seen(const char *data, gsize len, gpointer user_data)
{
    ConsoleSeen *seen = user_data;

    if (data)
        g_string_append_len(seen->got, data, (gssize) len);
    else
        seen->ends++;
}

/* The console of ABI 5: open, send (the module echoes it), close; an
 * unknown flag and a missing member are refused before the module is
 * called. */
static void
check_console(Module *m, const char *name, const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) got = g_string_new(NULL);
    ConsoleSeen seen = { got, 0 };
    g_autofree char *before = g_strdup(m->last_call(m->driver));
    guint id, other;

    g_assert_cmpuint(vmc_driver_open_console(m->driver, handle, 1 << 7, console_seen, &seen,
                                             &error), ==, 0);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull(strstr(error->message, "abi-vm"));
    g_assert_nonnull(strstr(error->message, "0x80"));
    g_assert_cmpstr(m->last_call(m->driver), ==, before);
    g_clear_error(&error);

    id = vmc_driver_open_console(m->driver, handle, VMC_CONSOLE_DEFAULT, console_seen, &seen,
                                 &error);
    if (m->abi < 5) {
        g_assert_cmpuint(id, ==, 0);
        assert_unsupported(error, name, "vmc_driver_open_console()");
        g_assert_nonnull(strstr(error->message, "'open_console'"));
        g_clear_error(&error);
        g_assert_false(vmc_driver_console_send(m->driver, 1, "x", 1, &error));
        assert_unsupported(error, name, "vmc_driver_console_send()");
        g_assert_nonnull(strstr(error->message, "'console_send'"));
        g_clear_error(&error);
        vmc_driver_close_console(m->driver, 1);
        g_assert_cmpstr(m->last_call(m->driver), ==, before);
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpuint(id, !=, 0);
    g_assert_cmpstr(m->last_call(m->driver), ==, "open_console");
    /* Held: refused without FORCE, taken with it. */
    g_assert_cmpuint(vmc_driver_open_console(m->driver, handle, VMC_CONSOLE_DEFAULT,
                                             console_seen, &seen, &error), ==, 0);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED);
    g_clear_error(&error);
    other = vmc_driver_open_console(m->driver, handle, VMC_CONSOLE_FORCE, console_seen, &seen,
                                    &error);
    g_assert_no_error(error);
    g_assert_cmpuint(other, !=, id);
    g_assert_cmpstr(m->last_call(m->driver), ==, "open_console force");

    g_assert_true(vmc_driver_console_send(m->driver, other, "ls\r\0x", 5, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(m->last_call(m->driver), ==, "console_send");
    while (got->len < 5)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpmem(got->str, got->len, "ls\r\0x", 5);
    g_assert_cmpuint(seen.ends, ==, 0);
    /* Nothing to send: done without the module. */
    g_assert_true(vmc_driver_console_send(m->driver, other, NULL, 0, &error));
    g_assert_no_error(error);
    vmc_driver_close_console(m->driver, other);
    g_assert_cmpstr(m->last_call(m->driver), ==, "close_console");
    g_assert_false(vmc_driver_console_send(m->driver, other, "x", 1, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED);
}

static void
test_abi(gconstpointer data)
{
    guint abi = GPOINTER_TO_UINT(data);
    g_autofree char *name = g_strdup_printf("abi%u", abi);
    g_autoptr(VmcConfig) cfg = make_config("abi-vm");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GCancellable) cancelled = g_cancellable_new();
    Module m = { 0 };
    int progress = 0;

    module_open(&m, name, abi);
    g_cancellable_cancel(cancelled);

    /* The members of ABI 1 */
    handle = vmc_driver_boot(m.driver, cfg, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(m.last_call(m.driver), ==, "boot");
    state = vmc_driver_get_state(m.driver, handle, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_RUNNING);
    g_clear_pointer(&state, vmc_state_free);
    g_assert_true(vmc_driver_pause(m.driver, handle, &error));
    g_assert_cmpstr(m.last_call(m.driver), ==, "pause");
    g_assert_true(vmc_driver_resume(m.driver, handle, &error));
    g_assert_cmpstr(m.last_call(m.driver), ==, "resume");
    g_assert_no_error(error);

    /* The waits: one member from ABI 4 on, each its own before. */
    state = vmc_driver_wait_ready(m.driver, handle, 1000, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_state_get_ip(state), ==, "192.0.2.7");
    g_assert_cmpstr(m.last_call(m.driver), ==, abi >= 4 ? "wait_until_ready" : "wait_ready");
    g_clear_pointer(&state, vmc_state_free);
    state = vmc_driver_wait_ready_full(m.driver, handle, 1000, progress_seen, &progress, &error);
    g_assert_no_error(error);
    g_assert_cmpint(progress, ==, 1);
    g_assert_cmpstr(m.last_call(m.driver), ==, abi >= 4 ? "wait_until_ready" : "wait_ready_full");
    g_clear_pointer(&state, vmc_state_free);

    {
        Async a = { 0 };
        g_autoptr(GCancellable) live = g_cancellable_new();

        vmc_driver_wait_ready_async(m.driver, handle, 1000, live, async_done, &a);
        state = vmc_driver_wait_ready_finish(m.driver, async_wait(&a), &error);
        g_assert_no_error(error);
        g_assert_cmpstr(m.last_call(m.driver), ==,
                        abi >= 4 ? "wait_until_ready"
                                 : abi == 3 ? "wait_ready_cancellable" : "wait_ready");
        g_clear_pointer(&state, vmc_state_free);
        g_object_unref(a.result);
    }

    /* A cancelled cancellable: a module of ABI 3 or later sees it, an
     * older one is not called at all. */
    {
        Async a = { 0 };

        vmc_driver_stop_async(m.driver, handle, 1000, cancelled, async_done, &a);
        g_assert_false(vmc_driver_stop_finish(m.driver, async_wait(&a), &error));
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        if (abi >= 3)
            g_assert_cmpstr(m.last_call(m.driver), ==, "stop_cancellable");
        else
            g_assert_cmpstr(m.last_call(m.driver), ==, "wait_ready");
        g_clear_error(&error);
        g_object_unref(a.result);
    }
    {
        Async a = { 0 };

        vmc_driver_boot_async(m.driver, cfg, NULL, async_done, &a);
        g_clear_pointer(&handle, vmc_handle_free);
        handle = vmc_driver_boot_finish(m.driver, async_wait(&a), &error);
        g_assert_no_error(error);
        g_assert_cmpstr(vmc_handle_get_name(handle), ==, "abi-vm");
        g_assert_cmpstr(m.last_call(m.driver), ==, "boot");
        g_object_unref(a.result);
    }

    /* The members of ABI 2: missing from a module of ABI 1. */
    {
        g_autoptr(GPtrArray) all = vmc_driver_list_all(m.driver, &error);
        g_autoptr(VmcConfig) staged = NULL;
        g_auto(GStrv) removed = NULL;

        if (abi >= 2) {
            g_assert_no_error(error);
            g_assert_cmpuint(all->len, ==, 1);
        } else {
            g_assert_null(all);
            assert_unsupported(error, name, "vmc_driver_list_all()");
            g_clear_error(&error);
        }
        staged = vmc_driver_stage(m.driver, cfg, NULL, NULL, &error);
        if (abi >= 2) {
            g_assert_no_error(error);
            g_assert_nonnull(staged);
        } else {
            g_assert_null(staged);
            assert_unsupported(error, name, "vmc_driver_stage()");
            g_clear_error(&error);
        }
        removed = vmc_driver_gc_staged(m.driver, &error);
        if (abi >= 2) {
            g_assert_no_error(error);
            g_assert_nonnull(removed);
        } else {
            g_assert_null(removed);
            assert_unsupported(error, name, "vmc_driver_gc_staged()");
            g_clear_error(&error);
        }
    }
    {
        Async a = { 0 };
        g_autoptr(GCancellable) live = g_cancellable_new();
        g_autoptr(VmcConfig) staged = NULL;

        vmc_driver_stage_async(m.driver, cfg, live, async_done, &a);
        staged = vmc_driver_stage_finish(m.driver, async_wait(&a), &error);
        if (abi >= 2) {
            g_assert_no_error(error);
            g_assert_true(vmc_config_equal(staged, cfg));
            g_assert_cmpstr(m.last_call(m.driver), ==, abi >= 3 ? "stage_cancellable" : "stage");
        } else {
            assert_unsupported(error, name, "vmc_driver_stage_async()");
            g_clear_error(&error);
        }
        g_object_unref(a.result);
    }

    /* What none of these modules has: no watch, no serial, no checks. */
    g_assert_cmpuint(vmc_driver_watch(m.driver, NULL, NULL, no_event,
                                      NULL, NULL), ==, 0);
    g_assert_cmpuint(vmc_driver_follow_serial(m.driver, handle, no_serial,
                                              NULL, &error), ==, 0);
    assert_unsupported(error, name, "vmc_driver_follow_serial()");
    g_clear_error(&error);

    /* The members of ABI 5: missing from a module of ABI 1 to 4. */
    check_console(&m, name, handle);

    g_assert_true(vmc_driver_delete(m.driver, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(m.last_call(m.driver), ==, "remove");
    vmc_driver_free(m.driver);
}

/* A module of ABI 5 that sets open, close, get_uri and boot only. */
static void
test_sparse(void)
{
    g_autoptr(VmcConfig) cfg = make_config("sparse-vm");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    Module m = { 0 };

    module_open(&m, "sparse", 5);
    g_assert_cmpstr(vmc_driver_get_uri(m.driver), ==, "test-module:///");
    g_assert_false(vmc_driver_is_local(m.driver));
    g_assert_cmpint(vmc_driver_get_accel(m.driver), ==, VMC_ACCEL_QEMU);
    vmc_driver_set_accel(m.driver, VMC_ACCEL_KVM);
    handle = vmc_driver_boot(m.driver, cfg, &error);
    g_assert_no_error(error);

    state = vmc_driver_get_state(m.driver, handle, &error);
    g_assert_null(state);
    assert_unsupported(error, "sparse", "vmc_driver_get_state()");
    g_assert_nonnull(strstr(error->message, "get_state"));
    g_clear_error(&error);
    g_assert_false(vmc_driver_stop(m.driver, handle, 1000, &error));
    assert_unsupported(error, "sparse", "vmc_driver_stop()");
    g_clear_error(&error);
    g_assert_false(vmc_driver_kill(m.driver, handle, &error));
    assert_unsupported(error, "sparse", "vmc_driver_kill()");
    g_clear_error(&error);
    state = vmc_driver_wait_ready(m.driver, handle, 1000, &error);
    assert_unsupported(error, "sparse", "vmc_driver_wait_ready()");
    g_assert_nonnull(strstr(error->message, "wait_until_ready"));
    g_clear_error(&error);
    g_assert_null(vmc_driver_lookup(m.driver, "sparse-vm", &error));
    assert_unsupported(error, "sparse", "vmc_driver_lookup()");
    g_clear_error(&error);
    g_assert_null(vmc_driver_list(m.driver, NULL, &error));
    assert_unsupported(error, "sparse", "vmc_driver_list()");
    g_clear_error(&error);
    g_assert_cmpuint(vmc_driver_open_console(m.driver, handle, VMC_CONSOLE_FORCE, no_serial, NULL,
                                             &error), ==, 0);
    assert_unsupported(error, "sparse", "vmc_driver_open_console()");
    g_clear_error(&error);
    g_assert_false(vmc_driver_console_send(m.driver, 1, "x", 1, &error));
    assert_unsupported(error, "sparse", "vmc_driver_console_send()");
    g_clear_error(&error);
    vmc_driver_close_console(m.driver, 1);
    {
        Async a = { 0 };

        vmc_driver_delete_async(m.driver, handle, VMC_DELETE_DEFAULT, NULL, async_done, &a);
        g_assert_false(vmc_driver_delete_finish(m.driver, async_wait(&a), &error));
        assert_unsupported(error, "sparse", "vmc_driver_delete_async()");
        g_clear_error(&error);
        g_object_unref(a.result);
    }
    vmc_driver_free(m.driver);
}

/* The driver freed while an _async call runs: the call completes, its
 * callback runs with the driver still open, and the driver closes when
 * the task is gone. */
static void
test_free_during_async(void)
{
    g_autoptr(VmcConfig) cfg = make_config("held-vm");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    Module m = { 0 };
    Async a = { 0 };
    int closed;

    module_open(&m, "abi4", 4);
    handle = vmc_driver_boot(m.driver, cfg, &error);
    g_assert_no_error(error);
    m.hold(m.driver);
    a.module = &m;
    a.closed_before = closed = m.closed();
    vmc_driver_wait_ready_async(m.driver, handle, 1000, NULL, async_done, &a);
    m.wait_held(m.driver);
    vmc_driver_free(m.driver);            /* the caller's reference */
    g_assert_cmpint(m.closed(), ==, closed);
    m.release(m.driver);                  /* the task's reference keeps it */
    async_wait(&a);
    g_assert_true(a.driver_open_in_callback);
    state = vmc_driver_wait_ready_finish(m.driver, a.result, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_READY);
    g_assert_cmpint(m.closed(), ==, closed);
    g_object_unref(a.result);             /* the task goes: the driver closes */
    while (m.closed() == closed && !g_main_context_iteration(NULL, FALSE))
        g_usleep(1000);
    g_assert_cmpint(m.closed(), ==, closed + 1);

    /* And with a reference of the application's own. */
    module_open(&m, "abi4", 4);
    g_assert_true(vmc_driver_ref(m.driver) == m.driver);
    closed = m.closed();
    vmc_driver_unref(m.driver);
    g_assert_cmpint(m.closed(), ==, closed);
    g_assert_cmpstr(vmc_driver_get_uri(m.driver), ==, "test-module:///");
    vmc_driver_free(m.driver);
    g_assert_cmpint(m.closed(), ==, closed + 1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint abi = 1; abi <= 5; abi++) {
        g_autofree char *path = g_strdup_printf("/abi-modules/abi%u", abi);

        g_test_add_data_func(path, GUINT_TO_POINTER(abi), test_abi);
    }
    g_test_add_func("/abi-modules/sparse", test_sparse);
    g_test_add_func("/abi-modules/free-during-async", test_free_during_async);
    return g_test_run();
}
