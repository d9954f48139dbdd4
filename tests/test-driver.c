/*
 * test-driver.c: the VM lifecycle (DESIGN.md §5) on libvirt's test driver
 *
 * test:///default runs inside this process. Its state lives as long as one
 * connection to it is open (test_conn below keeps it for the whole run) and
 * holds a running domain named "test" that virt-vmconfig did not make, so
 * every test uses VM names of its own and looks at libvirt directly, through
 * test_conn, to check what the driver did or left alone.
 *
 * The driver checks on a local host that a config's files exist: they are
 * empty files in a temporary directory, which the test driver is happy with.
 */
#include "vmc-test.h"
#include "vmc-xml-private.h"
#include "vmc-serial-private.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#define TEST_URI "test:///default"
/* No wait in this file may last longer than this. */
#define WAIT_TIMEOUT_MS 10000
#define N_RACERS 8

static char *tmp_dir;
static char *kernel_path;
static char *initrd_path;
static char *log_dir;
static char *share_dir;
static virConnectPtr test_conn;

/* ---- helpers ------------------------------------------------------------ */

static VmcConfig *
make_config(const char *name, const char *ns)
{
    VmcConfig *cfg = vmc_config_new(name);
    g_autofree char *log = g_strdup_printf("%s/%s.serial", log_dir, name);

    vmc_config_set_namespace(cfg, ns);
    vmc_config_set_kernel(cfg, kernel_path);
    vmc_config_set_initramfs(cfg, initrd_path);
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 128);
    vmc_config_set_serial_log(cfg, log);
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share_dir, "data", FALSE));
    return cfg;
}

static VmcDriver *
open_driver(void)
{
    g_autoptr(GError) error = NULL;
    VmcDriver *driver = vmc_driver_open(TEST_URI, &error);

    g_assert_no_error(error);
    g_assert_nonnull(driver);
    g_assert_true(vmc_driver_is_local(driver));
    vmc_driver_set_accel(driver, VMC_ACCEL_QEMU);
    return driver;
}

static VmcHandle *
boot_ok(VmcDriver *driver, const VmcConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    VmcHandle *handle = vmc_driver_boot(driver, cfg, &error);

    g_assert_no_error(error);
    g_assert_nonnull(handle);
    return handle;
}

static VmcStateKind
state_kind(VmcDriver *driver, const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) state = vmc_driver_get_state(driver, handle, &error);

    g_assert_no_error(error);
    g_assert_nonnull(state);
    return vmc_state_get_kind(state);
}

/* A driver call that must succeed; its error, if any, is shown. */
#define ASSERT_OK(func, ...)                               \
    G_STMT_START {                                         \
        g_autoptr(GError) ok_error_ = NULL;                \
        gboolean ok_ = func(__VA_ARGS__, &ok_error_);      \
        g_assert_no_error(ok_error_);                      \
        g_assert_true(ok_);                                \
    } G_STMT_END

#define assert_kind(got, expected) \
    g_assert_cmpstr(vmc_state_kind_to_string(got), ==, vmc_state_kind_to_string(expected))

#define assert_state(driver, handle, expected) \
    assert_kind(state_kind((driver), (handle)), (expected))

/* @error is @code, and its message names VM @name and says @fragment. */
static void
assert_vm_error(const GError *error, VmcError code, const char *name, const char *fragment)
{
    g_autofree char *quoted = name ? g_strdup_printf("'%s'", name) : NULL;

    if (!error)
        g_error("expected %s, but the call succeeded", vmc_error_code_to_string(code));
    if (!g_error_matches(error, VMC_ERROR, code))
        g_error("expected %s, got %s: %s", vmc_error_code_to_string(code),
                error->domain == VMC_ERROR ? vmc_error_code_to_string(error->code)
                                           : g_quark_to_string(error->domain),
                error->message);
    if (quoted && !strstr(error->message, quoted))
        g_error("the message does not name VM %s: %s", quoted, error->message);
    if (fragment && !strstr(error->message, fragment))
        g_error("the message does not say \"%s\": %s", fragment, error->message);
}

/* Domains of that name that libvirt has, ours or not (0 or 1). */
static int
count_domains(const char *name)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(test_conn, &doms, 0);
    int count = 0;

    g_assert_cmpint(n, >=, 0);
    for (int i = 0; i < n; i++) {
        if (strcmp(virDomainGetName(doms[i]), name) == 0)
            count++;
        virDomainFree(doms[i]);
    }
    free(doms);
    return count;
}

static int
domain_active(const char *name)
{
    virDomainPtr dom = virDomainLookupByName(test_conn, name);
    int active;

    g_assert_nonnull(dom);
    active = virDomainIsActive(dom);
    virDomainFree(dom);
    return active;
}

static char *
domain_xml(const char *name, unsigned int flags)
{
    virDomainPtr dom = virDomainLookupByName(test_conn, name);
    char *raw;
    char *xml;

    g_assert_nonnull(dom);
    raw = virDomainGetXMLDesc(dom, flags);
    g_assert_nonnull(raw);
    xml = g_strdup(raw);
    free(raw);
    virDomainFree(dom);
    return xml;
}

static unsigned int
domain_id(const char *name)
{
    virDomainPtr dom = virDomainLookupByName(test_conn, name);
    unsigned int id;

    g_assert_nonnull(dom);
    id = virDomainGetID(dom);
    virDomainFree(dom);
    return id;
}

/* Removes a domain of ours behind the driver's back, whatever its state:
 * the end of each test, so that one failure does not spill into the next. */
static void
purge_domain(const char *name)
{
    virDomainPtr dom;

    g_assert_cmpstr(name, !=, "test");
    dom = virDomainLookupByName(test_conn, name);
    if (!dom) {
        virResetLastError();
        return;
    }
    if (virDomainIsActive(dom) == 1)
        virDomainDestroy(dom);
    if (virDomainIsPersistent(dom) == 1)
        virDomainUndefine(dom);
    virResetLastError();
    virDomainFree(dom);
    g_assert_cmpint(count_domains(name), ==, 0);
}

static gboolean
handles_have(GPtrArray *handles, const char *name)
{
    for (guint i = 0; i < handles->len; i++) {
        if (strcmp(vmc_handle_get_name(g_ptr_array_index(handles, i)), name) == 0)
            return TRUE;
    }
    return FALSE;
}

static GPtrArray *
list_ok(VmcDriver *driver, const char *ns)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *handles = vmc_driver_list(driver, ns, &error);

    g_assert_no_error(error);
    g_assert_nonnull(handles);
    return handles;
}

/* ---- boot, state, lookup, list ------------------------------------------ */

static void
test_boot_handle(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-boot", "ns-boot");
    g_autofree char *uuid = vmc_config_get_uuid_string(cfg);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;

    handle = boot_ok(driver, cfg);
    g_assert_cmpstr(vmc_handle_get_name(handle), ==, "drv-boot");
    g_assert_cmpstr(vmc_handle_get_namespace(handle), ==, "ns-boot");
    g_assert_cmpstr(vmc_handle_get_uuid(handle), ==, uuid);
    g_assert_cmpstr(vmc_handle_get_serial_log(handle), ==, vmc_config_get_serial_log(cfg));
    g_assert_cmpuint(vmc_handle_get_vsock_cid(handle), ==, 0);
    assert_kind(vmc_state_get_kind(vmc_handle_get_state(handle)), VMC_STATE_RUNNING);
    g_assert_true(vmc_state_is_running(vmc_handle_get_state(handle)));

    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_no_error(error);
    assert_kind(vmc_state_get_kind(state), VMC_STATE_RUNNING);
    g_assert_cmpint(vmc_state_get_libvirt_state(state), ==, VIR_DOMAIN_RUNNING);
    g_assert_cmpint(count_domains("drv-boot"), ==, 1);
    g_assert_cmpint(domain_active("drv-boot"), ==, 1);

    found = vmc_driver_lookup(driver, "drv-boot", &error);
    g_assert_no_error(error);
    g_assert_nonnull(found);
    g_assert_cmpstr(vmc_handle_get_name(found), ==, "drv-boot");
    g_assert_cmpstr(vmc_handle_get_namespace(found), ==, "ns-boot");
    g_assert_cmpstr(vmc_handle_get_uuid(found), ==, uuid);
    g_assert_cmpstr(vmc_handle_get_serial_log(found), ==, vmc_config_get_serial_log(cfg));
    assert_kind(vmc_state_get_kind(vmc_handle_get_state(found)), VMC_STATE_RUNNING);

    /* A second driver on the same host sees the same VM. */
    {
        g_autoptr(VmcDriver) other = open_driver();
        g_autoptr(VmcHandle) again = vmc_driver_lookup(other, "drv-boot", &error);

        g_assert_no_error(error);
        g_assert_cmpstr(vmc_handle_get_uuid(again), ==, uuid);
        assert_state(other, again, VMC_STATE_RUNNING);
    }

    purge_domain("drv-boot");
}

static void
test_list(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    static const char *const names[] = { "drv-list-a2", "drv-list-a1", "drv-list-b1" };
    static const char *const spaces[] = { "ns-list-a", "ns-list-a", "ns-list-b" };
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) a = NULL;
    g_autoptr(GPtrArray) b = NULL;
    g_autoptr(GPtrArray) none = NULL;
    g_autoptr(GPtrArray) stopped = NULL;
    g_autoptr(VmcHandle) b1 = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(VmcConfig) cfg = make_config(names[i], spaces[i]);
        VmcHandle *handle = boot_ok(driver, cfg);

        if (i == 2)
            b1 = handle;
        else
            vmc_handle_free(handle);
    }

    /* Every namespace: ours only, sorted by name, never the test driver's
     * own domain "test" (which is there and running). */
    g_assert_cmpint(count_domains("test"), ==, 1);
    all = list_ok(driver, NULL);
    g_assert_cmpuint(all->len, >=, 3);
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        g_assert_true(handles_have(all, names[i]));
    g_assert_false(handles_have(all, "test"));
    for (guint i = 1; i < all->len; i++)
        g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(all, i - 1)), <,
                        vmc_handle_get_name(g_ptr_array_index(all, i)));

    a = list_ok(driver, "ns-list-a");
    g_assert_cmpuint(a->len, ==, 2);
    g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(a, 0)), ==, "drv-list-a1");
    g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(a, 1)), ==, "drv-list-a2");
    for (guint i = 0; i < a->len; i++) {
        const VmcHandle *h = g_ptr_array_index(a, i);
        g_autoptr(VmcConfig) cfg = make_config(vmc_handle_get_name(h), "ns-list-a");
        g_autofree char *uuid = vmc_config_get_uuid_string(cfg);

        g_assert_cmpstr(vmc_handle_get_namespace(h), ==, "ns-list-a");
        g_assert_cmpstr(vmc_handle_get_uuid(h), ==, uuid);
        assert_kind(vmc_state_get_kind(vmc_handle_get_state(h)), VMC_STATE_RUNNING);
    }

    b = list_ok(driver, "ns-list-b");
    g_assert_cmpuint(b->len, ==, 1);
    g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(b, 0)), ==, "drv-list-b1");
    g_assert_cmpstr(vmc_handle_get_namespace(g_ptr_array_index(b, 0)), ==, "ns-list-b");

    none = list_ok(driver, "ns-list-none");
    g_assert_cmpuint(none->len, ==, 0);

    /* A stopped VM is still listed, as stopped. */
    ASSERT_OK(vmc_driver_kill, driver, b1);
    stopped = list_ok(driver, "ns-list-b");
    g_assert_cmpuint(stopped->len, ==, 1);
    assert_kind(vmc_state_get_kind(vmc_handle_get_state(g_ptr_array_index(stopped, 0))),
                VMC_STATE_STOPPED);

    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        purge_domain(names[i]);
}

