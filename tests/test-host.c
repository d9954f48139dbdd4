/*
 * test-host.c: check-host and the probes behind it.
 *
 * What a host has differs from host to host, so the expectations come
 * from the probes themselves (the ones boot's preflight uses), and the
 * checks must agree with them; on the embedded QEMU driver, so that no
 * daemon is needed.
 */
#include "vmc-host-private.h"
#include "vmc-lv-operations.h"
#include "vmc-test.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

static char *root_dir;
static char *embed_uri;
/* An embedded driver's root belongs to one process at a time: the CLI
 * gets one of its own. */
static char *cli_uri;

static const VmcHostCheck *
find_check(GPtrArray *checks, const char *id)
{
    for (guint i = 0; i < checks->len; i++) {
        const VmcHostCheck *c = g_ptr_array_index(checks, i);
        if (g_str_equal(vmc_host_check_get_id(c), id))
            return c;
    }
    g_error("no check '%s'", id);
}

static void
assert_status(GPtrArray *checks, const char *id, VmcHostCheckStatus expected)
{
    const VmcHostCheck *c = find_check(checks, id);

    if (vmc_host_check_get_status(c) != expected)
        g_error("check '%s' says %s (%s), expected %s", id,
                vmc_host_check_status_to_string(vmc_host_check_get_status(c)),
                vmc_host_check_get_detail(c), vmc_host_check_status_to_string(expected));
    /* A warning or failure says what to do. */
    if (expected != VMC_HOST_CHECK_PASS)
        g_assert_nonnull(vmc_host_check_get_hint(c));
}

/* What /dev/kvm is in this test's variant: the checks must say the same. */
static gboolean
kvm_device_present(void)
{
    gboolean present = g_file_test(VMC_HOST_KVM_DEVICE, G_FILE_TEST_EXISTS);

    switch (vmc_test_kvm_variant()) {
    case VMC_TEST_KVM_NONE:
        g_assert_false(present);
        break;
    case VMC_TEST_KVM_USELESS:
    case VMC_TEST_KVM_WORKING:
        g_assert_true(present);
        break;
    case VMC_TEST_KVM_NATIVE:
        break;
    }
    return present;
}

