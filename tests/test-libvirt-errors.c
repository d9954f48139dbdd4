/*
 * test-libvirt-errors.c: libvirt's errors become the right VmcError
 *
 * The mapping table is checked row by row, then real failures are made
 * to happen in libvirt (the test driver, the embedded QEMU driver, a
 * socket that is not there) and each must keep libvirt's code, domain and
 * message inside the VMC_ERROR it becomes.
 */
#include "vmc-host-private.h"
#include "vmc-libvirt-private.h"
#include "vmc-test.h"

#include <string.h>

#define ALL_OPS ((VmcOperation) -1)
#define OWN ((VmcError) -1)
#define N_OPS (VMC_OP_LIST + 1)

static virConnectPtr test_conn;
static virConnectPtr embed_conn;
static char *root_dir;

/* Written out again rather than shared, so that the test says what the
 * library must do. */
static const VmcError op_codes[N_OPS] = {
    [VMC_OP_CONNECT] = VMC_ERROR_HYPERVISOR,
    [VMC_OP_DEFINE] = VMC_ERROR_BOOT_FAILED,
    [VMC_OP_START] = VMC_ERROR_BOOT_FAILED,
    [VMC_OP_STOP] = VMC_ERROR_STOP_FAILED,
    [VMC_OP_KILL] = VMC_ERROR_STOP_FAILED,
    [VMC_OP_STATE] = VMC_ERROR_STATE_FAILED,
    [VMC_OP_PAUSE] = VMC_ERROR_STATE_FAILED,
    [VMC_OP_RESUME] = VMC_ERROR_STATE_FAILED,
    [VMC_OP_DELETE] = VMC_ERROR_STATE_FAILED,
    [VMC_OP_LOOKUP] = VMC_ERROR_STATE_FAILED,
    [VMC_OP_LIST] = VMC_ERROR_STATE_FAILED,
};

typedef struct {
    VmcOperation op;    /* or ALL_OPS */
    int code;
    int domain;
    VmcError expected;  /* or OWN: the operation's code */
    const char *name;
} Mapping;

#define M(op, code, domain, expected) { op, code, domain, expected, #code "/" #domain "/" #op }

/* At least one row for each row of the library's table, in its order. */
static const Mapping mappings[] = {
    M(ALL_OPS, VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, VMC_ERROR_NOT_FOUND),
    M(ALL_OPS, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, VMC_ERROR_NOT_FOUND),

    M(VMC_OP_DEFINE, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_STATE, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VMC_ERROR_STATE_FAILED),
    M(VMC_OP_DEFINE, VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_START, VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VMC_ERROR_BOOT_FAILED),
    M(VMC_OP_DEFINE, VIR_ERR_XML_INVALID_SCHEMA, VIR_FROM_DOMAIN, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_LIST, VIR_ERR_XML_INVALID_SCHEMA, VIR_FROM_DOMAIN, VMC_ERROR_STATE_FAILED),
    M(VMC_OP_DEFINE, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_DEFINE, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_START, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_BOOT_FAILED),
    M(VMC_OP_PAUSE, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_STATE_FAILED),
    M(VMC_OP_DEFINE, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_STOP, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, VMC_ERROR_STOP_FAILED),
    M(VMC_OP_CONNECT, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, VMC_ERROR_HYPERVISOR),
    M(VMC_OP_DEFINE, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_INVALID_CONFIG),
    M(VMC_OP_KILL, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_STOP_FAILED),
    M(VMC_OP_DELETE, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, VMC_ERROR_STATE_FAILED),

    M(ALL_OPS, VIR_ERR_NO_CONNECT, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_INVALID_CONN, VIR_FROM_NONE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_AUTH_CANCELLED, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_AUTH_UNAVAILABLE, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_ACCESS_DENIED, VIR_FROM_ACCESS, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_RPC, VIR_FROM_RPC, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_RPC, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_NO_SUPPORT, VIR_FROM_NONE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE, VMC_ERROR_HYPERVISOR),
    M(ALL_OPS, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, OWN),

    M(ALL_OPS, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, OWN),
    M(ALL_OPS, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN, OWN),
    M(ALL_OPS, VIR_ERR_DOM_EXIST, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, VIR_ERR_NO_DOMAIN_METADATA, VIR_FROM_DOMAIN, OWN),
    M(ALL_OPS, VIR_ERR_AGENT_UNRESPONSIVE, VIR_FROM_QEMU, OWN),

    /* No row: the operation's own code. */
    M(ALL_OPS, VIR_ERR_OK, VIR_FROM_NONE, OWN),
    M(ALL_OPS, VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOMAIN, OWN),
    M(ALL_OPS, VIR_ERR_RESOURCE_BUSY, VIR_FROM_QEMU, OWN),
    M(ALL_OPS, 100000, VIR_FROM_NONE, OWN),  /* a code from a newer libvirt */
};