/* ---- idempotency ---------------------------------------------------------- */

static void
test_boot_stopped_again(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-reboot", "ns-idem");
    g_autoptr(VmcHandle) first = NULL;
    g_autoptr(VmcHandle) second = NULL;
    g_autofree char *xml = NULL;

    first = boot_ok(driver, cfg);
    ASSERT_OK(vmc_driver_kill, driver, first);
    assert_state(driver, first, VMC_STATE_STOPPED);

    /* Same VM, changed config: redefined and started, same UUID. */
    vmc_config_set_cpus(cfg, 2);
    second = boot_ok(driver, cfg);
    g_assert_cmpstr(vmc_handle_get_uuid(second), ==, vmc_handle_get_uuid(first));
    assert_kind(vmc_state_get_kind(vmc_handle_get_state(second)), VMC_STATE_RUNNING);
    assert_state(driver, first, VMC_STATE_RUNNING);
    g_assert_cmpint(count_domains("drv-reboot"), ==, 1);
    xml = domain_xml("drv-reboot", VIR_DOMAIN_XML_INACTIVE);
    g_assert_nonnull(strstr(xml, ">2</vcpu>"));

    purge_domain("drv-reboot");
}

static void
test_boot_running_refused(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-busy", "ns-idem");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) again = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *live_before = NULL;
    g_autofree char *live_after = NULL;
    g_autofree char *conf_before = NULL;
    g_autofree char *conf_after = NULL;
    unsigned int id;

    handle = boot_ok(driver, cfg);
    live_before = domain_xml("drv-busy", 0);
    conf_before = domain_xml("drv-busy", VIR_DOMAIN_XML_INACTIVE);
    id = domain_id("drv-busy");

    /* Even with a changed config: nothing is redefined or restarted. */
    vmc_config_set_cpus(cfg, 3);
    again = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(again);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-busy", "already running");

    assert_state(driver, handle, VMC_STATE_RUNNING);
    g_assert_cmpuint(domain_id("drv-busy"), ==, id);
    live_after = domain_xml("drv-busy", 0);
    conf_after = domain_xml("drv-busy", VIR_DOMAIN_XML_INACTIVE);
    g_assert_cmpstr(live_after, ==, live_before);
    g_assert_cmpstr(conf_after, ==, conf_before);

    purge_domain("drv-busy");
}

static void
test_stop_stopped(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-stop-twice", "ns-idem");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);

    ASSERT_OK(vmc_driver_kill, driver, handle);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vmc_driver_stop, driver, handle, 1000);
        assert_state(driver, handle, VMC_STATE_STOPPED);
    }
    purge_domain("drv-stop-twice");
}

static void
test_kill_stopped(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-kill-twice", "ns-idem");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);

    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vmc_driver_kill, driver, handle);
        assert_state(driver, handle, VMC_STATE_STOPPED);
    }
    purge_domain("drv-kill-twice");
}

static void
test_pause_resume_idempotent(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-pause-twice", "ns-idem");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);

    /* Resuming a running VM succeeds and changes nothing. */
    ASSERT_OK(vmc_driver_resume, driver, handle);
    assert_state(driver, handle, VMC_STATE_RUNNING);

    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vmc_driver_pause, driver, handle);
        assert_state(driver, handle, VMC_STATE_PAUSED);
    }
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vmc_driver_resume, driver, handle);
        assert_state(driver, handle, VMC_STATE_RUNNING);
    }
    purge_domain("drv-pause-twice");
}

static void
test_pause_stopped(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-pause-off", "ns-idem");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(GError) error = NULL;

    ASSERT_OK(vmc_driver_kill, driver, handle);

    g_assert_false(vmc_driver_pause(driver, handle, &error));
    assert_vm_error(error, VMC_ERROR_STATE_FAILED, "drv-pause-off", "stopped");
    g_clear_error(&error);
    assert_state(driver, handle, VMC_STATE_STOPPED);

    g_assert_false(vmc_driver_resume(driver, handle, &error));
    assert_vm_error(error, VMC_ERROR_STATE_FAILED, "drv-pause-off", "stopped");
    assert_state(driver, handle, VMC_STATE_STOPPED);

    purge_domain("drv-pause-off");
}

/* ---- ownership ------------------------------------------------------------ */

static void
test_boot_foreign(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("test", "ns-owner");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *live_before = domain_xml("test", 0);
    g_autofree char *conf_before = domain_xml("test", VIR_DOMAIN_XML_INACTIVE);
    g_autofree char *live_after = NULL;
    g_autofree char *conf_after = NULL;
    unsigned int id = domain_id("test");

    g_assert_cmpint(domain_active("test"), ==, 1);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "test", "not made by virt-vmconfig");

    g_assert_cmpint(count_domains("test"), ==, 1);
    g_assert_cmpint(domain_active("test"), ==, 1);
    g_assert_cmpuint(domain_id("test"), ==, id);
    live_after = domain_xml("test", 0);
    conf_after = domain_xml("test", VIR_DOMAIN_XML_INACTIVE);
    g_assert_cmpstr(live_after, ==, live_before);
    g_assert_cmpstr(conf_after, ==, conf_before);
}

static void
test_lookup_foreign(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;

    handle = vmc_driver_lookup(driver, "test", &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "test", "not made by virt-vmconfig");
    g_clear_error(&error);
    g_assert_cmpint(domain_active("test"), ==, 1);

    /* A name nobody has: NOT_FOUND straight from libvirt. */
    handle = vmc_driver_lookup(driver, "drv-nobody", &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-nobody", NULL);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_NO_DOMAIN);
}

static void
test_namespace_collision(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) mine = make_config("drv-clash", "ns-one");
    g_autoptr(VmcConfig) theirs = make_config("drv-clash", "ns-two");
    g_autofree char *uuid_mine = vmc_config_get_uuid_string(mine);
    g_autofree char *uuid_theirs = vmc_config_get_uuid_string(theirs);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) clash = NULL;
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *conf_before = NULL;
    g_autofree char *conf_after = NULL;

    g_assert_cmpstr(uuid_mine, !=, uuid_theirs);
    handle = boot_ok(driver, mine);
    ASSERT_OK(vmc_driver_kill, driver, handle);
    conf_before = domain_xml("drv-clash", VIR_DOMAIN_XML_INACTIVE);

    /* Stopped: the UUIDs differ, so it must be deleted first. */
    clash = vmc_driver_boot(driver, theirs, &error);
    g_assert_null(clash);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-clash", "delete the old VM first");
    g_clear_error(&error);
    conf_after = domain_xml("drv-clash", VIR_DOMAIN_XML_INACTIVE);
    g_assert_cmpstr(conf_after, ==, conf_before);
    g_assert_cmpint(domain_active("drv-clash"), ==, 0);
    found = vmc_driver_lookup(driver, "drv-clash", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_handle_get_namespace(found), ==, "ns-one");
    g_assert_cmpstr(vmc_handle_get_uuid(found), ==, uuid_mine);
    g_clear_pointer(&found, vmc_handle_free);

    /* Running: refused as well, and it keeps running. */
    g_clear_pointer(&handle, vmc_handle_free);
    handle = boot_ok(driver, mine);
    clash = vmc_driver_boot(driver, theirs, &error);
    g_assert_null(clash);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-clash", "is already running");
    g_clear_error(&error);
    assert_state(driver, handle, VMC_STATE_RUNNING);
    found = vmc_driver_lookup(driver, "drv-clash", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_handle_get_namespace(found), ==, "ns-one");

    purge_domain("drv-clash");
}

/* ---- stop, kill, pause, resume, delete ---------------------------------- */

/* Runs @func(@data) on a thread of its own and waits WAIT_TIMEOUT_MS for
 * it: a call that never returns fails the test, naming @what. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean done;
    GThreadFunc func;
    gpointer data;
} Bounded;

static gpointer
bounded_run(gpointer data)
{
    Bounded *b = data;

    b->func(b->data);
    g_mutex_lock(&b->lock);
    b->done = TRUE;
    g_cond_signal(&b->cond);
    g_mutex_unlock(&b->lock);
    return NULL;
}

static void
run_bounded(GThreadFunc func, gpointer data, const char *what)
{
    Bounded b = { .func = func, .data = data };
    gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
    GThread *thread;

    g_mutex_init(&b.lock);
    g_cond_init(&b.cond);
    thread = g_thread_new("bounded", bounded_run, &b);
    g_mutex_lock(&b.lock);
    while (!b.done) {
        if (!g_cond_wait_until(&b.cond, &b.lock, deadline))
            g_error("%s did not return within %d ms", what, WAIT_TIMEOUT_MS);
    }
    g_mutex_unlock(&b.lock);
    g_thread_join(thread);
    g_mutex_clear(&b.lock);
    g_cond_clear(&b.cond);
}

typedef struct {
    VmcDriver *driver;
    const VmcHandle *handle;
    gboolean ok;
    GError *error;
} StopJob;

static gpointer
stop_job_run(gpointer data)
{
    StopJob *job = data;

    job->ok = vmc_driver_stop(job->driver, job->handle, 10 * 60 * 1000, &job->error);
    return NULL;
}

static void
test_stop(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-stop", "ns-life");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) state = NULL;
    StopJob job = { .driver = driver, .handle = handle };

    /* The test driver powers off at once: stop returns on libvirt's event,
     * not at its timeout, which is far beyond the bound of this wait. */
    run_bounded(stop_job_run, &job, "vmc_driver_stop() with a 10-minute timeout");
    g_assert_no_error(job.error);
    g_assert_true(job.ok);
    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_no_error(error);
    assert_kind(vmc_state_get_kind(state), VMC_STATE_STOPPED);
    g_assert_cmpint(vmc_state_get_libvirt_state(state), ==, VIR_DOMAIN_SHUTOFF);
    g_assert_cmpint(vmc_state_get_libvirt_reason(state), ==, VIR_DOMAIN_SHUTOFF_SHUTDOWN);
    g_assert_cmpint(count_domains("drv-stop"), ==, 1);

    purge_domain("drv-stop");
}

static void
test_kill(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-kill", "ns-life");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) state = NULL;

    ASSERT_OK(vmc_driver_kill, driver, handle);
    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_no_error(error);
    /* Forced off on request is stopped, not failed. */
    assert_kind(vmc_state_get_kind(state), VMC_STATE_STOPPED);
    g_assert_cmpint(vmc_state_get_libvirt_state(state), ==, VIR_DOMAIN_SHUTOFF);
    g_assert_cmpint(vmc_state_get_libvirt_reason(state), ==, VIR_DOMAIN_SHUTOFF_DESTROYED);
    g_assert_cmpint(count_domains("drv-kill"), ==, 1);

    purge_domain("drv-kill");
}

static void
test_pause_resume(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-pause", "ns-life");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);

    ASSERT_OK(vmc_driver_pause, driver, handle);
    assert_state(driver, handle, VMC_STATE_PAUSED);
    ASSERT_OK(vmc_driver_resume, driver, handle);
    assert_state(driver, handle, VMC_STATE_RUNNING);

    purge_domain("drv-pause");
}