static void
test_checks_follow_probes(void)
{
    g_autoptr(GPtrArray) checks = vmc_host_check(embed_uri);
    virConnectPtr conn = virConnectOpen(embed_uri);
    g_autofree char *detail = NULL;
    g_autofree char *passt_why = NULL;
    g_autofree char *readonly_why = NULL;
    g_autoptr(GError) probe = NULL;
    g_autofree char *offered = NULL;
    gboolean readonly, passt, device = kvm_device_present();
    gboolean runs = vmc_host_kvm_runs(&probe);
    VmcTestKvm variant = vmc_test_kvm_variant();
    guint n = 0;

    g_assert_nonnull(conn);
    offered = vmc_host_emulator(conn, NULL, "kvm");
    readonly = vmc_host_virtiofs_readonly_works(conn, &readonly_why);
    passt = vmc_host_passt_works(conn, TRUE, &passt_why);
    virConnectClose(conn);

    /* Every check of the table that applies to this host, in the table's
     * order, titled as there: the embedded driver is local and no system
     * daemon; the KVM checks past the device's come only with a device. */
    for (gsize i = 0; i < vmc_host_n_check_rows; i++) {
        const VmcHostCheckRow *row = &vmc_host_check_rows[i];
        const VmcHostCheck *c;

        if (!vmc_host_check_applies(row, TRUE, FALSE, device))
            continue;
        if (n >= checks->len)
            g_error("check-host stopped before check '%s'", row->id);
        c = g_ptr_array_index(checks, n++);
        g_assert_cmpstr(vmc_host_check_get_id(c), ==, row->id);
        g_assert_cmpstr(vmc_host_check_get_title(c), ==, row->title);
        g_assert_nonnull(vmc_host_check_get_detail(c));
    }
    g_assert_cmpuint(checks->len, ==, n);
    assert_status(checks, "libvirt", VMC_HOST_CHECK_PASS);
    detail = g_strdup(vmc_host_check_get_detail(find_check(checks, "libvirt")));
    g_assert_nonnull(strstr(detail, embed_uri));
    g_clear_pointer(&detail, g_free);
    assert_status(checks, "qemu", VMC_HOST_CHECK_PASS);
    g_assert_true(vmc_host_checks_can_boot(checks));

    /* KVM, as this variant of host must show it. */
    switch (variant) {
    case VMC_TEST_KVM_NONE:
        g_assert_false(runs);
        g_assert_nonnull(strstr(probe->message, "there is no /dev/kvm"));
        break;
    case VMC_TEST_KVM_USELESS:
        g_assert_false(runs);
        break;
    case VMC_TEST_KVM_WORKING:
        g_assert_true(runs);
        break;
    case VMC_TEST_KVM_NATIVE:
        break;
    }
    if (!device) {
        assert_status(checks, "kvm-device", VMC_HOST_CHECK_WARN);
        g_assert_true(g_str_has_prefix(
            vmc_host_check_get_detail(find_check(checks, "kvm-device")),
            "no /dev/kvm: VMs get domain type 'qemu'"));
    } else {
        assert_status(checks, "kvm-device", VMC_HOST_CHECK_PASS);
        assert_status(checks, "kvm-vcpu", runs ? VMC_HOST_CHECK_PASS : VMC_HOST_CHECK_WARN);
        detail = g_strdup(vmc_host_check_get_detail(find_check(checks, "kvm-vcpu")));
        if (runs) {
            g_assert_nonnull(strstr(detail, "VMs get domain type 'kvm'"));
        } else {
            /* The probe's own reason, and what follows from it. */
            g_assert_nonnull(strstr(detail, probe->message));
            g_assert_nonnull(strstr(detail, "VMs get domain type 'qemu' (TCG)"));
        }
        g_clear_pointer(&detail, g_free);
        /* libvirt keeps its QEMU capabilities exactly when what it finds
         * of /dev/kvm (may QEMU's user open it?) agrees with what QEMU
         * found when probed (KVM behind it?): on a host whose vCPUs never
         * run, both say yes once udev's rule is applied; behind a node no
         * module serves, QEMU finds nothing. */
        assert_status(checks, "caps-cache",
                      (vmc_host_check_get_status(find_check(checks, "kvm-access")) ==
                       VMC_HOST_CHECK_PASS) == (offered != NULL)
                          ? VMC_HOST_CHECK_PASS
                          : VMC_HOST_CHECK_WARN);
    }
    assert_status(checks, "vhost-vsock", vmc_host_has_vhost_vsock() ? VMC_HOST_CHECK_PASS
                                                                     : VMC_HOST_CHECK_WARN);
    /* Enforced by libvirt, or by a bind mount, which takes root here. */
    assert_status(checks, "virtiofs-readonly", readonly || geteuid() == 0
                                                   ? VMC_HOST_CHECK_PASS
                                                   : VMC_HOST_CHECK_WARN);
    /* User NICs work either way; the check says which backend carries them,
     * and why not passt. */
    assert_status(checks, "user-network", VMC_HOST_CHECK_PASS);
    detail = g_strdup(vmc_host_check_get_detail(find_check(checks, "user-network")));
    g_assert_true(g_str_has_prefix(detail, passt ? "passt" : "QEMU's built-in slirp"));
    if (!passt)
        g_assert_nonnull(strstr(detail, passt_why));
    /* Port forwards come with passt alone. */
    assert_status(checks, "port-forwards", passt ? VMC_HOST_CHECK_PASS : VMC_HOST_CHECK_WARN);
    /* Read-only shares: what libvirt said when it refused. */
    if (!readonly)
        g_assert_nonnull(strstr(vmc_host_check_get_detail(find_check(checks, "virtiofs-readonly")),
                                readonly_why));
}

/* The table is the one vocabulary of checks: ids and titles once each. */
static void
test_check_table(void)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) titles = g_hash_table_new(g_str_hash, g_str_equal);

    g_assert_cmpuint(vmc_host_n_check_rows, >, 0);
    for (gsize i = 0; i < vmc_host_n_check_rows; i++) {
        const VmcHostCheckRow *row = &vmc_host_check_rows[i];

        g_assert_true(g_hash_table_add(ids, (gpointer) row->id));
        g_assert_true(g_hash_table_add(titles, (gpointer) row->title));
        g_assert_true(vmc_host_check_row(row->id) == row);
    }
    g_assert_null(vmc_host_check_row("no-such-check"));
}