static void
check_mapping(VmcOperation op, const Mapping *m)
{
    VmcError expected = m->expected == OWN ? op_codes[op] : m->expected;
    VmcError got = vmc_libvirt_error_code(op, m->code, m->domain);

    if (got != expected)
        g_error("op %d, libvirt code %d, domain %d: got %s, expected %s", op, m->code,
                m->domain, vmc_error_code_to_string(got), vmc_error_code_to_string(expected));
}

static void
test_mapping(gconstpointer data)
{
    const Mapping *m = data;

    if (m->op != ALL_OPS) {
        check_mapping(m->op, m);
        return;
    }
    for (int op = 0; op < N_OPS; op++)
        check_mapping((VmcOperation) op, m);
}

static void
test_operation_codes(void)
{
    for (int op = 0; op < N_OPS; op++)
        g_assert_cmpint(vmc_libvirt_error_code((VmcOperation) op, VIR_ERR_OK, VIR_FROM_NONE), ==,
                        op_codes[op]);
}

static void
test_connection_lost(void)
{
    static const struct {
        int code;
        int domain;
        gboolean lost;
    } cases[] = {
        { VIR_ERR_INVALID_CONN, VIR_FROM_NONE, TRUE },
        { VIR_ERR_AUTH_CANCELLED, VIR_FROM_REMOTE, TRUE },
        { VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE, TRUE },
        { VIR_ERR_NO_MEMORY, VIR_FROM_NONE, TRUE },
        { VIR_ERR_NO_CONNECT, VIR_FROM_REMOTE, TRUE },
        { VIR_ERR_NO_CONNECT, VIR_FROM_NONE, TRUE },
        { VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, TRUE },
        { VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE, TRUE },
        { VIR_ERR_RPC, VIR_FROM_RPC, TRUE },
        { VIR_ERR_RPC, VIR_FROM_REMOTE, TRUE },
        { VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU, FALSE },
        { VIR_ERR_RPC, VIR_FROM_QEMU, FALSE },
        { VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, FALSE },
        { VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, FALSE },
        { VIR_ERR_AUTH_UNAVAILABLE, VIR_FROM_REMOTE, FALSE },
        { VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN, FALSE },
        { VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, FALSE },
        { VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, FALSE },
        { VIR_ERR_OK, VIR_FROM_NONE, FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (vmc_libvirt_error_is_connection_lost(cases[i].code, cases[i].domain) != cases[i].lost)
            g_error("code %d, domain %d: expected lost=%d", cases[i].code, cases[i].domain,
                    cases[i].lost);
    }
}

/* Turns this thread's libvirt error into a GError the way the library
 * does and checks that nothing of libvirt's is lost. @libvirt_domain is -1
 * where the mapping does not depend on it. */
static void
check_last_error(VmcOperation op, VmcError expected, int libvirt_code, int libvirt_domain,
                 const char *fragment)
{
    virError saved = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *want = NULL;
    g_autofree char *escaped = NULL;

    g_assert_cmpint(virCopyLastError(&saved), ==, libvirt_code);
    g_test_message("libvirt: code %d, domain %d, message \"%s\"", saved.code, saved.domain,
                   saved.message);
    if (libvirt_domain >= 0)
        g_assert_cmpint(saved.domain, ==, libvirt_domain);

    g_assert_false(vmc_libvirt_error(&error, op, "VM '%s' %s", "web-1", "failed"));
    g_assert_error(error, VMC_ERROR, (int) expected);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, saved.code);
    g_assert_cmpint(vmc_error_get_libvirt_domain(error), ==, saved.domain);
    /* All of libvirt's message, with what could act on a terminal or
     * start a line of its own escaped. */
    escaped = vmc_escape_text(saved.message);
    want = g_strdup_printf("VM 'web-1' failed: %s", escaped);
    g_assert_cmpstr(error->message, ==, want);
    g_assert_null(strchr(error->message, '\n'));
    g_assert_nonnull(strstr(error->message, fragment));
    g_assert_null(virGetLastError());
    virResetError(&saved);
}