static void
test_delete(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-delete", "ns-delete");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(GPtrArray) listed = NULL;
    g_autoptr(GError) error = NULL;

    ASSERT_OK(vmc_driver_kill, driver, handle);
    ASSERT_OK(vmc_driver_delete, driver, handle, VMC_DELETE_DEFAULT);
    g_assert_cmpint(count_domains("drv-delete"), ==, 0);

    found = vmc_driver_lookup(driver, "drv-delete", &error);
    g_assert_null(found);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-delete", NULL);
    g_clear_error(&error);

    listed = list_ok(driver, NULL);
    g_assert_false(handles_have(listed, "drv-delete"));
    g_clear_pointer(&listed, g_ptr_array_unref);
    listed = list_ok(driver, "ns-delete");
    g_assert_cmpuint(listed->len, ==, 0);

    /* Gone already: NOT_FOUND, with libvirt's code. */
    g_assert_false(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-delete", NULL);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_NO_DOMAIN);

    /* The serial log's directory and the shared directory are the user's. */
    g_assert_true(g_file_test(log_dir, G_FILE_TEST_IS_DIR));
    g_assert_true(g_file_test(share_dir, G_FILE_TEST_IS_DIR));
    purge_domain("drv-delete");
}

static void
test_delete_running(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-delete-live", "ns-delete");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(GError) error = NULL;

    /* Stopped first, then undefined: no transient domain left running. */
    ASSERT_OK(vmc_driver_delete, driver, handle, VMC_DELETE_DEFAULT);
    g_assert_cmpint(count_domains("drv-delete-live"), ==, 0);
    found = vmc_driver_lookup(driver, "drv-delete-live", &error);
    g_assert_null(found);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-delete-live", NULL);

    purge_domain("drv-delete-live");
}

/* ---- failures leave nothing behind --------------------------------------- */

/* The test driver's start (testDomainCreateWithFlags in libvirt 9.0) only
 * fails for a domain that is already running, so a start that fails on a
 * shut-off domain (and the rollback after it) cannot be made here; only
 * racing boots of one name reach a failed start after a define (see the
 * concurrent tests). These check that what is refused before define leaves
 * no domain, and leaves an existing definition as it was. */
static void
check_refused(VmcDriver *driver, VmcConfig *cfg, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    const char *name = vmc_config_get_name(cfg);
    gboolean named = name && *name && name[0] != '-' && name[0] != '.';

    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_INVALID_CONFIG, named ? name : NULL, fragment);
    if (name && *name)
        g_assert_cmpint(count_domains(name), ==, 0);
}

static void
test_invalid_config(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(GPtrArray) listed = NULL;
    VmcConfig *cfg;

    cfg = make_config("drv-bad-cpus", "ns-bad");
    vmc_config_set_cpus(cfg, 0);
    check_refused(driver, cfg, "cpus");
    vmc_config_free(cfg);

    cfg = make_config("drv-bad-memory", "ns-bad");
    vmc_config_set_memory_mb(cfg, 0);
    check_refused(driver, cfg, "memory_mb");
    vmc_config_free(cfg);

    cfg = make_config("drv-bad-kernel", "ns-bad");
    vmc_config_set_kernel(cfg, "vmlinuz");
    check_refused(driver, cfg, "kernel");
    vmc_config_free(cfg);

    cfg = make_config("drv-bad-rosetta", "ns-bad");
    vmc_config_set_rosetta(cfg, TRUE);
    check_refused(driver, cfg, "rosetta");
    vmc_config_free(cfg);

    cfg = make_config("drv-bad-tag", "ns-bad");
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share_dir, "no tag/with spaces", FALSE));
    check_refused(driver, cfg, "tag");
    vmc_config_free(cfg);

    cfg = make_config("-drv-bad-name", "ns-bad");
    check_refused(driver, cfg, "must not start with '.' or '-'");
    vmc_config_free(cfg);

    cfg = make_config("drv-bad-ns", "ns bad");
    check_refused(driver, cfg, "namespace");
    vmc_config_free(cfg);

    listed = list_ok(driver, "ns-bad");
    g_assert_cmpuint(listed->len, ==, 0);
}

static void
test_missing_files(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autofree char *absent = g_build_filename(tmp_dir, "absent", NULL);
    g_autofree char *absent_kernel = g_build_filename(absent, "vmlinuz", NULL);
    g_autofree char *absent_log = g_build_filename(absent, "serial.log", NULL);
    g_autoptr(VmcConfig) stopped = make_config("drv-missing-old", "ns-missing");
    g_autoptr(VmcHandle) old = NULL;
    g_autofree char *conf_before = NULL;
    g_autofree char *conf_after = NULL;
    VmcConfig *cfg;

    cfg = make_config("drv-missing-kernel", "ns-missing");
    vmc_config_set_kernel(cfg, absent_kernel);
    check_refused(driver, cfg, absent_kernel);
    check_refused(driver, cfg, "kernel");
    check_refused(driver, cfg, "does not exist");
    vmc_config_free(cfg);

    cfg = make_config("drv-missing-initrd", "ns-missing");
    vmc_config_set_initramfs(cfg, absent_kernel);
    check_refused(driver, cfg, absent_kernel);
    vmc_config_free(cfg);

    cfg = make_config("drv-missing-log", "ns-missing");
    vmc_config_set_serial_log(cfg, absent_log);
    check_refused(driver, cfg, absent);
    vmc_config_free(cfg);

    cfg = make_config("drv-missing-share", "ns-missing");
    vmc_config_clear_shared_dirs(cfg);
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(absent, "data", FALSE));
    check_refused(driver, cfg, absent);
    vmc_config_free(cfg);

    cfg = make_config("drv-missing-kernel-dir", "ns-missing");
    vmc_config_set_kernel(cfg, tmp_dir);
    check_refused(driver, cfg, tmp_dir);
    vmc_config_free(cfg);

    /* A stopped VM booted again with a file gone keeps its definition. */
    old = boot_ok(driver, stopped);
    ASSERT_OK(vmc_driver_kill, driver, old);
    conf_before = domain_xml("drv-missing-old", VIR_DOMAIN_XML_INACTIVE);
    vmc_config_set_kernel(stopped, absent_kernel);
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcHandle) handle = vmc_driver_boot(driver, stopped, &error);

        g_assert_null(handle);
        assert_vm_error(error, VMC_ERROR_INVALID_CONFIG, "drv-missing-old", absent_kernel);
    }
    conf_after = domain_xml("drv-missing-old", VIR_DOMAIN_XML_INACTIVE);
    g_assert_cmpstr(conf_after, ==, conf_before);
    g_assert_cmpint(domain_active("drv-missing-old"), ==, 0);

    purge_domain("drv-missing-old");
}

/* ---- concurrent boots ----------------------------------------------------- */

typedef struct {
    VmcDriver *shared;     /* or NULL: each thread opens a driver of its own */
    VmcConfig *cfgs[N_RACERS];
    GMutex lock;
    GCond cond;
    guint ready;
    gboolean go;
    VmcHandle *handles[N_RACERS];
    GError *errors[N_RACERS];
} Race;

typedef struct {
    Race *race;
    guint index;
} Racer;

static gpointer
race_boot(gpointer data)
{
    Racer *racer = data;
    Race *race = racer->race;
    g_autoptr(VmcDriver) own = race->shared ? NULL : open_driver();
    VmcDriver *driver = race->shared ? race->shared : own;

    g_mutex_lock(&race->lock);
    race->ready++;
    g_cond_broadcast(&race->cond);
    while (!race->go)
        g_cond_wait(&race->cond, &race->lock);
    g_mutex_unlock(&race->lock);

    race->handles[racer->index] =
        vmc_driver_boot(driver, race->cfgs[racer->index], &race->errors[racer->index]);
    return NULL;
}

/* @vary: each racer boots the VM with its own number of vCPUs, so that
 * the definition shows whose config it is. */
static void
run_race(gboolean shared, gboolean vary, const char *name)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config(name, "ns-race");
    g_autofree char *uuid = vmc_config_get_uuid_string(cfg);
    guint winner = 0;
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(GError) error = NULL;
    Race race = { 0 };
    Racer racers[N_RACERS];
    GThread *threads[N_RACERS];
    guint winners = 0;
    guint late_losers = 0;

    race.shared = shared ? driver : NULL;
    for (guint i = 0; i < N_RACERS; i++) {
        race.cfgs[i] = vmc_config_copy(cfg);
        if (vary)
            vmc_config_set_cpus(race.cfgs[i], i + 1);
    }
    g_mutex_init(&race.lock);
    g_cond_init(&race.cond);
    for (guint i = 0; i < N_RACERS; i++) {
        racers[i].race = &race;
        racers[i].index = i;
        threads[i] = g_thread_new("racer", race_boot, &racers[i]);
    }
    g_mutex_lock(&race.lock);
    while (race.ready < N_RACERS)
        g_cond_wait(&race.cond, &race.lock);
    race.go = TRUE;
    g_cond_broadcast(&race.cond);
    g_mutex_unlock(&race.lock);
    for (guint i = 0; i < N_RACERS; i++)
        g_thread_join(threads[i]);

    for (guint i = 0; i < N_RACERS; i++) {
        if (race.handles[i]) {
            g_assert_null(race.errors[i]);
            g_assert_cmpstr(vmc_handle_get_uuid(race.handles[i]), ==, uuid);
            winner = i;
            winners++;
        } else {
            assert_vm_error(race.errors[i], VMC_ERROR_BOOT_FAILED, name, NULL);
            /* Lost before its define (the winner was running) or after it
             * (its start found the winner running): nothing else. */
            if (strstr(race.errors[i]->message, "failed to start"))
                late_losers++;
            else if (!strstr(race.errors[i]->message, "is already running"))
                g_error("racer %u lost for another reason: %s", i, race.errors[i]->message);
        }
        g_clear_pointer(&race.handles[i], vmc_handle_free);
        g_clear_error(&race.errors[i]);
    }
    g_assert_cmpuint(winners, ==, 1);
    g_test_message("%s: %u of %u boots lost after defining (their start failed)", name,
                   late_losers, N_RACERS - 1);

    g_assert_cmpint(count_domains(name), ==, 1);
    g_assert_cmpint(domain_active(name), ==, 1);
    found = vmc_driver_lookup(driver, name, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_handle_get_uuid(found), ==, uuid);
    assert_state(driver, found, VMC_STATE_RUNNING);

    /* The winner's config runs and stays defined: a loser touched nothing. */
    if (vary) {
        g_autofree char *vcpus = g_strdup_printf(">%u</vcpu>", winner + 1);
        g_autofree char *live = domain_xml(name, 0);
        g_autofree char *conf = domain_xml(name, VIR_DOMAIN_XML_INACTIVE);

        if (!strstr(live, vcpus) || !strstr(conf, vcpus))
            g_error("VM '%s': racer %u won the boot, but the domain runs %s and is defined "
                    "with %s; a losing boot redefined it", name, winner,
                    strstr(live, vcpus) ? "its config" : "another racer's config",
                    strstr(conf, vcpus) ? "its config" : "another racer's config");
    }

    for (guint i = 0; i < N_RACERS; i++)
        vmc_config_free(race.cfgs[i]);
    g_mutex_clear(&race.lock);
    g_cond_clear(&race.cond);
    purge_domain(name);
}

static void
test_concurrent_shared(void)
{
    for (int round = 0; round < 5; round++) {
        g_autofree char *name = g_strdup_printf("drv-race-shared-%d", round);
        run_race(TRUE, FALSE, name);
    }
}

static void
test_concurrent_separate(void)
{
    for (int round = 0; round < 5; round++) {
        g_autofree char *name = g_strdup_printf("drv-race-own-%d", round);
        run_race(FALSE, FALSE, name);
    }
}

static void
test_concurrent_shared_untouched(void)
{
    for (int round = 0; round < 5; round++) {
        g_autofree char *name = g_strdup_printf("drv-race-shared-vary-%d", round);
        run_race(TRUE, TRUE, name);
    }
}

/* Two processes booting one VM race like this too. */
static void
test_concurrent_separate_untouched(void)
{
    for (int round = 0; round < 5; round++) {
        g_autofree char *name = g_strdup_printf("drv-race-own-vary-%d", round);
        run_race(FALSE, TRUE, name);
    }
}