static void
test_unreachable_host_fails(void)
{
    g_autoptr(GPtrArray) checks = vmc_host_check("qemu+unix:///system?socket=/nonexistent/sock");

    g_assert_cmpuint(checks->len, ==, 1);
    assert_status(checks, "libvirt", VMC_HOST_CHECK_FAIL);
    g_assert_nonnull(strstr(vmc_host_check_get_detail(g_ptr_array_index(checks, 0)),
                            "/nonexistent/sock"));
    g_assert_false(vmc_host_checks_can_boot(checks));
}

static void
test_cli(void)
{
    g_auto(VmcTestRun) text = { 0 };
    g_auto(VmcTestRun) json = { 0 };
    g_auto(VmcTestRun) down = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) checks = vmc_host_check(embed_uri);
    g_autofree char *kvm_line = NULL;

    JsonObject *root;
    JsonArray *list;

    vmc_test_spawn(&text, FALSE, 20,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", cli_uri, "check-host",
                                           NULL });
    if (text.status != 0)
        g_error("check-host failed (status %d):\n%s%s", text.status, text.out, text.err);
    /* What this variant of host must show about KVM. */
    if (!g_file_test(VMC_HOST_KVM_DEVICE, G_FILE_TEST_EXISTS))
        kvm_line = g_strdup("warn  KVM device: no /dev/kvm: VMs get domain type 'qemu'");
    else
        kvm_line = g_strdup_printf("%s  KVM runs a vCPU: ",
                                   vmc_test_kvm_expected_accel() == VMC_ACCEL_KVM ? "pass"
                                                                                  : "warn");
    if (!strstr(text.out, kvm_line))
        g_error("check-host does not say \"%s\":\n%s", kvm_line, text.out);
    g_assert_nonnull(strstr(text.out, "This host can boot VMs"));

    vmc_test_spawn(&json, FALSE, 20,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", cli_uri, "check-host",
                                           "--json", NULL });
    g_assert_cmpint(json.status, ==, 0);
    g_assert_true(json_parser_load_from_data(parser, json.out, -1, &error));
    g_assert_no_error(error);
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_true(json_object_get_boolean_member(root, "can_boot"));
    list = json_object_get_array_member(root, "checks");
    g_assert_cmpuint(json_array_get_length(list), ==, checks->len);
    for (guint i = 0; i < checks->len; i++) {
        const VmcHostCheck *c = g_ptr_array_index(checks, i);
        JsonObject *o = json_array_get_object_element(list, i);
        g_assert_cmpstr(json_object_get_string_member(o, "id"), ==, vmc_host_check_get_id(c));
        g_assert_cmpstr(json_object_get_string_member(o, "status"), ==,
                        vmc_host_check_status_to_string(vmc_host_check_get_status(c)));
    }

    /* A host that cannot boot VMs: status 1. */
    vmc_test_spawn(&down, FALSE, 20,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c",
                                           "qemu+unix:///system?socket=/nonexistent/sock",
                                           "check-host", NULL });
    g_assert_cmpint(down.status, ==, 1);
    g_assert_nonnull(strstr(down.out, "fail  libvirt reachable: "));
    g_assert_nonnull(strstr(down.out, "This host cannot boot VMs: 1 check failed."));
}

/* The probe is made once per process: the same answer every time. */
static void
test_kvm_probe_cached(void)
{
    g_autoptr(GError) first = NULL;
    g_autoptr(GError) second = NULL;
    gboolean a = vmc_host_kvm_runs(&first);
    gboolean b = vmc_host_kvm_runs(&second);

    g_assert_cmpint(a, ==, b);
    if (!a) {
        g_assert_error(first, VMC_ERROR, VMC_ERROR_HYPERVISOR);
        g_assert_cmpstr(first->message, ==, second->message);
        g_assert_true(g_str_has_prefix(first->message, "KVM does not run guests"));
    }
}