static void
test_missing_domain(void)
{
    g_assert_null(virDomainLookupByName(test_conn, "no-such-vm"));
    check_last_error(VMC_OP_LOOKUP, VMC_ERROR_NOT_FOUND, VIR_ERR_NO_DOMAIN, -1,
                     "Domain not found");
}

static void
test_malformed_xml(void)
{
    g_assert_null(virDomainDefineXML(test_conn, "<domain type='test'><name>x</name"));
    check_last_error(VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG, VIR_ERR_XML_DETAIL, -1,
                     "expected '>'");
}

static void
test_invalid_name(void)
{
    g_assert_null(virDomainDefineXML(test_conn,
                                     "<domain type='test'><name>web/1</name>"
                                     "<memory>65536</memory><os><type>hvm</type></os></domain>"));
    check_last_error(VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG, VIR_ERR_XML_ERROR, -1,
                     "cannot contain '/'");
}

static void
test_double_start(void)
{
    virDomainPtr dom = virDomainLookupByName(test_conn, "test");

    g_assert_nonnull(dom);
    g_assert_cmpint(virDomainIsActive(dom), ==, 1);
    g_assert_cmpint(virDomainCreate(dom), <, 0);
    check_last_error(VMC_OP_START, VMC_ERROR_BOOT_FAILED, VIR_ERR_INTERNAL_ERROR, -1,
                     "already running");
    virDomainFree(dom);
}

static void
test_unreachable_socket(void)
{
    g_assert_null(virConnectOpen("qemu+unix:///system?socket=/nonexistent/sock"));
    g_assert_true(vmc_libvirt_error_is_connection_lost(virGetLastErrorCode(),
                                                       virGetLastErrorDomain()));
    /* The code alone would say the operation failed: the domain decides. */
    check_last_error(VMC_OP_START, VMC_ERROR_HYPERVISOR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC,
                     "/nonexistent/sock");
}

static void
test_read_only_connection(void)
{
    virConnectPtr ro = virConnectOpenReadOnly("test:///default");

    g_assert_nonnull(ro);
    g_assert_null(virDomainDefineXML(ro,
                                     "<domain type='test'><name>web-1</name>"
                                     "<memory>65536</memory><os><type>hvm</type></os></domain>"));
    check_last_error(VMC_OP_DEFINE, VMC_ERROR_HYPERVISOR, VIR_ERR_OPERATION_DENIED, -1,
                     "read only");
    virConnectClose(ro);
}

static void
test_vsock_low_cid(void)
{
    static const char xml[] =
        "<domain type='qemu'><name>web-1</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>/vmlinuz</kernel></os>"
        "<devices><vsock model='virtio'><cid auto='no' address='2'/></vsock></devices>"
        "</domain>";

    g_assert_null(virDomainDefineXMLFlags(embed_conn, xml, VIR_DOMAIN_DEFINE_VALIDATE));
    check_last_error(VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG, VIR_ERR_CONFIG_UNSUPPORTED, -1,
                     "guest CIDs must be >= 3");
}

static void
test_virtiofs_read_only(void)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'><name>web-1</name><memory unit='MiB'>64</memory>"
        "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"
        "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>/vmlinuz</kernel></os>"
        "<devices><filesystem type='mount' accessmode='passthrough'>"
        "<driver type='virtiofs'/><source dir='%s'/><target dir='vm-config'/><readonly/>"
        "</filesystem></devices></domain>",
        root_dir);
    virDomainPtr dom;
    gboolean accepts;
    g_autofree char *refused = NULL;

    /* The host decides, through the probe check-host uses (asked first:
     * any libvirt call resets the thread's error). */
    accepts = vmc_host_virtiofs_readonly_works(embed_conn, &refused);
    dom = virDomainDefineXMLFlags(embed_conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (accepts) {
        if (!dom)
            g_error("this libvirt should accept virtiofs <readonly/>: %s",
                    virGetLastErrorMessage());
        g_assert_cmpint(virDomainUndefine(dom), ==, 0);
        virDomainFree(dom);
        return;
    }
    g_assert_null(dom);
    check_last_error(VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG, VIR_ERR_CONFIG_UNSUPPORTED, -1,
                     "read-only");
}