/* ---- watch ---------------------------------------------------------------- */

typedef struct {
    GMutex lock;              /* in case a callback comes from another thread */
    GMainContext *context;    /* where callbacks must run */
    GThread *thread;          /* and on which thread */
    const char *label;        /* which watch, for messages */
    const char *name;         /* the VM the events must be about */
    GArray *kinds;            /* VmcStateKind */
    GArray *events;           /* virDomainEventType */
    guint misplaced;          /* callbacks off the context or the thread */
    guint wrong_vm;
    guint unwatch_after;      /* > 0: unwatch from the callback after that many */
    guint id;
    guint destroyed;
} Recorder;

static void
recorder_init(Recorder *rec, GMainContext *context, const char *label, const char *name)
{
    g_mutex_init(&rec->lock);
    rec->label = label;
    rec->context = context;
    rec->thread = g_thread_self();
    rec->name = name;
    rec->kinds = g_array_new(FALSE, FALSE, sizeof(VmcStateKind));
    rec->events = g_array_new(FALSE, FALSE, sizeof(int));
}

static void
recorder_clear(Recorder *rec)
{
    g_array_unref(rec->kinds);
    g_array_unref(rec->events);
    g_mutex_clear(&rec->lock);
}

static guint
recorder_count(Recorder *rec)
{
    guint n;

    g_mutex_lock(&rec->lock);
    n = rec->kinds->len;
    g_mutex_unlock(&rec->lock);
    return n;
}

static void
record_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    Recorder *rec = data;
    VmcStateKind kind = vmc_state_get_kind(vmc_event_get_state(event));
    int libvirt_event = vmc_event_get_libvirt_event(event);
    gboolean unwatch;

    g_mutex_lock(&rec->lock);
    if (!g_main_context_is_owner(rec->context) || g_thread_self() != rec->thread)
        rec->misplaced++;
    if (g_strcmp0(vmc_event_get_name(event), rec->name) != 0)
        rec->wrong_vm++;
    g_array_append_val(rec->kinds, kind);
    g_array_append_val(rec->events, libvirt_event);
    unwatch = rec->unwatch_after && rec->kinds->len == rec->unwatch_after;
    g_mutex_unlock(&rec->lock);
    if (unwatch)
        vmc_driver_unwatch(driver, rec->id);
}

static void
record_destroyed(gpointer data)
{
    Recorder *rec = data;

    g_mutex_lock(&rec->lock);
    rec->destroyed++;
    g_mutex_unlock(&rec->lock);
}

static gboolean
set_flag(gpointer data)
{
    *(gboolean *) data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Iterates @context (only it) until @rec holds @n events; fails the test
 * after WAIT_TIMEOUT_MS. */
static void
wait_events(Recorder *rec, GMainContext *context, guint n)
{
    g_autoptr(GSource) timeout = g_timeout_source_new(WAIT_TIMEOUT_MS);
    gboolean timed_out = FALSE;

    g_source_set_callback(timeout, set_flag, &timed_out, NULL);
    g_source_attach(timeout, context);
    while (recorder_count(rec) < n && !timed_out)
        g_main_context_iteration(context, TRUE);
    g_source_destroy(timeout);
    if (recorder_count(rec) < n)
        g_error("watch %s: %u of %u events within %d ms", rec->label, recorder_count(rec), n,
                WAIT_TIMEOUT_MS);
}

static void
assert_events(Recorder *rec, const VmcStateKind *kinds, const int *events, guint n)
{
    g_mutex_lock(&rec->lock);
    for (guint i = 0; i < MIN(n, rec->kinds->len); i++) {
        if (g_array_index(rec->kinds, VmcStateKind, i) != kinds[i] ||
            g_array_index(rec->events, int, i) != events[i])
            g_error("watch %s, event %u: got %s (libvirt event %d), expected %s (libvirt "
                    "event %d)", rec->label, i,
                    vmc_state_kind_to_string(g_array_index(rec->kinds, VmcStateKind, i)),
                    g_array_index(rec->events, int, i), vmc_state_kind_to_string(kinds[i]),
                    events[i]);
    }
    if (rec->kinds->len != n)
        g_error("watch %s: %u events, expected %u", rec->label, rec->kinds->len, n);
    if (rec->misplaced)
        g_error("watch %s: %u callbacks ran off the subscriber's context or thread", rec->label,
                rec->misplaced);
    if (rec->wrong_vm)
        g_error("watch %s: %u events about another VM", rec->label, rec->wrong_vm);
    g_mutex_unlock(&rec->lock);
}

static void
test_watch_events(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = make_config("drv-watch", "ns-watch");
    g_autoptr(VmcConfig) sentinel_cfg = make_config("drv-watch-other", "ns-watch-other");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) sentinel = NULL;
    Recorder rec = { 0 };
    Recorder by_ns = { 0 };
    Recorder other = { 0 };
    static const VmcStateKind kinds[] = {
        VMC_STATE_STOPPED, VMC_STATE_RUNNING,   /* boot: define, start */
        VMC_STATE_PAUSED, VMC_STATE_RUNNING,    /* pause, resume */
        VMC_STATE_STOPPED,                      /* kill */
        VMC_STATE_STOPPED,                      /* delete: undefine */
    };
    static const int events[] = {
        VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_STARTED,
        VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_RESUMED,
        VIR_DOMAIN_EVENT_STOPPED,
        VIR_DOMAIN_EVENT_UNDEFINED,
    };
    guint id_ns, id_other;

    g_main_context_push_thread_default(context);
    driver = open_driver();
    recorder_init(&rec, context, "by name", "drv-watch");
    recorder_init(&by_ns, context, "by namespace", "drv-watch");
    recorder_init(&other, context, "of another name", "drv-watch-other");
    rec.id = vmc_driver_watch(driver, "drv-watch", NULL, record_event, &rec, NULL);
    id_ns = vmc_driver_watch(driver, NULL, "ns-watch", record_event, &by_ns, NULL);
    id_other = vmc_driver_watch(driver, "drv-watch-other", NULL, record_event, &other, NULL);
    g_assert_cmpuint(rec.id, >, 0);

    handle = boot_ok(driver, cfg);
    wait_events(&rec, context, 2);
    ASSERT_OK(vmc_driver_pause, driver, handle);
    wait_events(&rec, context, 3);
    ASSERT_OK(vmc_driver_resume, driver, handle);
    wait_events(&rec, context, 4);
    ASSERT_OK(vmc_driver_kill, driver, handle);
    wait_events(&rec, context, 5);
    ASSERT_OK(vmc_driver_delete, driver, handle, VMC_DELETE_DEFAULT);
    wait_events(&rec, context, 6);
    /* Events come in order: once the watch of another VM has seen that VM
     * defined and started, no stray event about ours is still on its way. */
    sentinel = boot_ok(driver, sentinel_cfg);
    wait_events(&other, context, 2);

    assert_events(&rec, kinds, events, G_N_ELEMENTS(kinds));
    assert_events(&by_ns, kinds, events, G_N_ELEMENTS(kinds));
    assert_events(&other, kinds, events, 2);

    vmc_driver_unwatch(driver, rec.id);
    vmc_driver_unwatch(driver, id_ns);
    vmc_driver_unwatch(driver, id_other);
    g_clear_pointer(&driver, vmc_driver_free);
    g_main_context_pop_thread_default(context);
    recorder_clear(&rec);
    recorder_clear(&by_ns);
    recorder_clear(&other);
    purge_domain("drv-watch");
    purge_domain("drv-watch-other");
}

static void
test_watch_stop(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = make_config("drv-watch-stop", "ns-watch");
    g_autoptr(VmcHandle) handle = NULL;
    Recorder rec = { 0 };
    static const VmcStateKind kinds[] = {
        VMC_STATE_STOPPED, VMC_STATE_RUNNING, VMC_STATE_STOPPED, VMC_STATE_STOPPED,
    };
    static const int events[] = {
        VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STOPPED,
        VIR_DOMAIN_EVENT_UNDEFINED,
    };

    g_main_context_push_thread_default(context);
    driver = open_driver();
    recorder_init(&rec, context, "by name", "drv-watch-stop");
    rec.id = vmc_driver_watch(driver, "drv-watch-stop", NULL, record_event, &rec, NULL);

    handle = boot_ok(driver, cfg);
    wait_events(&rec, context, 2);
    ASSERT_OK(vmc_driver_stop, driver, handle, 5000);
    wait_events(&rec, context, 3);
    /* The undefine is the last event: a second STOPPED would come before it. */
    ASSERT_OK(vmc_driver_delete, driver, handle, VMC_DELETE_DEFAULT);
    wait_events(&rec, context, 4);
    assert_events(&rec, kinds, events, G_N_ELEMENTS(kinds));

    vmc_driver_unwatch(driver, rec.id);
    g_clear_pointer(&driver, vmc_driver_free);
    g_main_context_pop_thread_default(context);
    recorder_clear(&rec);
    purge_domain("drv-watch-stop");
}

static void
test_watch_unwatch_in_callback(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = make_config("drv-watch-once", "ns-watch");
    g_autoptr(VmcHandle) handle = NULL;
    Recorder rec = { 0 };
    Recorder all = { 0 };

    g_main_context_push_thread_default(context);
    driver = open_driver();
    recorder_init(&rec, context, "unwatching", "drv-watch-once");
    recorder_init(&all, context, "staying", "drv-watch-once");
    rec.unwatch_after = 1;
    rec.id = vmc_driver_watch(driver, "drv-watch-once", NULL, record_event, &rec,
                              record_destroyed);
    all.id = vmc_driver_watch(driver, "drv-watch-once", NULL, record_event, &all, NULL);

    /* Both boot events are on their way before the first callback runs. */
    handle = boot_ok(driver, cfg);
    ASSERT_OK(vmc_driver_pause, driver, handle);
    ASSERT_OK(vmc_driver_kill, driver, handle);
    /* define, start, pause, kill; then the undefine, after which nothing
     * more can be on its way to either watch. */
    wait_events(&all, context, 4);
    ASSERT_OK(vmc_driver_delete, driver, handle, VMC_DELETE_DEFAULT);
    wait_events(&all, context, 5);

    g_assert_cmpuint(recorder_count(&rec), ==, 1);
    g_assert_cmpuint(rec.misplaced, ==, 0);
    g_assert_cmpuint(rec.destroyed, ==, 1);
    g_assert_cmpuint(recorder_count(&all), ==, 5);
    g_assert_cmpuint(all.misplaced, ==, 0);
    /* Removing it again is harmless. */
    vmc_driver_unwatch(driver, rec.id);
    g_assert_cmpuint(rec.destroyed, ==, 1);

    vmc_driver_unwatch(driver, all.id);
    g_clear_pointer(&driver, vmc_driver_free);
    g_main_context_pop_thread_default(context);
    recorder_clear(&rec);
    recorder_clear(&all);
    purge_domain("drv-watch-once");
}

/* Boots on a thread of its own, so that a boot that never returns fails
 * the test instead of hanging it. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean done;
    VmcDriver *driver;
    const VmcConfig *cfg;
    VmcHandle *handle;
    GError *error;
} BootJob;

static gpointer
boot_job_run(gpointer data)
{
    BootJob *job = data;
    VmcHandle *handle = vmc_driver_boot(job->driver, job->cfg, &job->error);

    g_mutex_lock(&job->lock);
    job->handle = handle;
    job->done = TRUE;
    g_cond_signal(&job->cond);
    g_mutex_unlock(&job->lock);
    return NULL;
}

/* A watch made on a thread that pushed no context gets the global default
 * one: its callbacks must still run on that thread, when it iterates that
 * context, not on libvirt's event thread (which iterates the global
 * default context too: libvirt's default event loop is built on it). */