static void
test_user_may(void)
{
    struct passwd user = { .pw_name = (char *) "vmc-no-such-user", .pw_uid = 4242,
                           .pw_gid = 4343 };
    struct passwd root = { .pw_name = (char *) "root", .pw_uid = 0, .pw_gid = 0 };
    struct stat st = { .st_mode = S_IFCHR | 0600, .st_uid = 0, .st_gid = 0 };

    /* root:root 0600, as /dev/kvm is where no udev ran. */
    g_assert_false(vmc_host_user_may(&user, &st, R_OK | W_OK));
    g_assert_true(vmc_host_user_may(&root, &st, R_OK | W_OK));
    /* root:kvm 0660 with the user's group kvm, as Debian's rule makes it. */
    st.st_mode = S_IFCHR | 0660;
    st.st_gid = 4343;
    g_assert_true(vmc_host_user_may(&user, &st, R_OK | W_OK));
    g_assert_false(vmc_host_user_may(&user, &st, X_OK));
    /* Owner bits, not the others'. */
    st.st_mode = S_IFDIR | 0705;
    st.st_uid = 4242;
    st.st_gid = 0;
    g_assert_true(vmc_host_user_may(&user, &st, X_OK));
    st.st_mode = S_IFDIR | 0075;
    g_assert_false(vmc_host_user_may(&user, &st, X_OK));
    /* Others. */
    st.st_uid = 0;
    st.st_mode = S_IFDIR | 0751;
    g_assert_true(vmc_host_user_may(&user, &st, X_OK));
    g_assert_false(vmc_host_user_may(&user, &st, R_OK));
}

/* An explicit kvm on a host where the probe fails is refused before
 * anything is defined; where it passes, the VM boots. */
static void
test_explicit_kvm(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcDriver) driver = vmc_driver_open("test:///default", &error);
    g_autoptr(VmcConfig) cfg = vmc_config_new("host-kvm");
    g_autofree char *kernel = g_build_filename(root_dir, "vmlinuz", NULL);
    g_autofree char *log = g_build_filename(root_dir, "host-kvm.serial", NULL);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) probe = NULL;

    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(kernel, "", 0, NULL));
    vmc_config_set_kernel(cfg, kernel);
    vmc_config_set_initramfs(cfg, kernel);
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 64);
    vmc_config_set_serial_log(cfg, log);
    vmc_driver_set_accel(driver, VMC_ACCEL_KVM);

    handle = vmc_driver_boot(driver, cfg, &error);
    if (vmc_host_kvm_runs(&probe)) {
        g_assert_no_error(error);
        g_assert_nonnull(handle);
        g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, NULL));
        return;
    }
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "VM 'host-kvm': accelerator 'kvm' was asked for"));
    g_assert_nonnull(strstr(error->message, "on this host (test:///default)"));
    g_assert_nonnull(strstr(error->message, probe->message));
    g_assert_nonnull(strstr(error->message, "--accel qemu"));
    g_clear_error(&error);
    g_assert_null(vmc_driver_lookup(driver, "host-kvm", &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

/* Without an accelerator asked for, a VM gets KVM only where a probe vCPU
 * really runs: TCG on a host with no /dev/kvm and on one whose /dev/kvm
 * runs nothing. The driver decides it for boot, the CLI for xml and for
 * every command that boots. */
static void
test_accel_picked(void)
{
    VmcAccel expected = vmc_test_kvm_expected_accel();
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcDriver) driver = vmc_driver_open(embed_uri, &error);
    g_autofree char *example = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "hello.json",
                                                NULL);
    g_autofree char *type = g_strdup_printf("<domain type=\"%s\">",
                                            vmc_accel_to_string(expected));
    g_auto(VmcTestRun) xml = { 0 };

    g_assert_no_error(error);
    g_assert_cmpstr(vmc_accel_to_string(vmc_driver_get_accel(driver)), ==,
                    vmc_accel_to_string(expected));
    vmc_test_spawn(&xml, FALSE, 20,
                   (const char *const[]) { g_getenv("VMC_CLI"), "xml", "--remote-paths",
                                           example, NULL });
    g_assert_cmpint(xml.status, ==, 0);
    if (!g_str_has_prefix(xml.out, type))
        g_error("virt-vmconfig xml without --accel should start with %s:\n%s", type, xml.out);
}

/* `qemu:///embed` alone, which libvirt refuses ("Missing URI parameter
 * 'root'"), opens the embedded driver in the root the default choice
 * gives ($VMC_EMBED_ROOT here, a path that needs escaping in a URI); that
 * root is made ready for a daemonless QEMU. In a subprocess of its own:
 * libvirt opens one embedded root per process. */