static void
test_vsock_without_device(void)
{
    g_autofree char *kernel = g_build_filename(root_dir, "vmlinuz", NULL);
    g_autofree char *xml = NULL;
    virDomainPtr dom;

    g_assert_true(g_file_set_contents(kernel, "", 0, NULL));
    xml = g_strdup_printf(
        "<domain type='qemu'><name>web-1</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>%s</kernel></os>"
        "<devices><vsock model='virtio'><cid auto='yes'/></vsock></devices></domain>",
        kernel);
    dom = virDomainDefineXMLFlags(embed_conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom)
        g_error("define refused: %s", virGetLastErrorMessage());

    /* The kernel is empty: the start fails either way, but only a host
     * without the device (the probe check-host uses) fails it there. */
    g_assert_cmpint(virDomainCreate(dom), <, 0);
    if (vmc_host_has_vhost_vsock()) {
        g_assert_null(strstr(virGetLastErrorMessage(), "vhost-vsock"));
    } else {
        /* libvirt calls this an unsupported configuration, but the
         * definition was accepted and it is the host that lacks the device. */
        check_last_error(VMC_OP_START, VMC_ERROR_BOOT_FAILED, VIR_ERR_CONFIG_UNSUPPORTED,
                         VIR_FROM_QEMU, "unable to open vhost-vsock device");
    }

    g_assert_cmpint(virDomainUndefine(dom), ==, 0);
    virDomainFree(dom);
}

static void
test_no_libvirt_error(void)
{
    g_autoptr(GError) error = NULL;

    virResetLastError();
    g_assert_false(vmc_libvirt_error(&error, VMC_OP_STOP, "cannot stop VM '%s'", "web-1"));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_STOP_FAILED);
    g_assert_cmpstr(error->message, ==, "cannot stop VM 'web-1': unknown libvirt error");
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, 0);
    g_assert_cmpint(vmc_error_get_libvirt_domain(error), ==, 0);
    g_clear_error(&error);

    g_assert_false(vmc_libvirt_error_from(&error, VMC_OP_CONNECT, NULL, "cannot connect"));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR);
    g_assert_cmpstr(error->message, ==, "cannot connect: unknown libvirt error");
}

static void
test_null_error(void)
{
    g_assert_null(virDomainLookupByName(test_conn, "no-such-vm"));
    g_assert_false(vmc_libvirt_error(NULL, VMC_OP_LOOKUP, "no VM '%s'", "no-such-vm"));
    g_assert_null(virGetLastError());

    g_assert_null(virDomainLookupByName(test_conn, "no-such-vm"));
    g_assert_false(vmc_libvirt_error_from(NULL, VMC_OP_LOOKUP, virGetLastError(), "no VM"));
}

static void
test_saved_error(void)
{
    virError saved = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *want = NULL;

    g_assert_null(virDomainLookupByName(test_conn, "no-such-vm"));
    g_assert_cmpint(virCopyLastError(&saved), ==, VIR_ERR_NO_DOMAIN);
    /* A later call that succeeds clears the thread's error. */
    g_assert_cmpint(virConnectNumOfDomains(test_conn), >=, 0);
    g_assert_null(virGetLastError());

    g_assert_false(vmc_libvirt_error_from(&error, VMC_OP_DELETE, &saved, "cannot delete VM '%s'",
                                          "no-such-vm"));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_NO_DOMAIN);
    g_assert_cmpint(vmc_error_get_libvirt_domain(error), ==, saved.domain);
    want = g_strdup_printf("cannot delete VM 'no-such-vm': %s", saved.message);
    g_assert_cmpstr(error->message, ==, want);
    virResetError(&saved);
}