static void
test_watch_default_context(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-watch-default", "ns-watch");
    g_autoptr(GMainContext) barrier_ctx = g_main_context_new();
    Recorder rec = { 0 };
    Recorder barrier = { 0 };
    BootJob job = { 0 };
    GThread *thread;
    guint before_iterating;
    gint64 deadline;

    g_assert_null(g_main_context_get_thread_default());
    recorder_init(&rec, g_main_context_default(), "on the default context", "drv-watch-default");
    rec.id = vmc_driver_watch(driver, "drv-watch-default", NULL, record_event, &rec, NULL);
    /* A second watch, made after it on a context of this thread's own, is
     * handed each event right after it: once it has both, both are on
     * their way to the default context too, where nothing may run them
     * before this thread iterates it. */
    g_main_context_push_thread_default(barrier_ctx);
    recorder_init(&barrier, barrier_ctx, "barrier", "drv-watch-default");
    barrier.id = vmc_driver_watch(driver, "drv-watch-default", NULL, record_event, &barrier,
                                  NULL);
    g_main_context_pop_thread_default(barrier_ctx);

    g_mutex_init(&job.lock);
    g_cond_init(&job.cond);
    job.driver = driver;
    job.cfg = cfg;
    thread = g_thread_new("boot", boot_job_run, &job);
    deadline = g_get_monotonic_time() + WAIT_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
    g_mutex_lock(&job.lock);
    while (!job.done) {
        if (!g_cond_wait_until(&job.cond, &job.lock, deadline))
            g_error("vmc_driver_boot() did not return within %d ms while a watch was made on "
                    "the global default main context (%u callbacks so far)",
                    WAIT_TIMEOUT_MS, rec.kinds->len);
    }
    g_mutex_unlock(&job.lock);
    g_thread_join(thread);
    g_assert_no_error(job.error);
    g_assert_nonnull(job.handle);

    g_main_context_push_thread_default(barrier_ctx);
    wait_events(&barrier, barrier_ctx, 2);
    g_main_context_pop_thread_default(barrier_ctx);
    before_iterating = recorder_count(&rec);

    /* Never a blocking iteration here: a thread blocked in the global
     * default context's poll would starve libvirt's event thread. */
    deadline = g_get_monotonic_time() + WAIT_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
    while (recorder_count(&rec) < 2 && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpuint(recorder_count(&rec), ==, 2);
    if (rec.misplaced > 0)
        g_error("%u of 2 callbacks of a watch made on the global default context ran on "
                "another thread (%u before this thread iterated the context)",
                rec.misplaced, before_iterating);
    g_assert_cmpuint(before_iterating, ==, 0);

    vmc_driver_unwatch(driver, rec.id);
    vmc_driver_unwatch(driver, barrier.id);
    vmc_handle_free(job.handle);
    g_mutex_clear(&job.lock);
    g_cond_clear(&job.cond);
    recorder_clear(&rec);
    recorder_clear(&barrier);
    purge_domain("drv-watch-default");
}

/* ---- errors reach callers ------------------------------------------------- */

static void
test_undefined_behind_back(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-vanished", "ns-errors");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    virDomainPtr dom = virDomainLookupByName(test_conn, "drv-vanished");

    g_assert_nonnull(dom);
    g_assert_cmpint(virDomainDestroy(dom), ==, 0);
    g_assert_cmpint(virDomainUndefine(dom), ==, 0);
    virDomainFree(dom);
    g_assert_cmpint(count_domains("drv-vanished"), ==, 0);

    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_null(state);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-vanished", NULL);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_NO_DOMAIN);
    g_assert_cmpint(vmc_error_get_libvirt_domain(error), ==, VIR_FROM_TEST);
    g_clear_error(&error);

#define CHECK_GONE(call)                                                               \
    do {                                                                               \
        g_assert_false(call);                                                          \
        assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-vanished", NULL);             \
        g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_NO_DOMAIN);     \
        g_clear_error(&error);                                                         \
    } while (0)

    CHECK_GONE(vmc_driver_stop(driver, handle, 1000, &error));
    CHECK_GONE(vmc_driver_kill(driver, handle, &error));
    CHECK_GONE(vmc_driver_pause(driver, handle, &error));
    CHECK_GONE(vmc_driver_resume(driver, handle, &error));
    CHECK_GONE(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));
#undef CHECK_GONE
    g_assert_cmpint(count_domains("drv-vanished"), ==, 0);
}

/* ---- main ----------------------------------------------------------------- */

static void
write_empty(const char *path)
{
    g_autoptr(GError) error = NULL;

    g_file_set_contents(path, "", 0, &error);
    g_assert_no_error(error);
}

/* ---- what review found, fixed ---------------------------------------------- */


/* What a client that saw the guest's marker writes: the Ready record in
 * the live metadata, of the boot @boot (0: the domain's own). Written here
 * as raw text, as another program would. */
static void
write_ready_record(const char *name, const char *ip, unsigned int boot)
{
    virDomainPtr dom = virDomainLookupByName(test_conn, name);
    g_autofree char *xml = NULL;

    g_assert_nonnull(dom);
    xml = g_strdup_printf("<ready ip='%s' boot='%u'/>", ip, boot ? boot : virDomainGetID(dom));
    g_assert_cmpint(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, "vmcr",
                                         "https://virt-vmconfig.dev/xmlns/ready/1",
                                         VIR_DOMAIN_AFFECT_LIVE), ==, 0);
    virDomainFree(dom);
}

/* The test driver's VMs print nothing: a marker in a file at the serial
 * log's path never makes one ready (it is no guest's). The Ready record
 * of this boot does; one of another boot, or with an address that does
 * not parse, does not; and a new boot starts with none. */
static void
test_ready_from_record(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-ready-log", "ns-fixes");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(VmcHandle) again = NULL;
    const char *log = vmc_config_get_serial_log(cfg);
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GPtrArray) listed = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_set_contents(log, "VMRS_READY 192.0.2.1\n", -1, NULL));
    assert_state(driver, handle, VMC_STATE_RUNNING);
    ready = vmc_driver_wait_ready(driver, handle, 600, &error);
    g_assert_null(ready);
    assert_vm_error(error, VMC_ERROR_STATE_FAILED, "drv-ready-log", "Ready record");
    g_clear_error(&error);

    write_ready_record("drv-ready-log", "10.1.2.3", 999);
    assert_state(driver, handle, VMC_STATE_RUNNING);
    write_ready_record("drv-ready-log", "10.1.2.300", 0);
    assert_state(driver, handle, VMC_STATE_RUNNING);
    write_ready_record("drv-ready-log", "10.1.2.3", 0);
    ready = vmc_driver_get_state(driver, handle, NULL);
    assert_kind(vmc_state_get_kind(ready), VMC_STATE_READY);
    g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.1.2.3");
    g_clear_pointer(&ready, vmc_state_free);
    listed = list_ok(driver, "ns-fixes");
    g_assert_cmpuint(listed->len, ==, 1);
    assert_kind(vmc_state_get_kind(vmc_handle_get_state(g_ptr_array_index(listed, 0))),
                VMC_STATE_READY);
    g_assert_cmpstr(vmc_state_get_ip(vmc_handle_get_state(g_ptr_array_index(listed, 0))), ==,
                    "10.1.2.3");
    ready = vmc_driver_wait_ready(driver, handle, 600, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.1.2.3");
    g_clear_pointer(&ready, vmc_state_free);

    /* A ready VM runs: it can be paused and resumed (and is ready again). */
    ASSERT_OK(vmc_driver_pause, driver, handle);
    assert_state(driver, handle, VMC_STATE_PAUSED);
    ASSERT_OK(vmc_driver_resume, driver, handle);
    assert_state(driver, handle, VMC_STATE_READY);
    ASSERT_OK(vmc_driver_resume, driver, handle);

    /* Live metadata dies with the boot. */
    ASSERT_OK(vmc_driver_kill, driver, handle);
    again = boot_ok(driver, cfg);
    assert_state(driver, again, VMC_STATE_RUNNING);

    purge_domain("drv-ready-log");
}

typedef struct {
    VmcDriver *driver;
    const VmcHandle *handle;
} FollowJob;

static void
ignore_serial(const char *data, gsize len, gpointer user_data)
{
}

static gpointer
follow_unfollow(gpointer data)
{
    FollowJob *job = data;
    g_autoptr(GMainContext) context = g_main_context_new();

    g_main_context_push_thread_default(context);
    /* Each follow is an inotify instance (128 per user by default), and
     * one closes a moment after its unfollow. */
    for (int i = 0; i < 10; i++) {
        g_autoptr(GError) error = NULL;
        guint id = vmc_driver_follow_serial(job->driver, job->handle, ignore_serial, NULL, &error);

        g_assert_no_error(error);
        g_assert_cmpuint(id, >, 0);
        vmc_driver_unfollow_serial(job->driver, id);
    }
    g_main_context_pop_thread_default(context);
    return NULL;
}

/* Serial follows made and removed from several threads at once. */
static void
test_follow_serial_threads(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-follow-threads", "ns-fixes");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    FollowJob job = { driver, handle };
    GThread *threads[4];

    g_assert_true(g_file_set_contents(vmc_config_get_serial_log(cfg), "", 0, NULL));
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("follow", follow_unfollow, &job);
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
        g_thread_join(threads[i]);
    purge_domain("drv-follow-threads");
}

/* A boot takes its name's lock file and removes it when it is done. */
static void
test_boot_lock_removed(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-lock-file", "ns-fixes");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autofree char *dir = g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(),
                                            "virt-vmconfig", "locks", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry;

    while (d && (entry = g_dir_read_name(d)))
        g_assert_false(g_str_has_suffix(entry, "-drv-lock-file.lock"));
    purge_domain("drv-lock-file");
}

static int app_handler_calls;

static void
app_error_handler(void *opaque, virErrorPtr err)
{
    app_handler_calls++;
}

/* The library changes no process-wide state: the application's own
 * libvirt error function stays in place (the driver's connections have
 * quiet ones of their own), and the environment is as it was. */
static void
test_process_state_untouched(void)
{
    g_autofree char *log_outputs = g_strdup(g_getenv("LIBVIRT_LOG_OUTPUTS"));
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) none = NULL;
    g_autoptr(GError) error = NULL;

    virSetErrorFunc(NULL, app_error_handler);
    app_handler_calls = 0;
    driver = open_driver();
    none = vmc_driver_lookup(driver, "drv-no-such-vm", &error);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_assert_cmpint(app_handler_calls, ==, 0);
    /* An error of the application's own still reaches its function. */
    g_assert_null(virDomainLookupByName(test_conn, "drv-no-such-vm"));
    g_assert_cmpint(app_handler_calls, ==, 1);
    g_assert_cmpstr(g_getenv("LIBVIRT_LOG_OUTPUTS"), ==, log_outputs);
    virSetErrorFunc(NULL, NULL);
}