static void
test_embed_without_root(void)
{
    g_autofree char *root = g_build_filename(root_dir, "default embed&root", NULL);
    g_autofree char *conf = g_build_filename(root, "etc", "qemu.conf", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(GUri) parsed = NULL;
    g_autoptr(GHashTable) params = NULL;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
        return;
    }
    g_setenv("VMC_EMBED_ROOT", root, TRUE);
    driver = vmc_driver_open("qemu:///embed", &error);
    g_assert_no_error(error);
    parsed = g_uri_parse(vmc_driver_get_uri(driver), G_URI_FLAGS_ENCODED_QUERY, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(g_uri_get_path(parsed), ==, "/embed");
    params = g_uri_parse_params(g_uri_get_query(parsed), -1, "&", G_URI_PARAMS_NONE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_hash_table_size(params), ==, 1);
    g_assert_cmpstr(g_hash_table_lookup(params, "root"), ==, root);
    g_assert_true(g_file_test(conf, G_FILE_TEST_IS_REGULAR));
    g_assert_true(vmc_driver_is_local(driver));
}

/* An embedded root too long for the monitor socket libvirt makes in it
 * (107 bytes of UNIX socket path) refuses the boot before anything is
 * defined or any file is looked at, with the limit and the way out; a
 * name cut to libvirt's 20 characters counts as such. In a subprocess of
 * its own: libvirt opens one embedded root per process. */
static void
test_embed_root_too_long(void)
{
    g_autofree char *padding = g_strnfill(70 - 1 - strlen(root_dir), 'r');
    g_autofree char *root = g_build_filename(root_dir, padding, NULL);
    g_autofree char *long_uri = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcHandle) handle = NULL;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
        return;
    }
    g_assert_cmpuint(strlen(root), ==, 70);
    long_uri = g_strdup_printf("qemu:///embed?root=%s", root);
    driver = vmc_driver_open(long_uri, &error);
    g_assert_no_error(error);
    vmc_driver_set_accel(driver, VMC_ACCEL_QEMU);
    /* 70 + 35 + 2: fits. Files are checked next: this kernel is missing. */
    cfg = vmc_config_new("ab");
    vmc_config_set_kernel(cfg, "/nonexistent/vmlinuz");
    vmc_config_set_initramfs(cfg, "/nonexistent/initrd.img");
    vmc_config_set_serial_log(cfg, "/var/tmp/vmc-host-never.serial");
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 256);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "kernel"));
    g_assert_null(strstr(error->message, "monitor socket"));
    g_clear_error(&error);
    /* 70 + 35 + 3: one byte too many, whatever the files. */
    vmc_config_set_name(cfg, "abc");
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "VM 'abc': the embedded driver's root"));
    g_assert_nonnull(strstr(error->message, "up to 108 bytes"));
    g_assert_nonnull(strstr(error->message, "use a root of at most 69 bytes"));
    g_clear_error(&error);
    /* A long name counts as libvirt's 20 characters. */
    vmc_config_set_name(cfg, "a-name-of-far-more-than-twenty-characters");
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "up to 125 bytes"));
    g_assert_nonnull(strstr(error->message, "domain-ID-a-name-of-far-more-t/monitor.sock"));
    g_assert_nonnull(strstr(error->message, "or a shorter VM name"));
    g_clear_error(&error);
    handle = vmc_driver_lookup(driver, "abc", &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

int
main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    root_dir = g_dir_make_tmp("vmc-host-XXXXXX", NULL);
    g_assert_nonnull(root_dir);
    embed_uri = g_strdup_printf("qemu:///embed?root=%s/embed", root_dir);
    cli_uri = g_strdup_printf("qemu:///embed?root=%s/cli", root_dir);

    g_test_add_func("/host/check-table", test_check_table);
    g_test_add_func("/host/checks-follow-probes", test_checks_follow_probes);
    g_test_add_func("/host/unreachable-host-fails", test_unreachable_host_fails);
    g_test_add_func("/host/cli", test_cli);
    g_test_add_func("/host/kvm-probe-cached", test_kvm_probe_cached);
    g_test_add_func("/host/user-may", test_user_may);
    g_test_add_func("/host/explicit-kvm", test_explicit_kvm);
    g_test_add_func("/host/accel-picked", test_accel_picked);
    g_test_add_func("/host/embed-without-root", test_embed_without_root);
    g_test_add_func("/host/embed-root-too-long", test_embed_root_too_long);

    ret = g_test_run();
    vmc_test_rm_rf(root_dir);
    g_free(root_dir);
    g_free(embed_uri);
    g_free(cli_uri);
    return ret;
}