static void
test_timeout_hint(void)
{
    char message[] = "Timed out during operation: cannot acquire state change lock "
                     "(held by monitor=remoteDispatchDomainCreate)";
    virError err = {
        .code = VIR_ERR_OPERATION_TIMEOUT,
        .domain = VIR_FROM_QEMU,
        .message = message,
        .level = VIR_ERR_ERROR,
    };
    g_autoptr(GError) error = NULL;
    g_autofree char *head = g_strdup_printf("cannot force off VM 'web-1': %s", message);

    g_assert_false(vmc_libvirt_error_from(&error, VMC_OP_KILL, &err, "cannot force off VM '%s'",
                                          "web-1"));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_STOP_FAILED);
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, VIR_ERR_OPERATION_TIMEOUT);
    g_assert_cmpint(vmc_error_get_libvirt_domain(error), ==, VIR_FROM_QEMU);
    g_assert_true(g_str_has_prefix(error->message, head));
    g_assert_nonnull(strstr(error->message + strlen(head), "retried"));
}

static virConnectPtr
open_embedded(void)
{
    g_autofree char *etc = NULL;
    g_autofree char *qemu_conf = NULL;
    g_autofree char *uri = NULL;
    g_autoptr(GError) error = NULL;
    virConnectPtr conn;

    root_dir = g_dir_make_tmp("vmc-errors-XXXXXX", &error);
    g_assert_no_error(error);
    etc = g_build_filename(root_dir, "etc", NULL);
    g_assert_cmpint(g_mkdir_with_parents(etc, 0700), ==, 0);
    /* Otherwise QEMU's output would go through virtlogd. */
    qemu_conf = g_build_filename(etc, "qemu.conf", NULL);
    g_file_set_contents(qemu_conf, "stdio_handler = \"file\"\n", -1, &error);
    g_assert_no_error(error);

    uri = g_strdup_printf("qemu:///embed?root=%s", root_dir);
    conn = virConnectOpen(uri);
    if (!conn)
        g_error("cannot open %s: %s", uri, virGetLastErrorMessage());
    return conn;
}

int
main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);

    /* The library's own event loop. */
    g_assert_true(vmc_event_loop_ensure(NULL));

    test_conn = virConnectOpen("test:///default");
    g_assert_nonnull(test_conn);
    embed_conn = open_embedded();

    for (gsize i = 0; i < G_N_ELEMENTS(mappings); i++) {
        g_autofree char *path = g_strdup_printf("/libvirt-errors/table/%s", mappings[i].name);
        g_test_add_data_func(path, &mappings[i], test_mapping);
    }
    g_test_add_func("/libvirt-errors/operation-codes", test_operation_codes);
    g_test_add_func("/libvirt-errors/connection-lost", test_connection_lost);

    g_test_add_func("/libvirt-errors/real/missing-domain", test_missing_domain);
    g_test_add_func("/libvirt-errors/real/malformed-xml", test_malformed_xml);
    g_test_add_func("/libvirt-errors/real/invalid-name", test_invalid_name);
    g_test_add_func("/libvirt-errors/real/double-start", test_double_start);
    g_test_add_func("/libvirt-errors/real/unreachable-socket", test_unreachable_socket);
    g_test_add_func("/libvirt-errors/real/read-only-connection", test_read_only_connection);
    g_test_add_func("/libvirt-errors/real/vsock-low-cid", test_vsock_low_cid);
    g_test_add_func("/libvirt-errors/real/virtiofs-read-only", test_virtiofs_read_only);
    g_test_add_func("/libvirt-errors/real/vsock-without-device", test_vsock_without_device);

    g_test_add_func("/libvirt-errors/no-libvirt-error", test_no_libvirt_error);
    g_test_add_func("/libvirt-errors/null-error", test_null_error);
    g_test_add_func("/libvirt-errors/saved-error", test_saved_error);
    g_test_add_func("/libvirt-errors/timeout-hint", test_timeout_hint);

    ret = g_test_run();
    virConnectClose(embed_conn);
    virConnectClose(test_conn);
    vmc_test_rm_rf(root_dir);
    g_free(root_dir);
    return ret;
}