/* Drivers by name: one that is not there, and names that are no names. */
static void
test_open_with(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcDriver) libvirt = vmc_driver_open_with("libvirt", TEST_URI, &error);

    g_assert_no_error(error);
    g_assert_nonnull(libvirt);
    g_assert_null(vmc_driver_open_with("no-such-driver", TEST_URI, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR);
    g_assert_nonnull(strstr(error->message, "cannot load the 'no-such-driver' driver"));
    g_clear_error(&error);
    g_assert_null(vmc_driver_open_with("../libvirt", TEST_URI, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR);
    g_assert_nonnull(strstr(error->message, "a driver's name is"));
}

/* ---- foreign domains: list --all, adopt, export ------------------------- */

/* Defines @cfg as another tool would: our rendering without our metadata,
 * plus @extra (an element for <devices>, or NULL). */
static void
define_foreign(const VmcConfig *cfg, const char *extra)
{
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autofree char *xml = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    xmlChar *text = NULL;
    int len = 0;
    virDomainPtr dom;

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    xml = vmc_config_to_domain_xml(cfg, opts, NULL);
    g_assert_nonnull(xml);
    doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);
    ctxt = xmlXPathNewContext(doc);
    {
        xmlXPathObject *meta = xmlXPathEvalExpression((const xmlChar *) "/domain/metadata", ctxt);
        xmlNode *node;

        g_assert_cmpint(meta->nodesetval->nodeNr, ==, 1);
        node = meta->nodesetval->nodeTab[0];
        /* the node set goes first: freeing it reads the nodes */
        xmlXPathFreeObject(meta);
        xmlUnlinkNode(node);
        xmlFreeNode(node);
    }
    if (extra) {
        xmlXPathObject *devices = xmlXPathEvalExpression((const xmlChar *) "/domain/devices", ctxt);
        xmlNode *node = NULL;
        g_assert_cmpint(xmlParseInNodeContext(devices->nodesetval->nodeTab[0], extra,
                                              (int) strlen(extra), 0, &node), ==, XML_ERR_OK);
        xmlAddChild(devices->nodesetval->nodeTab[0], node);
        xmlXPathFreeObject(devices);
    }
    xmlDocDumpMemory(doc, &text, &len);
    dom = virDomainDefineXML(test_conn, (const char *) text);
    xmlFree(text);
    g_assert_nonnull(dom);
    virDomainFree(dom);
}

static const VmcHandle *
find_handle(GPtrArray *handles, const char *name)
{
    for (guint i = 0; i < handles->len; i++) {
        const VmcHandle *h = g_ptr_array_index(handles, i);
        if (g_str_equal(vmc_handle_get_name(h), name))
            return h;
    }
    return NULL;
}

static void
test_list_all(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-listall-ours", "ns-listall");
    g_autoptr(VmcHandle) ours = boot_ok(driver, cfg);
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) mine = NULL;
    g_autoptr(GError) error = NULL;
    const VmcHandle *h;

    all = vmc_driver_list_all(driver, &error);
    g_assert_no_error(error);
    /* The test driver's own domain is foreign, with its state. */
    h = find_handle(all, "test");
    g_assert_nonnull(h);
    g_assert_true(vmc_handle_is_foreign(h));
    g_assert_cmpint(vmc_state_get_kind(vmc_handle_get_state(h)), ==, VMC_STATE_RUNNING);
    h = find_handle(all, "drv-listall-ours");
    g_assert_nonnull(h);
    g_assert_false(vmc_handle_is_foreign(h));
    g_assert_cmpstr(vmc_handle_get_namespace(h), ==, "ns-listall");
    for (guint i = 1; i < all->len; i++)
        g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(all, i - 1)), <,
                        vmc_handle_get_name(g_ptr_array_index(all, i)));
    /* list() still shows ours only. */
    mine = vmc_driver_list(driver, NULL, &error);
    g_assert_null(find_handle(mine, "test"));
    g_assert_true(vmc_driver_delete(driver, ours, VMC_DELETE_DEFAULT, &error));
}

static void
test_adopt(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-adopt", "unused");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) again = NULL;
    g_autoptr(VmcHandle) booted = NULL;
    g_autoptr(VmcConfig) exported = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lost = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autofree char *uuid = vmc_config_get_uuid_string(cfg);

    define_foreign(cfg, NULL);
    /* Foreign: refused, and the refusal says how to adopt it. */
    handle = vmc_driver_lookup(driver, "drv-adopt", &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-adopt", "virt-vmconfig adopt drv-adopt");
    g_clear_error(&error);

    handle = vmc_driver_adopt(driver, "drv-adopt", "ns-adopted", VMC_ADOPT_DEFAULT, &lost, &error);
    g_assert_no_error(error);
    g_assert_nonnull(handle);
    g_assert_nonnull(lost);
    g_assert_null(lost[0]);
    g_assert_false(vmc_handle_is_foreign(handle));
    g_assert_cmpstr(vmc_handle_get_namespace(handle), ==, "ns-adopted");
    g_assert_cmpstr(vmc_handle_get_uuid(handle), ==, uuid);

    /* Ours now: a second adopt is refused, lookup finds it. */
    again = vmc_driver_adopt(driver, "drv-adopt", "ns-adopted", VMC_ADOPT_DEFAULT, NULL, &error);
    g_assert_null(again);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-adopt", "already");
    g_clear_error(&error);
    again = vmc_driver_lookup(driver, "drv-adopt", &error);
    g_assert_no_error(error);

    /* export gives a config that boots the same domain. */
    exported = vmc_driver_export(driver, handle, &warnings, &error);
    g_assert_no_error(error);
    g_assert_nonnull(warnings);
    g_assert_null(warnings[0]);
    g_assert_cmpstr(vmc_config_get_namespace(exported), ==, "ns-adopted");
    g_assert_cmpstr(vmc_config_get_kernel(exported), ==, vmc_config_get_kernel(cfg));
    g_assert_cmpuint(vmc_config_get_n_shared_dirs(exported), ==, 1);
    {
        g_autofree char *exported_uuid = vmc_config_get_uuid_string(exported);
        g_assert_cmpstr(exported_uuid, ==, uuid);
    }
    booted = boot_ok(driver, exported);
    g_assert_cmpstr(vmc_handle_get_uuid(booted), ==, uuid);
    g_assert_true(vmc_driver_delete(driver, booted, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
}

static void
test_adopt_lossy(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-adopt-lossy", "unused");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lost = NULL;
    g_auto(GStrv) lost_forced = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    define_foreign(cfg, "<graphics type='vnc' port='-1'/>");
    before = domain_xml("drv-adopt-lossy", VIR_DOMAIN_XML_INACTIVE);
    handle = vmc_driver_adopt(driver, "drv-adopt-lossy", "ns-lossy", VMC_ADOPT_DEFAULT, &lost,
                              &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_INVALID_CONFIG, "drv-adopt-lossy", "--force");
    g_assert_nonnull(strstr(error->message, "graphics"));
    g_assert_nonnull(lost);
    g_assert_nonnull(lost[0]);
    g_clear_error(&error);
    /* Nothing was changed. */
    after = domain_xml("drv-adopt-lossy", VIR_DOMAIN_XML_INACTIVE);
    g_assert_cmpstr(before, ==, after);

    handle = vmc_driver_adopt(driver, "drv-adopt-lossy", "ns-lossy", VMC_ADOPT_FORCE,
                              &lost_forced, &error);
    g_assert_no_error(error);
    g_assert_nonnull(handle);
    g_assert_cmpstr(lost_forced[0], ==, lost[0]);
    /* Until a boot renders it from its config, export says the same. */
    {
        g_auto(GStrv) warnings = NULL;
        g_autoptr(VmcConfig) exported = vmc_driver_export(driver, handle, &warnings, &error);

        g_assert_no_error(error);
        g_assert_nonnull(exported);
        g_assert_true(g_strv_equal((const char *const *) warnings,
                                   (const char *const *) lost_forced));
    }
    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));

    /* A domain that reads back as no valid config is never adopted. */
    g_clear_pointer(&handle, vmc_handle_free);
    handle = vmc_driver_adopt(driver, "test", "ns-lossy", VMC_ADOPT_FORCE, NULL, &error);
    g_assert_null(handle);
    assert_vm_error(error, VMC_ERROR_INVALID_CONFIG, "test", "no valid VM config");
    g_clear_error(&error);
    handle = vmc_driver_lookup(driver, "test", &error);
    g_assert_null(handle);
}


static void
count_event(VmcDriver *driver, const VmcEvent *event, gpointer data)
{
    (*(guint *) data)++;
}

/* The open file descriptors of this process. */
static guint
count_fds(void)
{
    g_autoptr(GPtrArray) fds = vmc_test_open_fds();

    return fds->len;
}

/* 300 boots and kills in one process, with a watch following them: no
 * file descriptor and (beyond a small allowance) no memory left per
 * cycle. */
static void
test_boot_kill_cycles(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-cycles", "ns-cycles");
    g_autoptr(GMainContext) context = g_main_context_new();
    const guint cycles = g_getenv("VMC_UNDER_VALGRIND") ? 60 : 300, warm = 20;
    guint fds_before = 0, events = 0, watch;
    guint64 rss_before = 0;

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch(driver, NULL, "ns-cycles", count_event, &events, NULL);
    for (guint i = 0; i < cycles; i++) {
        g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) list = NULL;

        assert_state(driver, handle, VMC_STATE_RUNNING);
        ASSERT_OK(vmc_driver_kill, driver, handle);
        list = vmc_driver_list(driver, "ns-cycles", &error);
        g_assert_no_error(error);
        g_assert_cmpuint(list->len, ==, 1);
        /* Each cycle ends when the watch has had its three events (defined,
         * started, stopped): the follow of the stopped VM is gone then, so
         * the descriptors are counted at the same point of every cycle. */
        {
            gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

            while (events < 3 * (i + 1) && g_get_monotonic_time() < deadline)
                g_main_context_iteration(context, events < 3 * (i + 1));
            while (g_main_context_iteration(context, FALSE))
                ;
        }
        if (i + 1 == warm) {
            fds_before = count_fds();
            rss_before = vmc_test_rss_kib();
        }
    }
    g_assert_cmpuint(events, >=, cycles);
    /* One eventfd (of a GMainContext a thread of GLib's or libvirt's makes
     * on first use) may appear after the warm-up, as seen under valgrind;
     * a leak per cycle would show as one per cycle. */
    /* The serial watches' inotify descriptors are closed by a thread of
     * their own, later (closing one waits for the kernel): they are given
     * 10 s to go. A leaked one never would. */
    {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (count_fds() > fds_before + 1 && g_get_monotonic_time() < deadline)
            g_usleep(20000);
    }
    g_test_message("%u cycles: %u events; fds %u -> %u, RSS %" G_GUINT64_FORMAT " -> %"
                   G_GUINT64_FORMAT " KiB", cycles, events, fds_before, count_fds(), rss_before,
                   vmc_test_rss_kib());
    if (count_fds() > fds_before + 1) {
        g_autoptr(GPtrArray) fds = vmc_test_open_fds();
        g_ptr_array_add(fds, NULL);
        g_error("file descriptors went from %u to %u:\n%s", fds_before, fds->len - 1,
                g_strjoinv("\n", (char **) fds->pdata));
    }
    if (vmc_test_rss_is_meaningful())
        g_assert_cmpuint(vmc_test_rss_kib(), <, rss_before + 2048);
    vmc_driver_unwatch(driver, watch);
    g_main_context_pop_thread_default(context);
    purge_domain("drv-cycles");
}


/* A watch started after a VM was defined (by another driver: another
 * process, as far as the watch can tell) hears of its deletion, although
 * an undefined domain has no metadata left to say that it was ours. */
static void
test_watch_sees_delete_of_older_vm(void)
{
    g_autoptr(VmcDriver) maker = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-older", "ns-older");
    g_autoptr(VmcHandle) handle = boot_ok(maker, cfg);
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) watcher = NULL;
    guint events = 0, watch;
    gint64 deadline;

    ASSERT_OK(vmc_driver_kill, maker, handle);
    g_main_context_push_thread_default(context);
    watcher = open_driver();
    watch = vmc_driver_watch(watcher, NULL, NULL, count_event, &events, NULL);
    while (g_main_context_iteration(context, FALSE))
        ;
    events = 0;
    g_assert_true(vmc_driver_delete(maker, handle, VMC_DELETE_DEFAULT, NULL));
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (events == 0 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(context, FALSE);
    g_assert_cmpuint(events, ==, 1);
    vmc_driver_unwatch(watcher, watch);
    g_main_context_pop_thread_default(context);
}

/* The serial logs in data/hostile/serial/: NAME.expect says "IP address"
 * or "NONE"; fed whole and a byte at a time, the scanner agrees. */
static void
test_ready_scanner_hostile(void)
{
    g_autofree char *dir = g_test_build_filename(G_TEST_DIST, "data", "hostile", "serial", NULL);
    g_autoptr(GPtrArray) names = vmc_test_list_dir(dir, ".log");

    g_assert_cmpuint(names->len, >=, 10);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *base = g_strndup(path, strlen(path) - strlen(".log"));
        g_autofree char *expect_path = g_strconcat(base, ".expect", NULL);
        g_autofree char *data = NULL;
        g_autofree char *expect = NULL;
        g_autoptr(VmcReadyScanner) whole = vmc_ready_scanner_new();
        g_autoptr(VmcReadyScanner) bytes = vmc_ready_scanner_new();
        const char *want = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(path, &data, &len, NULL));
        g_assert_true(g_file_get_contents(expect_path, &expect, NULL, NULL));
        g_strstrip(expect);
        if (g_str_has_prefix(expect, "IP "))
            want = expect + 3;
        else
            g_assert_cmpstr(expect, ==, "NONE");
        vmc_ready_scanner_feed(whole, data, len);
        for (gsize j = 0; j < len; j++)
            vmc_ready_scanner_feed(bytes, data + j, 1);
        if (g_strcmp0(vmc_ready_scanner_get_ip(whole), want) != 0)
            g_error("%s: the scanner found %s, expected %s", name,
                    vmc_ready_scanner_get_ip(whole) ? vmc_ready_scanner_get_ip(whole) : "none",
                    want ? want : "none");
        g_assert_cmpstr(vmc_ready_scanner_get_ip(bytes), ==, want);
    }
}

/* ---- the _async calls --------------------------------------------------- */

/* Where and when an _async call's callback ran. */
typedef struct {
    GMainContext *context;    /* the thread-default context of the caller */
    GThread *thread;          /* the caller */
    GAsyncResult *result;
    gboolean in_context;
    gboolean in_thread;
    gint64 done_at;
} AsyncCall;

static void
async_call_init(AsyncCall *call, GMainContext *context)
{
    memset(call, 0, sizeof(*call));
    call->context = context;
    call->thread = g_thread_self();
}

static void
async_done(GObject *source, GAsyncResult *result, gpointer data)
{
    AsyncCall *call = data;

    g_assert_null(source);
    g_assert_null(call->result);
    call->in_thread = g_thread_self() == call->thread;
    call->in_context = g_main_context_is_owner(call->context) &&
                       g_main_context_get_thread_default() == call->context;
    call->done_at = g_get_monotonic_time();
    call->result = g_object_ref(result);
}

/* Runs the caller's context until the callback ran (bounded), and checks
 * it ran there; returns the result, for the _finish call. */
static GAsyncResult *
async_wait(AsyncCall *call, const char *what)
{
    gboolean timed_out = FALSE;
    g_autoptr(GSource) bound = g_timeout_source_new(WAIT_TIMEOUT_MS);

    g_source_set_callback(bound, set_flag, &timed_out, NULL);
    g_source_attach(bound, call->context);
    while (!call->result && !timed_out)
        g_main_context_iteration(call->context, TRUE);
    g_source_destroy(bound);
    if (!call->result)
        g_error("%s did not call back within %d ms", what, WAIT_TIMEOUT_MS);
    g_assert_true(call->in_thread);
    g_assert_true(call->in_context);
    return g_steal_pointer(&call->result);
}

/* Every call, each completing on a context of the test's own that is
 * thread-default here (not the global default context). */
static void
test_async_lifecycle(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-async", "ns-async");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) removed = NULL;
    AsyncCall call;

    g_main_context_push_thread_default(context);

    async_call_init(&call, context);
    vmc_driver_boot_async(driver, cfg, NULL, async_done, &call);
    /* Never on the global default context. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_boot_async()");
        handle = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_no_error(error);
    g_assert_nonnull(handle);
    g_assert_cmpstr(vmc_handle_get_name(handle), ==, "drv-async");
    g_assert_cmpint(domain_active("drv-async"), ==, 1);

    async_call_init(&call, context);
    vmc_driver_get_state_async(driver, handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_get_state_async()");
        state = vmc_driver_get_state_finish(driver, result, &error);
    }
    g_assert_no_error(error);
    assert_kind(vmc_state_get_kind(state), VMC_STATE_RUNNING);
    g_clear_pointer(&state, vmc_state_free);

    async_call_init(&call, context);
    vmc_driver_pause_async(driver, handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_pause_async()");
        g_assert_true(vmc_driver_pause_finish(driver, result, &error));
    }
    g_assert_no_error(error);
    assert_state(driver, handle, VMC_STATE_PAUSED);

    async_call_init(&call, context);
    vmc_driver_resume_async(driver, handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_resume_async()");
        g_assert_true(vmc_driver_resume_finish(driver, result, &error));
    }
    g_assert_no_error(error);
    assert_state(driver, handle, VMC_STATE_RUNNING);

    write_ready_record(vmc_config_get_name(cfg), "10.7.7.7", 0);
    async_call_init(&call, context);
    vmc_driver_wait_ready_async(driver, handle, WAIT_TIMEOUT_MS, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_wait_ready_async()");
        state = vmc_driver_wait_ready_finish(driver, result, &error);
    }
    g_assert_no_error(error);
    assert_kind(vmc_state_get_kind(state), VMC_STATE_READY);
    g_assert_cmpstr(vmc_state_get_ip(state), ==, "10.7.7.7");

    async_call_init(&call, context);
    vmc_driver_stop_async(driver, handle, WAIT_TIMEOUT_MS, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_stop_async()");
        g_assert_true(vmc_driver_stop_finish(driver, result, &error));
    }
    g_assert_no_error(error);
    g_assert_cmpint(domain_active("drv-async"), ==, 0);

    g_clear_pointer(&handle, vmc_handle_free);
    handle = boot_ok(driver, cfg);
    async_call_init(&call, context);
    vmc_driver_kill_async(driver, handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_kill_async()");
        g_assert_true(vmc_driver_kill_finish(driver, result, &error));
    }
    g_assert_no_error(error);
    g_assert_cmpint(domain_active("drv-async"), ==, 0);

    async_call_init(&call, context);
    vmc_driver_delete_async(driver, handle, VMC_DELETE_DEFAULT, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_delete_async()");
        g_assert_true(vmc_driver_delete_finish(driver, result, &error));
    }
    g_assert_no_error(error);
    g_assert_cmpint(count_domains("drv-async"), ==, 0);

    /* The test driver has no storage pool of ours: nothing to remove. */
    async_call_init(&call, context);
    vmc_driver_gc_staged_async(driver, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_gc_staged_async()");
        removed = vmc_driver_gc_staged_finish(driver, result, &error);
    }
    g_assert_no_error(error);
    g_assert_nonnull(removed);
    g_assert_cmpuint(g_strv_length(removed), ==, 0);

    g_main_context_pop_thread_default(context);
    purge_domain("drv-async");
}

/* A call made from another thread calls back on that thread's context. */
typedef struct {
    VmcDriver *driver;
    const VmcHandle *handle;
    VmcStateKind kind;
} AsyncThreadJob;

static gpointer
async_thread_run(gpointer data)
{
    AsyncThreadJob *job = data;
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    AsyncCall call;

    g_main_context_push_thread_default(context);
    async_call_init(&call, context);
    vmc_driver_get_state_async(job->driver, job->handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_get_state_async()");
        state = vmc_driver_get_state_finish(job->driver, result, &error);
    }
    g_assert_no_error(error);
    job->kind = vmc_state_get_kind(state);
    g_main_context_pop_thread_default(context);
    return NULL;
}

static void
test_async_other_thread(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-async-thread", "ns-async");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    AsyncThreadJob job = { driver, handle, VMC_STATE_FAILED };

    g_thread_join(g_thread_new("async-caller", async_thread_run, &job));
    assert_kind(job.kind, VMC_STATE_RUNNING);
    purge_domain("drv-async-thread");
}

/* The errors of the sync calls come through _finish. */
static void
test_async_errors(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) bad = make_config("drv-async-bad", "ns-async");
    g_autoptr(VmcConfig) cfg = make_config("drv-async-err", "ns-async");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) none = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    AsyncCall call;

    g_main_context_push_thread_default(context);

    vmc_config_set_cpus(bad, 0);
    async_call_init(&call, context);
    vmc_driver_boot_async(driver, bad, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_boot_async()");
        none = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_null(none);
    assert_vm_error(error, VMC_ERROR_INVALID_CONFIG, "drv-async-bad", NULL);
    g_clear_error(&error);
    g_assert_cmpint(count_domains("drv-async-bad"), ==, 0);

    /* A running VM is refused, and left running. */
    handle = boot_ok(driver, cfg);
    async_call_init(&call, context);
    vmc_driver_boot_async(driver, cfg, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_boot_async()");
        none = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_null(none);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-async-err", "already running");
    g_clear_error(&error);
    g_assert_cmpint(domain_active("drv-async-err"), ==, 1);

    /* The VM stops while the wait goes on: BOOT_FAILED, as the sync call. */
    ASSERT_OK(vmc_driver_kill, driver, handle);
    async_call_init(&call, context);
    vmc_driver_wait_ready_async(driver, handle, WAIT_TIMEOUT_MS, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_wait_ready_async()");
        state = vmc_driver_wait_ready_finish(driver, result, &error);
    }
    g_assert_null(state);
    assert_vm_error(error, VMC_ERROR_BOOT_FAILED, "drv-async-err", "stopped before");
    g_clear_error(&error);

    /* Gone behind the driver's back: NOT_FOUND. */
    purge_domain("drv-async-err");
    async_call_init(&call, context);
    vmc_driver_get_state_async(driver, handle, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_get_state_async()");
        state = vmc_driver_get_state_finish(driver, result, &error);
    }
    g_assert_null(state);
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-async-err", NULL);
    g_clear_error(&error);

    async_call_init(&call, context);
    vmc_driver_delete_async(driver, handle, VMC_DELETE_DEFAULT, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_delete_async()");
        g_assert_false(vmc_driver_delete_finish(driver, result, &error));
    }
    assert_vm_error(error, VMC_ERROR_NOT_FOUND, "drv-async-err", NULL);

    g_main_context_pop_thread_default(context);
}

static void
assert_cancelled(const GError *error, const char *name)
{
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    if (name) {
        g_autofree char *quoted = g_strdup_printf("'%s'", name);
        g_assert_nonnull(strstr(error->message, quoted));
    }
}

/* A cancellable cancelled before the call: CANCELLED, and nothing done. */
static void
test_async_cancelled_before(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-async-cancel", "ns-async");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(VmcConfig) staged = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) removed = NULL;
    g_autofree char *xml_before = NULL;
    g_autofree char *xml_after = NULL;
    AsyncCall call;

    g_main_context_push_thread_default(context);
    g_cancellable_cancel(cancellable);

    async_call_init(&call, context);
    vmc_driver_boot_async(driver, cfg, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_boot_async()");
        handle = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_null(handle);
    assert_cancelled(error, "drv-async-cancel");
    g_clear_error(&error);
    g_assert_cmpint(count_domains("drv-async-cancel"), ==, 0);

    handle = boot_ok(driver, cfg);
    xml_before = domain_xml("drv-async-cancel", 0);

#define CANCELLED_OK_CALL(call_async, call_finish, ...)                                 \
    G_STMT_START {                                                                      \
        async_call_init(&call, context);                                                \
        call_async(driver, __VA_ARGS__, cancellable, async_done, &call);                \
        {                                                                               \
            g_autoptr(GAsyncResult) result_ = async_wait(&call, #call_async "()");      \
            g_assert_false(call_finish(driver, result_, &error));                       \
        }                                                                               \
        assert_cancelled(error, "drv-async-cancel");                                    \
        g_clear_error(&error);                                                          \
        g_assert_cmpint(domain_active("drv-async-cancel"), ==, 1);                      \
    } G_STMT_END

    CANCELLED_OK_CALL(vmc_driver_stop_async, vmc_driver_stop_finish, handle, WAIT_TIMEOUT_MS);
    CANCELLED_OK_CALL(vmc_driver_kill_async, vmc_driver_kill_finish, handle);
    CANCELLED_OK_CALL(vmc_driver_pause_async, vmc_driver_pause_finish, handle);
    CANCELLED_OK_CALL(vmc_driver_delete_async, vmc_driver_delete_finish, handle,
                      VMC_DELETE_DEFAULT);
    assert_state(driver, handle, VMC_STATE_RUNNING);
    ASSERT_OK(vmc_driver_pause, driver, handle);
    CANCELLED_OK_CALL(vmc_driver_resume_async, vmc_driver_resume_finish, handle);
    assert_state(driver, handle, VMC_STATE_PAUSED);
    ASSERT_OK(vmc_driver_resume, driver, handle);
#undef CANCELLED_OK_CALL

    /* Ready, as another client recorded it: a cancelled wait still fails. */
    write_ready_record(vmc_config_get_name(cfg), "10.7.7.8", 0);
    g_free(xml_before);
    xml_before = domain_xml("drv-async-cancel", 0);

    async_call_init(&call, context);
    vmc_driver_wait_ready_async(driver, handle, WAIT_TIMEOUT_MS, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_wait_ready_async()");
        state = vmc_driver_wait_ready_finish(driver, result, &error);
    }
    g_assert_null(state);
    assert_cancelled(error, "drv-async-cancel");
    g_clear_error(&error);

    async_call_init(&call, context);
    vmc_driver_get_state_async(driver, handle, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_get_state_async()");
        state = vmc_driver_get_state_finish(driver, result, &error);
    }
    g_assert_null(state);
    assert_cancelled(error, "drv-async-cancel");
    g_clear_error(&error);

    async_call_init(&call, context);
    vmc_driver_stage_async(driver, cfg, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_stage_async()");
        staged = vmc_driver_stage_finish(driver, result, &error);
    }
    g_assert_null(staged);
    assert_cancelled(error, "drv-async-cancel");
    g_clear_error(&error);

    async_call_init(&call, context);
    vmc_driver_gc_staged_async(driver, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_gc_staged_async()");
        removed = vmc_driver_gc_staged_finish(driver, result, &error);
    }
    g_assert_null(removed);
    assert_cancelled(error, NULL);
    g_clear_error(&error);

    /* Nothing happened to the VM: same domain, same run. */
    xml_after = domain_xml("drv-async-cancel", 0);
    g_assert_cmpstr(xml_before, ==, xml_after);
    g_assert_cmpint(count_domains("drv-async-cancel"), ==, 1);

    g_main_context_pop_thread_default(context);
    purge_domain("drv-async-cancel");
}

typedef struct {
    GCancellable *cancellable;
    gint64 cancelled_at;
} CancelLater;

static gboolean
cancel_later(gpointer data)
{
    CancelLater *later = data;

    later->cancelled_at = g_get_monotonic_time();
    g_cancellable_cancel(later->cancellable);
    return G_SOURCE_REMOVE;
}

/* A wait for a marker that never comes ends as soon as it is cancelled,
 * from a timeout on the caller's own context; the worker does not wait on. */
static void
test_async_cancel_wait_ready(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-async-wait", "ns-async");
    g_autoptr(VmcHandle) handle = boot_ok(driver, cfg);
    g_autoptr(GSource) timer = g_timeout_source_new(300);
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    CancelLater later = { cancellable, 0 };
    AsyncCall call;

    g_main_context_push_thread_default(context);
    g_assert_true(g_file_set_contents(vmc_config_get_serial_log(cfg), "booting\n", -1, NULL));
    g_source_set_callback(timer, cancel_later, &later, NULL);
    g_source_attach(timer, context);

    async_call_init(&call, context);
    vmc_driver_wait_ready_async(driver, handle, 120000, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_wait_ready_async()");
        state = vmc_driver_wait_ready_finish(driver, result, &error);
    }
    g_assert_null(state);
    assert_cancelled(error, "drv-async-wait");
    g_assert_cmpint(later.cancelled_at, >, 0);
    g_test_message("cancelled wait_ready reported %.3f s after the cancel",
                   (call.done_at - later.cancelled_at) / 1e6);
    g_assert_cmpint(call.done_at - later.cancelled_at, <, G_TIME_SPAN_SECOND);
    g_assert_cmpint(domain_active("drv-async-wait"), ==, 1);

    g_main_context_pop_thread_default(context);
    purge_domain("drv-async-wait");
}

/* A boot that waits for the boot lock of its name (held here, as another
 * process would hold it) ends on the cancel, having changed nothing. */
static void
test_async_cancel_boot_lock(void)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("drv-async-lock", "ns-async");
    g_autofree char *uri_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA1, TEST_URI, -1);
    g_autofree char *dir = g_build_filename(geteuid() == 0 ? "/run" : g_get_user_runtime_dir(),
                                            "virt-vmconfig", "locks", NULL);
    g_autofree char *file = g_strdup_printf("%.16s-drv-async-lock.lock", uri_hash);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GSource) timer = g_timeout_source_new(300);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    CancelLater later = { cancellable, 0 };
    AsyncCall call;
    int fd;

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(flock(fd, LOCK_EX), ==, 0);

    g_main_context_push_thread_default(context);
    g_source_set_callback(timer, cancel_later, &later, NULL);
    g_source_attach(timer, context);
    async_call_init(&call, context);
    vmc_driver_boot_async(driver, cfg, cancellable, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, "vmc_driver_boot_async()");
        handle = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_null(handle);
    assert_cancelled(error, "drv-async-lock");
    g_assert_cmpint(call.done_at - later.cancelled_at, <, G_TIME_SPAN_SECOND);
    g_assert_cmpint(count_domains("drv-async-lock"), ==, 0);
    g_main_context_pop_thread_default(context);

    g_unlink(path);
    close(fd);
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    VmcDriver *first;
    int rc;

    g_test_init(&argc, &argv, NULL);

    tmp_dir = g_dir_make_tmp("vmc-test-driver-XXXXXX", &error);
    g_assert_no_error(error);
    kernel_path = g_build_filename(tmp_dir, "vmlinuz", NULL);
    initrd_path = g_build_filename(tmp_dir, "initrd.img", NULL);
    log_dir = g_build_filename(tmp_dir, "logs", NULL);
    share_dir = g_build_filename(tmp_dir, "share", NULL);
    write_empty(kernel_path);
    write_empty(initrd_path);
    g_assert_cmpint(g_mkdir(log_dir, 0755), ==, 0);
    g_assert_cmpint(g_mkdir(share_dir, 0755), ==, 0);

    /* The library registers libvirt's event loop before any connection;
     * then test_conn keeps the test driver's state for the whole run. */
    first = open_driver();
    test_conn = virConnectOpen(TEST_URI);
    g_assert_nonnull(test_conn);
    vmc_driver_free(first);

    g_test_add_func("/driver/boot/handle", test_boot_handle);
    g_test_add_func("/driver/boot/list", test_list);
    g_test_add_func("/driver/idempotent/boot-stopped", test_boot_stopped_again);
    g_test_add_func("/driver/idempotent/boot-running", test_boot_running_refused);
    g_test_add_func("/driver/idempotent/stop-stopped", test_stop_stopped);
    g_test_add_func("/driver/idempotent/kill-stopped", test_kill_stopped);
    g_test_add_func("/driver/idempotent/pause-resume", test_pause_resume_idempotent);
    g_test_add_func("/driver/idempotent/pause-stopped", test_pause_stopped);
    g_test_add_func("/driver/ownership/boot-foreign", test_boot_foreign);
    g_test_add_func("/driver/ownership/lookup-foreign", test_lookup_foreign);
    g_test_add_func("/driver/ownership/namespace-collision", test_namespace_collision);
    g_test_add_func("/driver/lifecycle/stop", test_stop);
    g_test_add_func("/driver/lifecycle/kill", test_kill);
    g_test_add_func("/driver/lifecycle/pause-resume", test_pause_resume);
    g_test_add_func("/driver/lifecycle/delete", test_delete);
    g_test_add_func("/driver/lifecycle/delete-running", test_delete_running);
    g_test_add_func("/driver/refused/invalid-config", test_invalid_config);
    g_test_add_func("/driver/refused/missing-files", test_missing_files);
    g_test_add_func("/driver/concurrent/shared-driver", test_concurrent_shared);
    g_test_add_func("/driver/concurrent/own-drivers", test_concurrent_separate);
    g_test_add_func("/driver/concurrent/shared-driver-untouched",
                    test_concurrent_shared_untouched);
    g_test_add_func("/driver/concurrent/own-drivers-untouched",
                    test_concurrent_separate_untouched);
    g_test_add_func("/driver/watch/events", test_watch_events);
    g_test_add_func("/driver/watch/stop", test_watch_stop);
    g_test_add_func("/driver/watch/unwatch-in-callback", test_watch_unwatch_in_callback);
    g_test_add_func("/driver/watch/default-context", test_watch_default_context);
    g_test_add_func("/driver/errors/undefined-behind-back", test_undefined_behind_back);
    g_test_add_func("/driver/fixes/ready-from-record", test_ready_from_record);
    g_test_add_func("/driver/fixes/follow-serial-threads", test_follow_serial_threads);
    g_test_add_func("/driver/fixes/boot-lock-removed", test_boot_lock_removed);
    g_test_add_func("/driver/fixes/process-state-untouched", test_process_state_untouched);
    g_test_add_func("/driver/open-with", test_open_with);
    g_test_add_func("/driver/foreign/list-all", test_list_all);
    g_test_add_func("/driver/foreign/adopt", test_adopt);
    g_test_add_func("/driver/foreign/adopt-lossy", test_adopt_lossy);
    g_test_add_func("/driver/boot-kill-cycles", test_boot_kill_cycles);
    g_test_add_func("/driver/ready-scanner-hostile", test_ready_scanner_hostile);
    g_test_add_func("/driver/watch-sees-delete-of-older-vm", test_watch_sees_delete_of_older_vm);
    g_test_add_func("/driver/async/lifecycle", test_async_lifecycle);
    g_test_add_func("/driver/async/other-thread", test_async_other_thread);
    g_test_add_func("/driver/async/errors", test_async_errors);
    g_test_add_func("/driver/async/cancelled-before", test_async_cancelled_before);
    g_test_add_func("/driver/async/cancel-wait-ready", test_async_cancel_wait_ready);
    g_test_add_func("/driver/async/cancel-boot-lock", test_async_cancel_boot_lock);

    rc = g_test_run();

    virConnectClose(test_conn);
    vmc_test_rm_rf(tmp_dir);
    g_free(kernel_path);
    g_free(initrd_path);
    g_free(log_dir);
    g_free(share_dir);
    g_free(tmp_dir);
    return rc;
}
