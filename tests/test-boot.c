/*
 * test-boot.c: real boots of the test guest (tests/guest/) under TCG.
 *
 * $VMC_TEST_URI names the libvirt host: "qemu:///system" (libvirtd must
 * run) or "embed" for an embedded QEMU driver in a fresh root, with no
 * daemon; "examples" boots the examples/ configs as they are under
 * qemu:///system. The guest prints what it sees on its serial console as
 * GUEST lines; the tests check them against the config. Without root (or
 * libvirtd, where the tier uses it), meson's boot_tests=auto skips the
 * tier and boot_tests=enabled fails it (vmc_test_require); a host that
 * has them but cannot boot the guest fails.
 *
 * Each test runs in a GTest subprocess (vmc_test_isolated): whatever
 * becomes of it, the parent then removes the domains, TAP devices and
 * namespaces it may have made, and restarts libvirtd if it is gone. The
 * parent picks the names and the work directory; the subprocesses find
 * them in the environment. An embedded driver's root belongs to one
 * process at a time, so only the subprocesses open the driver.
 */
#include "vmc-host-private.h"
#include "vmc-xml-private.h"
#include "vmc-test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <termios.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A boot of the test guest reaches Ready in 3-10 s under TCG here. */
#define READY_TIMEOUT_MS 45000
/* One test: at most two boots and what it does with them (meson gives
 * the whole program 300 s). */
#define TEST_SECS 120
#define COMMAND_SECS 30

static VmcDriver *driver;
static const char *work_dir;   /* world-traversable: QEMU may run as libvirt-qemu */
static const char *test_id;
static char *uri;

/* What a test may leave behind, for its teardown in the parent. */
typedef struct {
    const char *vms[3];
    gboolean netns;          /* the namespace and TAP device of test_netns */
    gboolean taps;           /* TAP devices vmct<id>, vmct<id>1, vmct<id>2 */
    gboolean bridge;         /* bridge vmcb<id> */
    gboolean network;        /* libvirt network vmc-test-<id> */
    gboolean listen;         /* libvirtd was restarted listening on TCP; sshd runs */
    gboolean hidden;         /* a second libvirtd in a mount namespace of its own */
    gboolean trixie;         /* files of the Debian 13 host's tests on this machine */
    gboolean daemon;         /* it restarts libvirtd */
    const char *cli_root;    /* a work_dir subdirectory: an embedded driver's root */
} Leftovers;

static char *netns_name(void);
static char *tap_name(void);
static char *bridge_name(void);
static GPid qemu_pid_of(const char *name);
static void remove_views(const char *vm);
static char *work_file(const char *name);
static guint mounts_with(const char *part);
static void ensure_libvirtd(void);
static void stop_remote_daemons(void);
static void stop_hidden_libvirtd(void);
static int run_command(const char *first, ...) G_GNUC_NULL_TERMINATED;
static char *trixie_host_dir(void);
static guint16 free_port(void);
static char *tcp_first_line(guint16 port, guint secs);
static guint live_xml_count(const char *host_uri, const char *name, const char *xpath);

static void
teardown(gpointer data)
{
    const Leftovers *left = data;

    if (left->listen)
        stop_remote_daemons();
    if (left->hidden) {
        stop_hidden_libvirtd();
        /* Its QEMUs outlive it. */
        for (gsize i = 0; i < G_N_ELEMENTS(left->vms) && left->vms[i]; i++) {
            g_autofree char *pattern = g_strdup_printf("qemu-system.*-name guest=%s,",
                                                       left->vms[i]);
            run_command("pkill", "-KILL", "-f", pattern, NULL);
        }
    }
    if (left->daemon)
        ensure_libvirtd();
    if (left->trixie) {
        g_autofree char *decoys = trixie_host_dir();   /* that path on this machine */
        vmc_test_rm_rf(decoys);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(left->vms) && left->vms[i]; i++)
        vmc_test_purge_domain(uri, left->vms[i]);
    if (left->cli_root) {
        g_autofree char *root = g_build_filename(work_dir, left->cli_root, NULL);
        g_autofree char *root_uri = g_strdup_printf("qemu:///embed?root=%s", root);

        if (g_file_test(root, G_FILE_TEST_IS_DIR)) {
            for (gsize i = 0; i < G_N_ELEMENTS(left->vms) && left->vms[i]; i++)
                vmc_test_purge_domain(root_uri, left->vms[i]);
            vmc_test_rm_rf(root);
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(left->vms) && left->vms[i]; i++)
        remove_views(left->vms[i]);
    /* The file systems the serial log tests mount in the work directory. */
    for (const char *const *m = (const char *const[]) { "full-mount", "ro-mount", NULL }; *m;
         m++) {
        g_autofree char *path = work_file(*m);

        if (mounts_with(path) > 0)
            run_command("umount", "-l", path, NULL);
    }
    if (left->netns || left->taps) {
        g_autofree char *ns = netns_name();
        g_autofree char *tap = tap_name();

        for (int i = 0; i < 3; i++) {
            g_autofree char *dev = i ? g_strdup_printf("%s%d", tap, i) : g_strdup(tap);

            if (left->netns)
                run_command("ip", "-n", ns, "link", "del", dev, NULL);
            run_command("ip", "link", "del", dev, NULL);
        }
        if (left->netns)
            run_command("ip", "netns", "del", ns, NULL);
    }
    if (left->bridge) {
        g_autofree char *bridge = bridge_name();
        run_command("ip", "link", "del", bridge, NULL);
    }
    if (left->network) {
        g_autofree char *net = netns_name();
        run_command("virsh", "-q", "-c", "qemu:///system", "net-destroy", net, NULL);
    }
}

/* In a test's subprocess: this process's driver, on TCG. Left to itself it
 * picks what a host of this test's KVM variant must give (TCG but where a
 * probe vCPU runs). */
static void
open_test_driver(void)
{
    g_autoptr(GError) error = NULL;

    driver = vmc_driver_open(uri, &error);
    if (!driver)
        g_error("cannot open %s: %s", uri, error->message);
    /* A remote host's KVM is what its libvirt offers, not probed here. */
    if (vmc_driver_is_local(driver))
        g_assert_cmpstr(vmc_accel_to_string(vmc_driver_get_accel(driver)), ==,
                        vmc_accel_to_string(vmc_test_kvm_expected_accel()));
    vmc_driver_set_accel(driver, VMC_ACCEL_QEMU);
}

/* The start of every test: in the parent, runs the test in a subprocess
 * and tears down; in the subprocess, opens the driver. */
static gboolean
isolated_within(const Leftovers *left, guint secs)
{
    if (!vmc_test_isolated(secs, teardown, (gpointer) left))
        return FALSE;
    open_test_driver();
    return TRUE;
}

static gboolean
isolated(const Leftovers *left)
{
    return isolated_within(left, TEST_SECS);
}

#define guest_file vmc_test_guest_file

static char *
work_file(const char *name)
{
    return g_build_filename(work_dir, name, NULL);
}

static VmcConfig *
initramfs_config(const char *name)
{
    VmcConfig *cfg = vmc_config_new(name);
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *initrd = guest_file("initramfs.img");
    g_autofree char *log_name = g_strconcat(name, ".serial", NULL);
    g_autofree char *log = work_file(log_name);

    vmc_config_set_namespace(cfg, "vmc-boot-test");
    vmc_config_set_kernel(cfg, kernel);
    vmc_config_set_initramfs(cfg, initrd);
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 256);
    vmc_config_set_serial_log(cfg, log);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL, NULL));
    return cfg;
}

/* The value of "GUEST <key>=<value>" lines of the serial log, in order. */
static GPtrArray *
guest_values(const VmcConfig *cfg, const char *key)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *prefix = g_strdup_printf("GUEST %s=", key);
    GPtrArray *values = g_ptr_array_new_with_free_func(g_free);

    g_assert_true(g_file_get_contents(vmc_config_get_serial_log(cfg), &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_strchomp(*l);
        if (g_str_has_prefix(*l, prefix))
            g_ptr_array_add(values, g_strdup(*l + strlen(prefix)));
    }
    return values;
}

static char *
guest_value(const VmcConfig *cfg, const char *key)
{
    g_autoptr(GPtrArray) values = guest_values(cfg, key);

    if (values->len == 0) {
        g_autofree char *text = NULL;
        g_file_get_contents(vmc_config_get_serial_log(cfg), &text, NULL, NULL);
        g_error("the guest printed no '%s' line; its console:\n%s", key, text);
    }
    return g_strdup(g_ptr_array_index(values, 0));
}

static gboolean
serial_has_line(const VmcConfig *cfg, const char *line)
{
    g_autofree char *text = NULL;
    g_autofree char *needle = g_strconcat("\n", line, "\n", NULL);

    g_assert_true(g_file_get_contents(vmc_config_get_serial_log(cfg), &text, NULL, NULL));
    /* The guest's tty writes "\r\n". */
    g_strdelimit(text, "\r", '\n');
    return strstr(text, needle) != NULL;
}

/* Boots @cfg and waits until its guest is ready at @ip. */
static VmcHandle *
boot_ready_at(const VmcConfig *cfg, const char *ip)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = vmc_driver_boot(driver, cfg, &error);
    g_autoptr(VmcState) ready = NULL;
    gint64 start = g_get_monotonic_time();

    g_assert_no_error(error);
    g_assert_nonnull(handle);
    ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    if (!ready) {
        g_autofree char *text = NULL;
        g_file_get_contents(vmc_config_get_serial_log(cfg), &text, NULL, NULL);
        g_error("%s: %s\nconsole:\n%s", uri, error->message, text ? text : "(none)");
    }
    g_assert_cmpint(vmc_state_get_kind(ready), ==, VMC_STATE_READY);
    g_assert_cmpstr(vmc_state_get_ip(ready), ==, ip);
    g_test_message("%s: %s ready in %.1f s", uri, vmc_config_get_name(cfg),
                   (g_get_monotonic_time() - start) / 1e6);
    return g_steal_pointer(&handle);
}

/* This host's IPv4 address on the interface of its default route. */
static char *
host_default_address(void)
{
    g_autofree char *routes = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *iface = NULL;
    struct ifaddrs *all = NULL;
    char *found = NULL;

    g_assert_true(g_file_get_contents("/proc/net/route", &routes, NULL, NULL));
    lines = g_strsplit(routes, "\n", -1);
    for (char **l = lines + 1; *l && !iface; l++) {
        g_auto(GStrv) f = g_strsplit_set(*l, " \t", -1);
        g_autoptr(GPtrArray) words = g_ptr_array_new();

        for (char **w = f; *w; w++)
            if (**w)
                g_ptr_array_add(words, *w);
        if (words->len > 1 && strcmp(g_ptr_array_index(words, 1), "00000000") == 0)
            iface = g_strdup(g_ptr_array_index(words, 0));
    }
    g_assert_nonnull(iface);
    g_assert_cmpint(getifaddrs(&all), ==, 0);
    for (struct ifaddrs *a = all; a && !found; a = a->ifa_next) {
        char text[INET_ADDRSTRLEN];

        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && strcmp(a->ifa_name, iface) == 0 &&
            inet_ntop(AF_INET, &((struct sockaddr_in *) a->ifa_addr)->sin_addr, text,
                      sizeof(text)))
            found = g_strdup(text);
    }
    freeifaddrs(all);
    g_assert_nonnull(found);
    return found;
}

/* The address the guest of a user NIC gets on this test's host: QEMU's
 * slirp gives 10.0.2.15; passt gives it this host's own address (that of
 * the interface of the default route). */
static const char *
user_nic_ip(void)
{
    static char *ip;

    if (!ip) {
        virConnectPtr conn = virConnectOpen(uri);
        g_autofree char *why = NULL;

        g_assert_nonnull(conn);
        ip = vmc_host_passt_works(conn, TRUE, &why) ? host_default_address()
                                                    : g_strdup("10.0.2.15");
        virConnectClose(conn);
    }
    return ip;
}

/* The same on a user NIC, at the address it gives (user_nic_ip()). */
static VmcHandle *
boot_ready(const VmcConfig *cfg)
{
    return boot_ready_at(cfg, user_nic_ip());
}

static VmcStateKind
state_of(const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) state = vmc_driver_get_state(driver, handle, &error);

    g_assert_no_error(error);
    return vmc_state_get_kind(state);
}

static void
delete_vm(const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) gone = NULL;
    g_autoptr(GPtrArray) all = NULL;

    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    gone = vmc_driver_lookup(driver, vmc_handle_get_name(handle), &error);
    g_assert_null(gone);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    all = vmc_driver_list(driver, "vmc-boot-test", NULL);
    for (guint i = 0; i < all->len; i++)
        g_assert_cmpstr(vmc_handle_get_name(g_ptr_array_index(all, i)), !=,
                        vmc_handle_get_name(handle));
}

static void
test_initramfs_boot(void)
{
    static const Leftovers left = { { "vmc-boot-initramfs" } };
    static const guint8 id[16] = { 0x6a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x40, 0x71,
                                   0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9 };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-initramfs");
    g_autofree char *share = work_file("share");
    g_autofree char *hello = g_build_filename(share, "hello.txt", NULL);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GPtrArray) macs = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *cpus = NULL;
    g_autofree char *mem = NULL;
    g_autofree char *uuid = NULL;
    g_autofree char *expected_mac1 = NULL;
    guint64 mem_kb;
    gint64 t0;

    if (!isolated(&left))
        return;

    g_assert_cmpint(g_mkdir_with_parents(share, 0755), ==, 0);
    g_assert_true(g_file_set_contents(hello, "hello from the host\n", -1, NULL));
    g_assert_cmpint(g_chmod(hello, 0644), ==, 0);

    vmc_config_set_cpus(cfg, 2);
    vmc_config_set_memory_mb(cfg, 384);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.test=initramfs");
    vmc_config_set_machine_id(cfg, id, sizeof(id));
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL,
                                                           "52:54:00:aa:bb:01"));
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL, NULL));
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share, "hostshare", FALSE));

    handle = boot_ready(cfg);
    g_assert_cmpstr(vmc_handle_get_uuid(handle), ==, "6a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9");
    g_assert_cmpstr(vmc_handle_get_namespace(handle), ==, "vmc-boot-test");

    /* What the guest saw is what the config said. */
    cmdline = guest_value(cfg, "cmdline");
    g_assert_cmpstr(cmdline, ==, "console=ttyS0 vmc.test=initramfs");
    cpus = guest_value(cfg, "cpus");
    g_assert_cmpstr(cpus, ==, "2");
    mem = guest_value(cfg, "mem_kb");
    mem_kb = g_ascii_strtoull(mem, NULL, 10);
    g_assert_cmpuint(mem_kb, >, 300 * 1024);
    g_assert_cmpuint(mem_kb, <=, 384 * 1024);
    uuid = guest_value(cfg, "uuid");
    g_assert_cmpstr(uuid, ==, "6a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9");
    macs = guest_values(cfg, "nic");
    g_assert_cmpuint(macs->len, ==, 2);
    expected_mac1 = g_strdup_printf("eth1 mac=%s", "52:54:00");
    g_assert_cmpstr(g_ptr_array_index(macs, 0), ==, "eth0 mac=52:54:00:aa:bb:01");
    g_assert_true(g_str_has_prefix(g_ptr_array_index(macs, 1), expected_mac1));
    g_assert_true(serial_has_line(cfg, "GUEST share=hostshare file=hello.txt content=hello from the host"));
    g_assert_true(serial_has_line(cfg, "GUEST rng=virtio_rng.0"));
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_READY);

    /* pause, resume */
    g_assert_true(vmc_driver_pause(driver, handle, &error));
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_PAUSED);
    g_assert_true(vmc_driver_resume(driver, handle, &error));
    g_assert_no_error(error);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_READY);

    /* A graceful stop goes through ACPI: the guest says so before it powers off. */
    t0 = g_get_monotonic_time();
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    g_test_message("%s: graceful stop took %.2f s", uri, (g_get_monotonic_time() - t0) / 1e6);
    g_assert_true(serial_has_line(cfg, "GUEST acpi=power-button"));
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_STOPPED);

    /* Booting the stopped VM again works; kill forces it off. */
    g_clear_pointer(&handle, vmc_handle_free);
    handle = boot_ready(cfg);
    g_assert_true(vmc_driver_kill(driver, handle, &error));
    g_assert_no_error(error);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_STOPPED);
    g_assert_false(serial_has_line(cfg, "GUEST acpi=power-button"));

    delete_vm(handle);
}

static void
test_cloud_init_boot(void)
{
    static const Leftovers left = { { "vmc-boot-cloud-init" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-cloud-init");
    g_autofree char *source = guest_file("root.img");
    g_autofree char *seed = guest_file("seed.iso");
    g_autofree char *root = work_file("cloud-init-root.img");
    g_autofree char *contents = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cmdline = NULL;
    gsize len;

    if (!isolated(&left))
        return;

    /* Each VM needs its own root disk: QEMU locks it. */
    g_assert_true(g_file_get_contents(source, &contents, &len, NULL));
    g_assert_true(g_file_set_contents(root, contents, (gssize) len, NULL));
    vmc_config_set_root_disk(cfg, root);
    vmc_config_set_seed_iso(cfg, seed);

    handle = boot_ready(cfg);
    cmdline = guest_value(cfg, "cmdline");
    g_assert_cmpstr(cmdline, ==, "console=ttyS0 root=/dev/vda1 rw ds=nocloud");
    disks = guest_values(cfg, "blk");
    g_assert_cmpuint(disks->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(disks, 0), ==, "vda size=33554432 ro=0");
    g_assert_true(g_str_has_prefix(g_ptr_array_index(disks, 1), "vdb size="));
    g_assert_true(g_str_has_suffix(g_ptr_array_index(disks, 1), " ro=1"));
    g_assert_true(serial_has_line(cfg, "GUEST rootfs dev=/dev/vda1 marker=vmc-rootfs-ok"));
    g_assert_true(serial_has_line(cfg, "GUEST seed meta-data: instance-id: vmc-test"));

    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    delete_vm(handle);
}

/* UEFI direct kernel boot: libvirt makes the NVRAM file from the
 * firmware's template; delete keeps it (it is the user's) unless asked. */
static void
test_uefi_boot(void)
{
    static const Leftovers left = { { "vmc-boot-uefi" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-uefi");
    g_autofree char *nvram = work_file("vmc-boot-uefi_VARS.fd");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated(&left))
        return;

    vmc_config_set_memory_mb(cfg, 512);
    vmc_config_set_efi_variable_store(cfg, nvram);
    handle = boot_ready(cfg);
    g_assert_true(g_file_test(nvram, G_FILE_TEST_IS_REGULAR));
    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_test(nvram, G_FILE_TEST_IS_REGULAR));

    /* Booting again uses the NVRAM file that is there. */
    g_clear_pointer(&handle, vmc_handle_free);
    handle = boot_ready(cfg);
    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_REMOVE_NVRAM, &error));
    g_assert_no_error(error);
    g_assert_false(g_file_test(nvram, G_FILE_TEST_EXISTS));
}

static void
test_vsock(void)
{
    static const Leftovers left = { { "vmc-boot-vsock" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-vsock");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) none = NULL;

    if (!isolated(&left))
        return;

    vmc_config_set_vsock(cfg, TRUE);
    if (vmc_host_has_vhost_vsock()) {
        /* Where the device is there, the VM boots and gets a CID. */
        handle = boot_ready(cfg);
        g_assert_cmpuint(vmc_handle_get_vsock_cid(handle), >=, 3);
        delete_vm(handle);
        return;
    }
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "/dev/vhost-vsock"));
    g_clear_error(&error);
    none = vmc_driver_lookup(driver, "vmc-boot-vsock", &error);
    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

/* Runs a command (argv, no shell) within COMMAND_SECS and returns its
 * exit status. */
static int
run_command(const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(VmcTestRun) run = { 0 };
    va_list args;

    va_start(args, first);
    for (const char *a = first; a; a = va_arg(args, const char *))
        g_ptr_array_add(argv, (gpointer) a);
    va_end(args);
    g_ptr_array_add(argv, NULL);
    vmc_test_spawn(&run, FALSE, COMMAND_SECS, (const char *const *) argv->pdata);
    return run.status;
}

static char *
netns_name(void)
{
    return g_strdup_printf("vmc-test-%s", test_id);
}

static char *
tap_name(void)
{
    return g_strdup_printf("vmct%s", test_id);
}

static char *
bridge_name(void)
{
    return g_strdup_printf("vmcb%s", test_id);
}

static gboolean
link_exists(const char *netns, const char *dev)
{
    if (netns)
        return run_command("ip", "-n", netns, "link", "show", dev, NULL) == 0;
    return run_command("ip", "link", "show", dev, NULL) == 0;
}

/* The mounts of this host's namespace whose mount point has @part in it. */
static guint
mounts_with(const char *part)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    guint n = 0;

    g_assert_true(g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) fields = g_strsplit(*l, " ", 6);
        if (g_strv_length(fields) > 4 && strstr(fields[4], part))
            n++;
    }
    return n;
}

/* What is under the driver's run directory (locks, views), one path a
 * line, sorted. */
static void
run_dir_walk(const char *dir, GPtrArray *paths)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry;

    while (d && (entry = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, entry, NULL);

        g_ptr_array_add(paths, g_strdup(path));
        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            run_dir_walk(path, paths);
    }
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

static char *
run_dir_snapshot(void)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

    run_dir_walk("/run/virt-vmconfig", paths);
    g_ptr_array_sort(paths, compare_paths);
    g_ptr_array_add(paths, NULL);
    return g_strjoinv("\n", (char **) paths->pdata);
}

/* Read-only views of a VM's shares, wherever a driver made them. */
static char *
views_of(const char *vm)
{
    return g_strdup_printf("-%s/", vm);
}

/* The teardown's: views of @vm that a failed test left. */
static void
remove_views(const char *vm)
{
    g_autoptr(GDir) dir = g_dir_open("/run/virt-vmconfig/views", 0, NULL);
    g_autofree char *suffix = g_strconcat("-", vm, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;

        if (!g_str_has_suffix(entry, suffix))
            continue;
        path = g_build_filename("/run/virt-vmconfig/views", entry, NULL);
        g_test_message("teardown: removing read-only views %s", path);
        run_command("sh", "-c", "for v in \"$1\"/*; do umount -l \"$v\"; done", "sh", path,
                    NULL);
        vmc_test_rm_rf(path);
    }
}

/* Waits until the serial log @path has a line starting with @prefix;
 * returns the rest of the line. */
static char *
wait_guest_line_path(const char *path, const char *prefix, guint secs)
{
    gint64 deadline = g_get_monotonic_time() + secs * G_USEC_PER_SEC;
    g_autofree char *needle = g_strconcat("\n", prefix, NULL);

    for (;;) {
        g_autofree char *text = NULL;
        const char *at;

        g_file_get_contents(path, &text, NULL, NULL);
        if (text) {
            g_strdelimit(text, "\r", '\n');
            at = strstr(text, needle);
            if (at) {
                at += strlen(needle);
                return g_strndup(at, strcspn(at, "\n"));
            }
        }
        if (g_get_monotonic_time() > deadline)
            g_error("the guest printed no '%s' line in %u s; its console:\n%s", prefix, secs,
                    text ? text : "(none)");
        g_usleep(100 * 1000);
    }
}

/* The same for the guest of @cfg (it pings and fetches after its ready
 * marker). */
static char *
wait_guest_line(const VmcConfig *cfg, const char *prefix, guint secs)
{
    return wait_guest_line_path(vmc_config_get_serial_log(cfg), prefix, secs);
}

static void
assert_owned_taps(const VmcHandle *handle, const char *tap)
{
    const char *const *owned = vmc_handle_get_owned_taps(handle);

    g_assert_nonnull(owned);
    if (!tap) {
        g_assert_null(owned[0]);
        return;
    }
    g_assert_cmpstr(owned[0], ==, tap);
    g_assert_null(owned[1]);
}

/* The driver makes the VM's TAP device, moves it into the VM's netns
 * after start, and removes it when the VM stops: the guest pings a peer
 * inside the namespace, nothing of it is in the host's namespace, and no
 * TAP is left anywhere after stop or delete. */
static void
test_netns(void)
{
    static const Leftovers left = { { "vmc-boot-netns" }, .netns = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-netns");
    g_autofree char *ns = netns_name();
    g_autofree char *tap = tap_name();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) found = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated(&left))
        return;

    g_assert_cmpint(run_command("ip", "netns", "add", ns, NULL), ==, 0);
    g_assert_false(link_exists(NULL, tap));

    vmc_config_set_netns(cfg, ns);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vm.ip=10.213.7.2/24 vmc.ping=10.213.7.1");
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));

    for (int boot = 0; boot < 2; boot++) {
        g_autofree char *ping = NULL;

        handle = vmc_driver_boot(driver, cfg, &error);
        g_assert_no_error(error);
        assert_owned_taps(handle, tap);
        ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.213.7.2");
        g_assert_false(link_exists(NULL, tap));
        g_assert_true(link_exists(ns, tap));
        /* The peer: the namespace's end of the TAP (a device moved between
         * namespaces loses its addresses). The guest pings it, it pings
         * the guest. */
        g_assert_cmpint(run_command("ip", "-n", ns, "addr", "add", "10.213.7.1/24", "dev", tap,
                                    NULL), ==, 0);
        ping = wait_guest_line(cfg, "GUEST ping=10.213.7.1 result=", 90);
        g_assert_cmpstr(ping, ==, "ok");
        g_assert_cmpint(run_command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "10",
                                    "10.213.7.2", NULL), ==, 0);
        /* Another process sees the same ownership. */
        found = vmc_driver_lookup(driver, "vmc-boot-netns", &error);
        g_assert_no_error(error);
        assert_owned_taps(found, tap);
        g_clear_pointer(&found, vmc_handle_free);

        g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
        g_assert_no_error(error);
        g_assert_false(link_exists(NULL, tap));
        g_assert_false(link_exists(ns, tap));
        if (boot == 0) {
            g_clear_pointer(&handle, vmc_handle_free);
            g_clear_pointer(&ready, vmc_state_free);
        }
    }
    delete_vm(handle);
    g_assert_false(link_exists(NULL, tap));
    g_assert_false(link_exists(ns, tap));
}

/* A TAP device the operator made is used as it is and never removed. */
static void
test_operator_tap(void)
{
    static const Leftovers left = { { "vmc-boot-optap" }, .taps = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-optap");
    g_autofree char *tap = tap_name();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated(&left))
        return;

    g_assert_cmpint(run_command("ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "addr", "add", "10.213.8.1/24", "dev", tap, NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "link", "set", tap, "up", NULL), ==, 0);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vm.ip=10.213.8.2/24 vmc.ping=10.213.8.1");
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));

    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);
    assert_owned_taps(handle, NULL);
    ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    g_assert_no_error(error);
    g_autofree char *ping = wait_guest_line(cfg, "GUEST ping=10.213.8.1 result=", 90);
    g_assert_cmpstr(ping, ==, "ok");
    g_assert_true(vmc_driver_kill(driver, handle, &error));
    g_assert_true(link_exists(NULL, tap));
    delete_vm(handle);
    g_assert_true(link_exists(NULL, tap));
}

/* A start that fails leaves an operator's TAP device where it was: inside
 * the namespace, where the last boot left it (boot moves it out first, for
 * libvirt to open), and removes one it made. No definition is left
 * either. */
static void
test_netns_failed_start(void)
{
    static const Leftovers left = { { "vmc-boot-netns-fail" }, .netns = TRUE, .taps = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-netns-fail");
    g_autofree char *ns = netns_name();
    g_autofree char *tap = tap_name();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) none = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated(&left))
        return;

    g_assert_cmpint(run_command("ip", "netns", "add", ns, NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "link", "set", tap, "netns", ns, NULL), ==, 0);

    vmc_config_set_netns(cfg, ns);
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));
    /* 16 TiB: libvirt defines it, QEMU cannot start it. */
    vmc_config_set_memory_mb(cfg, 16 * 1024 * 1024);

    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED);
    g_assert_nonnull(strstr(error->message, "failed to start"));
    g_clear_error(&error);
    g_assert_cmpint(run_command("ip", "-n", ns, "link", "show", tap, NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "link", "show", tap, NULL), !=, 0);
    none = vmc_driver_lookup(driver, "vmc-boot-netns-fail", &error);
    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* A TAP that the failed boot made itself is removed again. */
    {
        g_autofree char *made = g_strconcat(tap, "1", NULL);

        vmc_config_set_netns(cfg, NULL);
        vmc_config_clear_networks(cfg);
        vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, made, NULL));
        g_assert_false(link_exists(NULL, made));
        handle = vmc_driver_boot(driver, cfg, &error);
        g_assert_null(handle);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED);
        g_assert_false(link_exists(NULL, made));
        g_assert_false(link_exists(ns, made));
    }
}

static void
test_netns_refused(void)
{
    static const Leftovers left = { { "vmc-boot-netns-refused" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-netns-refused");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;

    if (!isolated(&left))
        return;

    /* A namespace that does not exist. */
    vmc_config_set_netns(cfg, "vmc-no-such-netns");
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "network namespace 'vmc-no-such-netns' does not exist"));
    g_clear_error(&error);

}

/* A libvirt network definition in the work directory: NAT with DHCP on
 * 10.214.<subnet>.0/24 when @bridge is set, else just a name. */
static char *
network_xml_file(const char *name, const char *bridge, const char *subnet)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNode *root = xmlNewNode(NULL, (const xmlChar *) "network");
    g_autofree char *file = g_strconcat(name, ".xml", NULL);
    g_autofree char *path = work_file(file);

    xmlDocSetRootElement(doc, root);
    xmlNewTextChild(root, NULL, (const xmlChar *) "name", (const xmlChar *) name);
    if (bridge) {
        g_autofree char *gateway = g_strdup_printf("10.214.%s.1", subnet);
        g_autofree char *first = g_strdup_printf("10.214.%s.10", subnet);
        g_autofree char *last = g_strdup_printf("10.214.%s.50", subnet);
        xmlNode *ip, *range;

        xmlNewProp(xmlNewChild(root, NULL, (const xmlChar *) "forward", NULL),
                   (const xmlChar *) "mode", (const xmlChar *) "nat");
        xmlNewProp(xmlNewChild(root, NULL, (const xmlChar *) "bridge", NULL),
                   (const xmlChar *) "name", (const xmlChar *) bridge);
        ip = xmlNewChild(root, NULL, (const xmlChar *) "ip", NULL);
        xmlNewProp(ip, (const xmlChar *) "address", (const xmlChar *) gateway);
        xmlNewProp(ip, (const xmlChar *) "netmask", (const xmlChar *) "255.255.255.0");
        range = xmlNewChild(xmlNewChild(ip, NULL, (const xmlChar *) "dhcp", NULL), NULL,
                            (const xmlChar *) "range", NULL);
        xmlNewProp(range, (const xmlChar *) "start", (const xmlChar *) first);
        xmlNewProp(range, (const xmlChar *) "end", (const xmlChar *) last);
    }
    g_assert_cmpint(xmlSaveFile(path, doc), >, 0);
    return g_steal_pointer(&path);
}

static void
assert_refused_untouched(const VmcConfig *cfg, const char *const *words)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = vmc_driver_boot(driver, cfg, &error);
    g_autoptr(VmcHandle) none = NULL;

    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    for (const char *const *w = words; *w; w++) {
        if (!strstr(error->message, *w))
            g_error("'%s' is not in the refusal: %s", *w, error->message);
    }
    g_clear_error(&error);
    none = vmc_driver_lookup(driver, vmc_config_get_name(cfg), &error);
    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

/* A missing bridge, and a missing or inactive libvirt network, are named
 * before anything is defined. */
static void
test_missing_switch_refused(void)
{
    static const Leftovers left = { { "vmc-boot-noswitch" }, .network = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-noswitch");
    g_autofree char *net = netns_name();

    if (!isolated(&left))
        return;

    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_BRIDGE, "vmcnobr0", NULL));
    assert_refused_untouched(cfg, (const char *const[]) { "vmc-boot-noswitch", "networks[0]",
                                                           "bridge 'vmcnobr0' does not exist",
                                                           NULL });
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_BRIDGE, "lo", NULL));
    assert_refused_untouched(cfg, (const char *const[]) { "'lo' is a network device but not a "
                                                           "Linux bridge", NULL });

    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_NETWORK,
                                                           "vmc-no-such-net", NULL));
    if (strstr(uri, "embed")) {
        /* The embedded driver has no network driver at all. */
        assert_refused_untouched(cfg, (const char *const[]) { "networks[0].network",
                                                               "has no libvirt networks", NULL });
        return;
    }
    assert_refused_untouched(cfg, (const char *const[]) { "libvirt network 'vmc-no-such-net' "
                                                           "does not exist", NULL });

    /* Defined but not started. */
    {
        g_autofree char *xml_path = network_xml_file(net, NULL, NULL);

        g_assert_cmpint(run_command("virsh", "-q", "-c", "qemu:///system", "net-define",
                                    xml_path, NULL), ==, 0);
        vmc_config_clear_networks(cfg);
        vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_NETWORK, net, NULL));
        g_autofree char *words = g_strdup_printf("libvirt network '%s' is not active", net);
        assert_refused_untouched(cfg, (const char *const[]) { words, "virsh net-start", NULL });
        g_assert_cmpint(run_command("virsh", "-q", "-c", "qemu:///system", "net-undefine", net,
                                    NULL), ==, 0);
    }
}

static void
test_missing_file_refused(void)
{
    static const Leftovers left = { { "vmc-boot-missing" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-missing");
    g_autofree char *missing = work_file("no-such-initramfs.img");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;

    if (!isolated(&left))
        return;

    vmc_config_set_initramfs(cfg, missing);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, missing));
    g_assert_nonnull(strstr(error->message, "does not exist"));
}

typedef enum {
    RUN_SIGINT,         /* Ctrl-C at the ready marker */
    RUN_SIGTERM,        /* a scheduler stopping the task */
    RUN_KILL_QEMU,      /* the guest crashes */
} RunAction;

/* Runs `virt-vmconfig run` on @cfg with @extra arguments, does @action once
 * the console shows the ready marker, and returns the exit status; the
 * console and stderr end up in @out and @err. */
static int
cli_run(const VmcConfig *cfg, const char *cli_uri, const char *const *extra, RunAction action,
        const char *console_file, GString *out, GString *err)
{
    g_autofree char *json = vmc_config_to_json(cfg);
    g_autofree char *file = g_strconcat(vmc_config_get_name(cfg), ".json", NULL);
    g_autofree char *config_path = work_file(file);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    GPid pid;
    int out_fd, err_fd, wait_status;
    gboolean done = FALSE;
    gint64 deadline = g_get_monotonic_time() + READY_TIMEOUT_MS * 1000;
    char buf[4096];

    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));
    for (const char *const *a = (const char *const[]) { g_getenv("VMC_CLI"), "--connect",
                                                        cli_uri, "--accel", "qemu", "run",
                                                        NULL };
         *a; a++)
        g_ptr_array_add(argv, (gpointer) *a);
    for (const char *const *a = extra; a && *a; a++)
        g_ptr_array_add(argv, (gpointer) *a);
    g_ptr_array_add(argv, config_path);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv->pdata, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, vmc_test_die_with_parent,
                                           NULL, &pid, NULL, &out_fd, &err_fd, &error));
    g_assert_no_error(error);
    for (;;) {
        GPollFD pfd[2] = { { out_fd, G_IO_IN | G_IO_HUP, 0 }, { err_fd, G_IO_IN | G_IO_HUP, 0 } };
        gint64 remaining = deadline - g_get_monotonic_time();
        g_autofree char *console = NULL;

        if (remaining <= 0) {
            kill(pid, SIGKILL);
            g_error("run did not finish in time; it printed:\n%s\n%s", out->str, err->str);
        }
        g_poll(pfd, 2, (gint) MIN(MAX(remaining / 1000, 1), 200));
        for (int i = 0; i < 2; i++) {
            ssize_t got;

            if (pfd[i].fd < 0)
                continue;
            if (!(pfd[i].revents & (G_IO_IN | G_IO_HUP)))
                continue;
            got = read(pfd[i].fd, buf, sizeof(buf));
            if (got <= 0) {
                close(pfd[i].fd);
                if (i == 0)
                    out_fd = -1;
                else
                    err_fd = -1;
                continue;
            }
            g_string_append_len(i == 0 ? out : err, buf, got);
        }
        if (out_fd < 0 && err_fd < 0)
            break;
        if (console_file)
            g_file_get_contents(console_file, &console, NULL, NULL);
        /* The guest's tty ends lines with "\r\n". */
        if (!done && strstr(console_file ? (console ? console : "") : out->str, "VMRS_READY ")) {
            if (action == RUN_KILL_QEMU) {
                g_assert_cmpint(kill(qemu_pid_of(vmc_config_get_name(cfg)), SIGKILL), ==, 0);
            } else {
                kill(pid, action == RUN_SIGINT ? SIGINT : SIGTERM);
            }
            done = TRUE;
        }
    }
    wait_status = vmc_test_reap(pid, g_get_monotonic_time() + COMMAND_SECS * G_USEC_PER_SEC,
                                "virt-vmconfig run");
    if (!done)
        g_error("run printed no ready marker:\n%s\n%s", out->str, err->str);
    g_assert_true(WIFEXITED(wait_status));
    return WEXITSTATUS(wait_status);
}

/* `virt-vmconfig run` as a supervised task: the console on stdout (or in a
 * file), SIGINT and SIGTERM stop the guest through ACPI with exit status
 * 0, a crash of the guest exits 1 with the reason; the VM is removed on
 * exit unless --keep. */
static void
test_cli_run(void)
{
    static const Leftovers left = { { "vmc-boot-run" }, .cli_root = "cli-run-embed" };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-run");
    g_autofree char *cli_root = NULL;
    g_autofree char *cli_uri = NULL;
    g_autofree char *console_log = work_file("vmc-boot-run.console");
    g_autofree char *console = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;

    if (!isolated(&left))
        return;

    /* An embedded driver's root belongs to one process at a time: the CLI
     * gets a root of its own, and checks with no daemon at all. */
    if (g_str_has_prefix(uri, "qemu:///embed")) {
        cli_root = g_build_filename(work_dir, left.cli_root, NULL);
        g_assert_cmpint(g_mkdir(cli_root, 0755), ==, 0);
        cli_uri = g_strdup_printf("qemu:///embed?root=%s", cli_root);
    } else {
        cli_uri = g_strdup(uri);
    }

    {
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GString) err = g_string_new(NULL);

        g_assert_cmpint(cli_run(cfg, cli_uri, NULL, RUN_SIGINT, NULL, out, err), ==, 0);
        g_assert_nonnull(strstr(out->str, "GUEST cmdline=console=ttyS0"));
        g_assert_nonnull(strstr(out->str, "GUEST acpi=power-button"));
    }
    {
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GString) err = g_string_new(NULL);

        g_assert_cmpint(cli_run(cfg, cli_uri,
                                (const char *const[]) { "--keep", "--stop-timeout", "30",
                                                        "--console-log", console_log, NULL },
                                RUN_SIGTERM, console_log, out, err), ==, 0);
        g_assert_true(g_file_get_contents(console_log, &console, NULL, NULL));
        g_assert_nonnull(strstr(console, "GUEST acpi=power-button"));
        g_assert_null(strstr(out->str, "GUEST "));
    }
    if (!cli_root) {
        /* Kept: stopped and defined. */
        handle = vmc_driver_lookup(driver, "vmc-boot-run", &error);
        g_assert_no_error(error);
        g_assert_cmpint(state_of(handle), ==, VMC_STATE_STOPPED);
        g_clear_pointer(&handle, vmc_handle_free);
    }
    {
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GString) err = g_string_new(NULL);

        g_assert_cmpint(cli_run(cfg, cli_uri, NULL, RUN_KILL_QEMU, NULL, out, err), ==, 1);
        if (!strstr(err->str, "VM 'vmc-boot-run' failed"))
            g_error("no reason for the crash on stderr:\n%s", err->str);
    }
    if (cli_root)
        return;   /* the teardown removes the root */
    /* Not kept: gone. */
    handle = vmc_driver_lookup(driver, "vmc-boot-run", &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

/* The example of README.md, as its quick start runs it (no --accel): a
 * guest that powers off by itself; run exits 0. Where no vCPU runs under
 * KVM the CLI must have picked TCG for the guest to print anything. */
static void
test_cli_run_example(void)
{
    static const Leftovers left = { { "hello" }, .cli_root = "cli-example-embed" };
    g_autofree char *example = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "hello.json", NULL);
    g_autofree char *root = g_build_filename(work_dir, left.cli_root, NULL);
    g_autofree char *cli_uri = NULL;
    g_auto(VmcTestRun) run = { 0 };

    if (!isolated(&left))
        return;

    g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
    cli_uri = g_strdup_printf("qemu:///embed?root=%s", root);
    vmc_test_spawn(&run, FALSE, TEST_SECS - 30,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", cli_uri, "run", example,
                                           NULL });
    if (run.status != 0)
        g_error("run %s failed (status %d): %s\n%s", example, run.status, run.err, run.out);
    {
        g_autofree char *marker = g_strdup_printf("VMRS_READY %s", user_nic_ip());

        g_assert_nonnull(strstr(run.out, marker));
    }
    g_assert_nonnull(strstr(run.out, "GUEST halt=after-ready"));
    /* The teardown removes the root. */
}

typedef struct {
    GPtrArray *events;      /* of VmcEvent copies: kind, event code, ip */
    gint64 last_at;
} Seen;

typedef struct {
    VmcStateKind kind;
    int event;
    char *ip;
    char *reason;
    gint64 at;
} SeenEvent;

static void
seen_event_free(gpointer data)
{
    SeenEvent *e = data;

    g_free(e->ip);
    g_free(e->reason);
    g_free(e);
}

static void
on_watch(VmcDriver *d, const VmcEvent *event, gpointer data)
{
    Seen *seen = data;
    SeenEvent *e = g_new0(SeenEvent, 1);
    const VmcState *state = vmc_event_get_state(event);

    e->kind = vmc_state_get_kind(state);
    e->event = vmc_event_get_libvirt_event(event);
    e->ip = g_strdup(vmc_state_get_ip(state));
    e->reason = g_strdup(vmc_state_get_reason(state));
    e->at = g_get_monotonic_time();
    g_ptr_array_add(seen->events, e);
}

static const SeenEvent *
wait_for_kind(GMainContext *context, Seen *seen, VmcStateKind kind, guint from, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

    for (;;) {
        for (guint i = from; i < seen->events->len; i++) {
            const SeenEvent *e = g_ptr_array_index(seen->events, i);
            if (e->kind == kind)
                return e;
        }
        if (g_get_monotonic_time() > deadline)
            g_error("%s: no %s event within %u ms", uri, vmc_state_kind_to_string(kind),
                    timeout_ms);
        g_main_context_iteration(context, FALSE);
        g_usleep(1000);
    }
}

static const SeenEvent *
wait_for_event(GMainContext *context, Seen *seen, int event, guint from, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

    for (;;) {
        for (guint i = from; i < seen->events->len; i++) {
            const SeenEvent *e = g_ptr_array_index(seen->events, i);
            if (e->event == event)
                return e;
        }
        if (g_get_monotonic_time() > deadline)
            g_error("%s: no libvirt event %d within %u ms", uri, event, timeout_ms);
        g_main_context_iteration(context, FALSE);
        g_usleep(1000);
    }
}

/* The QEMU process of a VM, from the pid file libvirt keeps for it. */
static GPid
qemu_pid(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".pid", NULL);
    const char *const dirs[] = { "/run/libvirt/qemu", NULL };
    g_autofree char *embed_run = NULL;
    g_autofree char *text = NULL;
    g_autofree char *path = NULL;

    if (g_str_has_prefix(uri, "qemu:///embed?root=")) {
        /* An embedded driver keeps its run state under its root. */
        embed_run = g_build_filename(uri + strlen("qemu:///embed?root="), "run", "qemu", NULL);
        path = g_build_filename(embed_run, file, NULL);
    } else {
        path = g_build_filename(dirs[0], file, NULL);
    }
    if (!g_file_get_contents(path, &text, NULL, NULL))
        g_error("no pid file %s", path);
    return (GPid) g_ascii_strtoll(text, NULL, 10);
}

/* Reads @master into @seen until it holds @text; fails after @secs. */
static void
pty_read_until(int master, GString *seen, const char *text, guint secs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) secs * G_USEC_PER_SEC;

    while (!strstr(seen->str, text)) {
        GPollFD fd = { master, G_IO_IN, 0 };
        char buf[4096];
        ssize_t n;

        if (g_get_monotonic_time() > deadline)
            g_error("the terminal never showed '%s'; it showed:\n%s", text, seen->str);
        if (g_poll(&fd, 1, 100) <= 0)
            continue;
        n = read(master, buf, sizeof(buf));
        if (n > 0)
            g_string_append_len(seen, buf, n);
    }
}

/* `console NAME` on a terminal: raw mode, what is typed reaches the guest
 * (its terminal echoes it back through the console), Ctrl-] leaves with
 * status 0 and the terminal as it was, and the VM runs on. */
static void
test_console_interactive(void)
{
    static const Leftovers left = { { "vmc-boot-tty" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-tty");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) seen = g_string_new(NULL);
    struct termios before, now;
    const char *argv[] = { g_getenv("VMC_CLI"), "-c", uri, "console", "vmc-boot-tty", NULL };
    gint64 deadline;
    int master, slave, status;
    GPid pid;

    if (!isolated(&left))
        return;
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);
    state = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    g_assert_no_error(error);

    master = vmc_test_open_pty(&slave);
    g_assert_cmpint(tcgetattr(slave, &before), ==, 0);
    g_assert_true(g_spawn_async_with_fds(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                         vmc_test_die_with_parent, NULL, &pid, slave, slave,
                                         slave, &error));
    g_assert_no_error(error);
    pty_read_until(master, seen, "escape character is ^]", 30);
    /* Typed only once the terminal is raw: no local echo to mistake. */
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    do {
        g_assert_cmpint(tcgetattr(slave, &now), ==, 0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    } while (now.c_lflag & (ICANON | ECHO));
    g_assert_cmpint(write(master, "vmc-typed-42\r", 13), ==, 13);
    pty_read_until(master, seen, "vmc-typed-42", 20);
    g_assert_cmpint(write(master, "\x1d", 1), ==, 1);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_cmpint(tcgetattr(slave, &now), ==, 0);
    g_assert_cmpint(now.c_lflag, ==, before.c_lflag);
    close(slave);
    close(master);

    g_clear_pointer(&state, vmc_state_free);
    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_state_is_running(state));
    g_assert_true(vmc_driver_kill(driver, handle, &error));
}

/* A watch reports Ready from the serial log, and a QEMU killed with
 * SIGKILL as Failed, through events, with no polling. */
static void
test_watch_ready_and_crash(void)
{
    static const Leftovers left = { { "vmc-boot-crash" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-crash");
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    Seen seen = { g_ptr_array_new_with_free_func(seen_event_free), 0 };
    const SeenEvent *ready, *failed, *undefined;
    gint64 killed_at, deadline;
    guint watch, mark;
    GPid pid;

    if (!isolated(&left))
        return;

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch(driver, "vmc-boot-crash", NULL, on_watch, &seen, NULL);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);

    ready = wait_for_kind(context, &seen, VMC_STATE_READY, 0, READY_TIMEOUT_MS);
    g_assert_cmpint(ready->event, ==, VMC_EVENT_READY);
    g_assert_cmpstr(ready->ip, ==, user_nic_ip());
    /* It came after the start, not before. */
    g_assert_cmpint(((SeenEvent *) g_ptr_array_index(seen.events, 0))->kind, !=, VMC_STATE_READY);

    mark = seen.events->len;
    pid = qemu_pid("vmc-boot-crash");
    killed_at = g_get_monotonic_time();
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    failed = wait_for_kind(context, &seen, VMC_STATE_FAILED, mark, 10000);
    g_test_message("%s: QEMU killed -> Failed event after %.1f ms", uri,
                   (failed->at - killed_at) / 1000.0);
    g_assert_cmpint(failed->event, ==, 5 /* VIR_DOMAIN_EVENT_STOPPED */);

    /* libvirt comes to the same conclusion in its own time ... */
    deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    for (;;) {
        state = vmc_driver_get_state(driver, handle, &error);
        g_assert_no_error(error);
        if (vmc_state_get_kind(state) != VMC_STATE_RUNNING &&
            vmc_state_get_kind(state) != VMC_STATE_READY)
            break;
        if (g_get_monotonic_time() > deadline)
            g_error("%s: libvirt still says %s 30 s after QEMU was killed", uri,
                    vmc_state_kind_to_string(vmc_state_get_kind(state)));
        g_clear_pointer(&state, vmc_state_free);
        g_main_context_iteration(context, FALSE);
        g_usleep(50000);
    }
    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_FAILED);
    g_assert_nonnull(strstr(vmc_state_get_reason(state), "crashed"));

    /* ... and its event is not delivered a second time: removing the VM
     * makes the last event (undefined), after which nothing about the
     * crash can still be on its way. */
    delete_vm(handle);
    undefined = wait_for_event(context, &seen, 1 /* VIR_DOMAIN_EVENT_UNDEFINED */, mark,
                               COMMAND_SECS * 1000);
    for (guint i = mark; i < seen.events->len; i++) {
        const SeenEvent *e = g_ptr_array_index(seen.events, i);
        if (e != failed && e != undefined &&
            (e->kind == VMC_STATE_FAILED || e->kind == VMC_STATE_STOPPED))
            g_error("the crash was reported twice (a second event %d)", e->event);
    }

    vmc_driver_unwatch(driver, watch);
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(seen.events);
}

static GPid
libvirtd_pid(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents("/run/libvirtd.pid", &text, NULL, NULL))
        return 0;
    return (GPid) g_ascii_strtoll(text, NULL, 10);
}

static void
start_libvirtd(void)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    g_assert_cmpint(run_command("libvirtd", "-d", NULL), ==, 0);
    while (!g_file_test("/run/libvirt/libvirt-sock", G_FILE_TEST_EXISTS)) {
        if (g_get_monotonic_time() > deadline)
            g_error("libvirtd -d made no socket in 30 s");
        g_usleep(50000);
    }
}

/* For the teardown: a test that failed while libvirtd was down. */
static void
ensure_libvirtd(void)
{
    GPid pid = libvirtd_pid();

    if (pid > 0 && kill(pid, 0) == 0)
        return;
    g_test_message("teardown: libvirtd is not running: starting it");
    start_libvirtd();
}

/* Stops libvirtd if it runs, and waits for it to be gone. */
static void
stop_libvirtd(void)
{
    GPid pid = libvirtd_pid();
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    if (pid <= 0 || kill(pid, SIGTERM) < 0)
        return;
    while (kill(pid, 0) == 0) {
        if (g_get_monotonic_time() > deadline)
            g_error("libvirtd (pid %d) did not end in 30 s after SIGTERM", (int) pid);
        g_usleep(50000);
    }
}

static void
restart_libvirtd(void)
{
    if (libvirtd_pid() <= 0)
        g_error("no libvirtd runs (no /run/libvirtd.pid)");
    stop_libvirtd();
    start_libvirtd();
}

/* Between @mark and the first @kind event (which is waited for), @seen
 * got nothing else: no state of the VM changed, so nothing is said. */
static void
assert_only_event_since(GMainContext *context, Seen *seen, guint mark, VmcStateKind kind,
                        const char *what)
{
    const SeenEvent *next = wait_for_kind(context, seen, kind, mark, 10000);

    for (guint i = mark; i < seen->events->len && g_ptr_array_index(seen->events, i) != next;
         i++) {
        const SeenEvent *e = g_ptr_array_index(seen->events, i);
        g_error("%s: the restart was reported as the VM being %s (libvirt event %d), though its "
                "state did not change", what, vmc_state_kind_to_string(e->kind), e->event);
    }
}

/* libvirtd goes away and comes back while watches run: the watches go on,
 * nothing is reported for the Ready VM (not stopped, not "running" again),
 * neither by the watch that saw it start nor by one started after it was
 * Ready, and later changes arrive. */
static void
test_daemon_restart(void)
{
    static const Leftovers left = { { "vmc-boot-restart" }, .daemon = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-restart");
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    Seen seen = { g_ptr_array_new_with_free_func(seen_event_free), 0 };
    Seen later = { g_ptr_array_new_with_free_func(seen_event_free), 0 };
    gint64 restarted, deadline;
    VmcState *state = NULL;
    guint watch, watch_later, mark, mark_later;

    if (!isolated(&left))
        return;

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch(driver, NULL, "vmc-boot-test", on_watch, &seen, NULL);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);
    wait_for_kind(context, &seen, VMC_STATE_READY, 0, READY_TIMEOUT_MS);
    /* A watch of a driver of its own, as a new `virt-vmconfig watch` has:
     * it never saw the VM start, and follows it from Ready on. */
    {
        g_autoptr(VmcDriver) other = vmc_driver_open(uri, &error);

        g_assert_no_error(error);
        vmc_driver_set_accel(other, VMC_ACCEL_QEMU);
        watch_later = vmc_driver_watch(other, NULL, "vmc-boot-test", on_watch, &later, NULL);
        wait_for_kind(context, &later, VMC_STATE_READY, 0, 10000);
        mark = seen.events->len;
        mark_later = later.events->len;
        restart_libvirtd();
        restarted = g_get_monotonic_time();
        deadline = restarted + 60 * G_USEC_PER_SEC;
        /* The drivers reconnect by themselves; calls made before that fail. */
        while (!(state = vmc_driver_get_state(other, handle, &error))) {
            if (g_get_monotonic_time() > deadline)
                g_error("%s: the driver was not usable 60 s after libvirtd restarted: %s", uri,
                        error->message);
            g_clear_error(&error);
            g_main_context_iteration(context, FALSE);
            g_usleep(100000);
        }
        g_test_message("%s: usable again %.1f s after libvirtd restarted", uri,
                       (g_get_monotonic_time() - restarted) / 1e6);
        g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_READY);
        vmc_state_free(state);
        while (!(state = vmc_driver_get_state(driver, handle, &error))) {
            if (g_get_monotonic_time() > deadline)
                g_error("%s: the driver was not usable 60 s after libvirtd restarted: %s", uri,
                        error->message);
            g_clear_error(&error);
            g_main_context_iteration(context, FALSE);
            g_usleep(100000);
        }
        g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_READY);
        vmc_state_free(state);

        /* A change made after the restart is delivered to both; once it
         * is, anything the restart made them report is in too. */
        g_assert_true(vmc_driver_pause(driver, handle, &error));
        g_assert_no_error(error);
        assert_only_event_since(context, &seen, mark, VMC_STATE_PAUSED, "the first watch");
        assert_only_event_since(context, &later, mark_later, VMC_STATE_PAUSED,
                                "the watch started after Ready");
        vmc_driver_unwatch(other, watch_later);
    }

    g_assert_true(vmc_driver_kill(driver, handle, &error));
    vmc_driver_unwatch(driver, watch);
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(seen.events);
    g_ptr_array_unref(later.events);
    delete_vm(handle);
}

/* Two VMs on one Linux bridge ping each other. */
static void
test_bridge_pair(void)
{
    static const Leftovers left = { { "vmc-boot-br-a", "vmc-boot-br-b" }, .bridge = TRUE };
    g_autoptr(VmcConfig) a = initramfs_config("vmc-boot-br-a");
    g_autoptr(VmcConfig) b = initramfs_config("vmc-boot-br-b");
    g_autofree char *bridge = bridge_name();
    g_autoptr(VmcHandle) ha = NULL;
    g_autoptr(VmcHandle) hb = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *ping_a = NULL;
    g_autofree char *ping_b = NULL;

    if (!isolated(&left))
        return;

    g_assert_cmpint(run_command("ip", "link", "add", bridge, "type", "bridge", NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "link", "set", bridge, "up", NULL), ==, 0);
    vmc_config_clear_networks(a);
    vmc_config_add_network(a, vmc_network_attachment_new(VMC_NETWORK_BRIDGE, bridge, NULL));
    vmc_config_set_cmdline(a, "console=ttyS0 vm.ip=10.213.9.2/24 vmc.ping=10.213.9.3");
    vmc_config_clear_networks(b);
    vmc_config_add_network(b, vmc_network_attachment_new(VMC_NETWORK_BRIDGE, bridge, NULL));
    vmc_config_set_cmdline(b, "console=ttyS0 vm.ip=10.213.9.3/24 vmc.ping=10.213.9.2");

    ha = vmc_driver_boot(driver, a, &error);
    g_assert_no_error(error);
    hb = vmc_driver_boot(driver, b, &error);
    g_assert_no_error(error);
    ping_a = wait_guest_line(a, "GUEST ping=10.213.9.3 result=", 100);
    ping_b = wait_guest_line(b, "GUEST ping=10.213.9.2 result=", 100);
    g_assert_cmpstr(ping_a, ==, "ok");
    g_assert_cmpstr(ping_b, ==, "ok");
    g_assert_true(vmc_driver_kill(driver, ha, &error));
    g_assert_true(vmc_driver_kill(driver, hb, &error));
    delete_vm(ha);
    delete_vm(hb);
}

/* A guest on a libvirt NAT network that prints no ready marker is ready
 * with the address libvirt's DHCP server leased it. */
static void
test_network_lease(void)
{
    static const Leftovers left = { { "vmc-boot-lease" }, .network = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-lease");
    g_autofree char *net = netns_name();
    g_autofree char *bridge = bridge_name();
    g_autofree char *subnet = g_strdup_printf("%d", atoi(test_id) % 200 + 20);
    g_autofree char *xml = NULL;
    g_autofree char *prefix = NULL;
    g_autofree char *guest_ip = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    gint64 deadline;
    g_autoptr(VmcState) state = NULL;

    if (!isolated(&left))
        return;

    xml = network_xml_file(net, bridge, subnet);
    g_assert_cmpint(run_command("virsh", "-q", "-c", "qemu:///system", "net-create", xml, NULL),
                    ==, 0);
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_NETWORK, net, NULL));
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.noready");
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);

    /* The guest's own DHCP client took the lease: its address is the one
     * state reports, though no marker was printed. */
    guest_ip = wait_guest_line(cfg, "GUEST net=eth0 ip=", 90);
    prefix = g_strdup_printf("10.214.%s.", subnet);
    g_assert_true(g_str_has_prefix(guest_ip, prefix));
    deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    for (;;) {
        g_clear_pointer(&state, vmc_state_free);
        state = vmc_driver_get_state(driver, handle, &error);
        g_assert_no_error(error);
        if (vmc_state_get_kind(state) == VMC_STATE_READY || g_get_monotonic_time() > deadline)
            break;
        g_usleep(200 * 1000);
    }
    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_READY);
    g_assert_cmpstr(vmc_state_get_ip(state), ==, guest_ip);
    g_assert_false(serial_has_line(cfg, "VMRS_READY"));
    g_assert_true(vmc_driver_kill(driver, handle, &error));

    /* Booted again, the guest takes a static address and asks no DHCP
     * server: the lease of the boot before, which libvirt's dnsmasq keeps
     * until it expires, does not make this boot ready. */
    {
        g_autofree char *cmdline = g_strdup_printf("console=ttyS0 vmc.noready vm.ip=%s250/24",
                                                   prefix);
        g_autofree char *static_ip = NULL;
        g_autoptr(VmcHandle) again = NULL;

        vmc_config_set_cmdline(cfg, cmdline);
        again = vmc_driver_boot(driver, cfg, &error);
        g_assert_no_error(error);
        static_ip = wait_guest_line(cfg, "GUEST net=eth0 ip=", 90);
        g_assert_true(g_str_has_suffix(static_ip, "250"));
        for (int i = 0; i < 10; i++) {
            g_clear_pointer(&state, vmc_state_free);
            state = vmc_driver_get_state(driver, again, &error);
            g_assert_no_error(error);
            g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_RUNNING);
            g_usleep(200 * 1000);
        }
        g_assert_true(vmc_driver_kill(driver, again, &error));
    }
    delete_vm(handle);
}

/* A small HTTP server on the host's loopback: answers one request with
 * @body. */
typedef struct {
    GSocketListener *listener;
    const char *body;
    gboolean served;
} HttpOnce;

static gpointer
http_once_thread(gpointer data)
{
    HttpOnce *h = data;
    g_autoptr(GSocketConnection) conn = g_socket_listener_accept(h->listener, NULL, NULL, NULL);
    g_autofree char *reply = NULL;
    char request[4096];

    if (!conn)
        return NULL;
    g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), request,
                        sizeof(request), NULL, NULL);
    reply = g_strdup_printf("HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                            strlen(h->body), h->body);
    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), reply,
                              strlen(reply), NULL, NULL, NULL);
    h->served = TRUE;
    return NULL;
}

/* A user-mode NIC (no privileges, no host device) reaches the host: the
 * guest fetches a page from a server on the host's loopback, through the
 * gateway of passt where this host has it, else of slirp. */
static void
test_user_network(void)
{
    static const Leftovers left = { { "vmc-boot-usernet" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-usernet");
    g_autoptr(GSocketListener) listener = g_socket_listener_new();
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
    g_autoptr(GSocketAddress) bound = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *fetched = NULL;
    g_autofree char *expected = NULL;
    g_autofree char *why = NULL;
    g_autofree char *xml = NULL;
    HttpOnce http = { NULL, "vmc-user-net-token\n", FALSE };
    GThread *server;
    virConnectPtr conn;
    virDomainPtr dom;
    gboolean passt;
    guint16 port;

    if (!isolated(&left))
        return;

    g_assert_true(g_socket_listener_add_address(listener, any, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
    g_assert_no_error(error);
    port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    http.listener = listener;
    server = g_thread_new("http-once", http_once_thread, &http);

    cmdline = g_strdup_printf("console=ttyS0 vmc.fetch=%u", port);
    vmc_config_set_cmdline(cfg, cmdline);
    handle = boot_ready(cfg);
    fetched = wait_guest_line(cfg, "GUEST fetch=", 60);
    expected = g_strdup_printf(":%u content=vmc-user-net-token", port);
    if (!g_str_has_suffix(fetched, expected))
        g_error("the guest fetched '%s', expected '...%s'", fetched, expected);
    g_thread_join(server);
    g_assert_true(http.served);

    /* Carried by the backend check-host names. */
    conn = virConnectOpen(uri);
    g_assert_nonnull(conn);
    passt = vmc_host_passt_works(conn, TRUE, &why);
    dom = virDomainLookupByName(conn, "vmc-boot-usernet");
    g_assert_nonnull(dom);
    xml = virDomainGetXMLDesc(dom, 0);
    g_assert_nonnull(xml);
    virDomainFree(dom);
    virConnectClose(conn);
    g_test_message("user NIC backend: %s%s%s", passt ? "passt" : "slirp", why ? ": " : "",
                   why ? why : "");
    g_assert_cmpint(strstr(xml, "<backend type='passt'/>") != NULL, ==, passt);
    g_assert_true(vmc_driver_kill(driver, handle, &error));
    delete_vm(handle);
}

/* A port forward of a user NIC, on this host as its probe finds it. With
 * passt (Debian 13's libvirt): the forward from 127.0.0.1:PORT reaches a
 * listener in the guest, which answers with its own UUID. Without it
 * (Debian 12's libvirt 9.0, which would take a <portForward> on a slirp
 * NIC and forward nothing): the VM is refused before anything is defined,
 * with the reason and what would make it work. */
static void
test_forward(void)
{
    static const Leftovers left = { { "vmc-boot-forward" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-forward");
    guint16 port = free_port();
    g_autoptr(VmcPortForward) fwd = vmc_port_forward_new(VMC_FORWARD_TCP, "127.0.0.1", port,
                                                         7777);
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) none = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *why = NULL;
    g_autofree char *answer = NULL;
    g_autofree char *expected = NULL;
    gboolean passt;
    virConnectPtr conn;

    if (!isolated(&left))
        return;
    conn = virConnectOpen(uri);
    g_assert_nonnull(conn);
    passt = vmc_host_passt_works(conn, TRUE, &why);
    virConnectClose(conn);

    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.listen=7777");
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(
                                    VMC_NETWORK_USER, NULL, NULL,
                                    (const VmcPortForward *const[]) { fwd }, 1));
    handle = vmc_driver_boot(driver, cfg, &error);
    if (passt) {
        g_assert_no_error(error);
        ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
        g_assert_no_error(error);
        g_assert_cmpint(vmc_state_get_kind(ready), ==, VMC_STATE_READY);
        g_assert_cmpuint(live_xml_count(uri, "vmc-boot-forward",
                                        "/domain/devices/interface[@type='user']"
                                        "/backend[@type='passt']"), ==, 1);
        answer = tcp_first_line(port, 30);
        expected = g_strdup_printf("VMC_LISTEN port=7777 uuid=%s", vmc_handle_get_uuid(handle));
        g_assert_cmpstr(answer, ==, expected);
        return;
    }
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "VM 'vmc-boot-forward': networks[0].forwards: the "
                                            "host of"));
    g_assert_nonnull(strstr(error->message, "cannot forward ports to a user NIC"));
    g_assert_nonnull(strstr(error->message, why));
    g_assert_nonnull(strstr(error->message, "Nothing was defined"));
    g_clear_error(&error);
    none = vmc_driver_lookup(driver, "vmc-boot-forward", &error);
    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_assert_false(g_file_test(vmc_config_get_serial_log(cfg), G_FILE_TEST_EXISTS));
}

/* The QEMU process of a VM (its -name guest=NAME). */
static GPid
qemu_pid_of(const char *name)
{
    g_auto(VmcTestRun) run = { 0 };
    g_autofree char *pattern = g_strdup_printf("qemu-system.*-name guest=%s,", name);

    vmc_test_spawn(&run, FALSE, COMMAND_SECS,
                   (const char *const[]) { "pgrep", "-f", pattern, NULL });
    g_assert_cmpint(run.status, ==, 0);
    return (GPid) atoi(run.out);
}

/* A read-only share holds: the guest reads it and cannot write it, the
 * host directory stays as it was, and no mount is left after stop, kill or
 * a QEMU killed with SIGKILL; of the killed QEMU, state and list change
 * nothing on the host (the view stays, no lock file is made), and the
 * next kill, an operation that changes the VM, releases the view. */
static void
test_read_only_share(void)
{
    static const Leftovers left = { { "vmc-boot-roshare" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-roshare");
    g_autofree char *share = work_file("ro-share");
    g_autofree char *token = g_build_filename(share, "token.txt", NULL);
    g_autofree char *views = views_of("vmc-boot-roshare");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) before = NULL;
    g_autoptr(GPtrArray) after = NULL;
    virConnectPtr conn;
    gboolean by_libvirt;
    g_autofree char *readonly_why = NULL;

    if (!isolated(&left))
        return;

    g_assert_cmpint(g_mkdir_with_parents(share, 0755), ==, 0);
    g_assert_true(g_file_set_contents(token, "read-only token\n", -1, NULL));
    g_assert_cmpint(g_chmod(token, 0644), ==, 0);
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share, "rodata", TRUE));
    before = vmc_test_list_dir(share, "");
    conn = virConnectOpen(uri);
    g_assert_nonnull(conn);
    by_libvirt = vmc_host_virtiofs_readonly_works(conn, &readonly_why);
    virConnectClose(conn);

    for (int round = 0; round < 3; round++) {
        g_autofree char *writable = NULL;

        handle = boot_ready(cfg);
        g_assert_true(serial_has_line(cfg, "GUEST share=rodata file=token.txt content=read-only "
                                           "token"));
        writable = wait_guest_line(cfg, "GUEST share=rodata mounted=yes writable=", 5);
        g_assert_cmpstr(writable, ==, "no");
        /* One view while it runs, unless libvirt enforces read-only itself. */
        g_assert_cmpuint(mounts_with(views), ==, by_libvirt ? 0 : 1);

        if (round == 0) {
            g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
        } else if (round == 1) {
            g_assert_true(vmc_driver_kill(driver, handle, &error));
        } else {
            GPid qemu = qemu_pid_of("vmc-boot-roshare");
            gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

            g_assert_cmpint(kill(qemu, SIGKILL), ==, 0);
            do {
                g_clear_pointer(&state, vmc_state_free);
                state = vmc_driver_get_state(driver, handle, &error);
                g_assert_no_error(error);
                if (g_get_monotonic_time() > deadline)
                    g_error("VM still '%s' 30 s after SIGKILL of QEMU",
                            vmc_state_kind_to_string(vmc_state_get_kind(state)));
                if (vmc_state_is_running(state))
                    g_usleep(100 * 1000);
            } while (vmc_state_is_running(state));
            g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_FAILED);

            /* Readers change nothing: the view stays, and no lock file
             * or directory comes or goes, through two more state queries
             * and a list. */
            {
                g_autofree char *seen = run_dir_snapshot();
                g_autoptr(GPtrArray) listed = NULL;

                g_assert_cmpuint(mounts_with(views), ==, by_libvirt ? 0 : 1);
                for (int i = 0; i < 2; i++) {
                    g_clear_pointer(&state, vmc_state_free);
                    state = vmc_driver_get_state(driver, handle, &error);
                    g_assert_no_error(error);
                    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_FAILED);
                }
                listed = vmc_driver_list(driver, NULL, &error);
                g_assert_no_error(error);
                g_assert_cmpuint(mounts_with(views), ==, by_libvirt ? 0 : 1);
                {
                    g_autofree char *now = run_dir_snapshot();
                    g_assert_cmpstr(now, ==, seen);
                }
            }
            /* An operation that changes the VM releases what it left. */
            g_assert_true(vmc_driver_kill(driver, handle, &error));
        }
        g_assert_no_error(error);
        g_assert_cmpuint(mounts_with(views), ==, 0);
        g_clear_pointer(&handle, vmc_handle_free);
    }
    after = vmc_test_list_dir(share, "");
    g_assert_cmpuint(after->len, ==, before->len);
    {
        g_autofree char *text = NULL;
        g_assert_true(g_file_get_contents(token, &text, NULL, NULL));
        g_assert_cmpstr(text, ==, "read-only token\n");
    }
    handle = vmc_driver_lookup(driver, "vmc-boot-roshare", &error);
    g_assert_no_error(error);
    delete_vm(handle);
}

/* ---- a boot interrupted at each of its steps ------------------------- */

/* The boot mark of @vm: any host's (the file name ends with "-<vm>"). */
static gboolean
boot_mark_exists(const char *vm)
{
    g_autoptr(GDir) dir = g_dir_open("/run/virt-vmconfig/boots", 0, NULL);
    g_autofree char *suffix = g_strconcat("-", vm, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        if (g_str_has_suffix(entry, suffix))
            return TRUE;
    }
    return FALSE;
}

/* Whether process @pid is stopped (SIGSTOP): state 'T' in /proc. */
static gboolean
process_stopped(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid);
    g_autofree char *text = NULL;
    const char *end;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(end = strrchr(text, ')')))
        return FALSE;
    return end[1] == ' ' && end[2] == 'T';
}

/* What a reader could change: the run directory (marks, locks, views),
 * the TAP, the views' mounts, and libvirt's view of the domain. */
static char *
host_snapshot(const char *vm, const char *tap)
{
    g_autofree char *run = run_dir_snapshot();
    g_autofree char *views = views_of(vm);
    g_auto(VmcTestRun) dom = { 0 };

    vmc_test_spawn(&dom, FALSE, COMMAND_SECS,
                   (const char *const[]) { "virsh", "-q", "-c", uri, "domstate", vm, NULL });
    return g_strdup_printf("%s\ntap=%d mounts=%u domstate=%d:%s", run, link_exists(NULL, tap),
                           mounts_with(views), dom.status, dom.out);
}

static void
cli_expect_at(const char *at, VmcTestRun *run, const char *const *args, int status)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();

    for (const char *const *a = (const char *const[]) { g_getenv("VMC_CLI"), "-c", at,
                                                        "--accel", "qemu", NULL };
         *a; a++)
        g_ptr_array_add(argv, (gpointer) *a);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer) *a);
    g_ptr_array_add(argv, NULL);
    vmc_test_spawn(run, FALSE, 120, (const char *const *) argv->pdata);
    if (status >= 0 && run->status != status)
        g_error("virt-vmconfig %s: status %d, not %d\nstdout:\n%s\nstderr:\n%s", args[0],
                run->status, status, run->out, run->err);
}

static void
cli_expect(VmcTestRun *run, const char *const *args, int status)
{
    cli_expect_at(uri, run, args, status);
}

/* `up` stopped at each step of the boot (VMC_DEBUG_BOOT_STOP): two
 * `state` calls and a `list` while it is stopped change nothing on the
 * host; then it is SIGKILLed, and the next up, down or gc of the name
 * releases what it made (a TAP the driver created, a read-only view),
 * saying so in one line, and nothing is left: no TAP, no view, no mark. */
static void
test_interrupted_boots(void)
{
    static const Leftovers left = { { "vmc-boot-killed" }, .taps = TRUE };
    const struct {
        const char *step;
        const char *const *next[3];
    } steps[] = {
        { "marked", { (const char *const[]) { "gc", NULL } } },
        { "taps", { (const char *const[]) { "gc", NULL } } },
        { "views", { (const char *const[]) { "up", NULL },
                     (const char *const[]) { "wait", "vmc-boot-killed", NULL },
                     (const char *const[]) { "down", "vmc-boot-killed", NULL } } },
        { "defined", { (const char *const[]) { "down", "vmc-boot-killed", NULL } } },
        { "started", { (const char *const[]) { "wait", "vmc-boot-killed", NULL },
                       (const char *const[]) { "down", "vmc-boot-killed", NULL } } },
    };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-killed");
    g_autofree char *share = work_file("killed-share");
    g_autofree char *tap = tap_name();
    g_autofree char *views = views_of("vmc-boot-killed");
    g_autofree char *json = NULL;
    g_autofree char *config_path = work_file("vmc-boot-killed.json");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated_within(&left, 600))
        return;

    g_assert_cmpint(g_mkdir_with_parents(share, 0755), ==, 0);
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share, "rodata", TRUE));
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));
    json = vmc_config_to_json(cfg);
    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));
    g_assert_false(link_exists(NULL, tap));

    for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
        const char *const up[] = { g_getenv("VMC_CLI"), "-c", uri, "--accel", "qemu", "up",
                                   config_path, NULL };
        g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "VMC_DEBUG_BOOT_STOP",
                                             steps[i].step, TRUE);
        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
        g_autofree char *before = NULL;
        g_autofree char *after = NULL;
        GPid pid;

        g_test_message("interrupting a boot at step '%s'", steps[i].step);
        g_assert_true(g_spawn_async(NULL, (char **) up, env,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                        G_SPAWN_STDERR_TO_DEV_NULL,
                                    vmc_test_die_with_parent, NULL, &pid, &error));
        g_assert_no_error(error);
        while (!process_stopped(pid)) {
            if (g_get_monotonic_time() > deadline)
                g_error("up never reached step '%s'", steps[i].step);
            g_usleep(20 * 1000);
        }
        g_assert_true(boot_mark_exists("vmc-boot-killed"));

        /* Readers during the up change nothing. */
        before = host_snapshot("vmc-boot-killed", tap);
        for (int n = 0; n < 2; n++) {
            g_auto(VmcTestRun) state = { 0 };
            cli_expect(&state, (const char *const[]) { "state", "vmc-boot-killed", NULL }, -1);
        }
        {
            g_auto(VmcTestRun) list = { 0 };
            cli_expect(&list, (const char *const[]) { "list", NULL }, 0);
        }
        after = host_snapshot("vmc-boot-killed", tap);
        g_assert_cmpstr(after, ==, before);
        if (i >= 1)   /* made from the step 'taps' on */
            g_assert_true(link_exists(NULL, tap));

        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        vmc_test_reap(pid, g_get_monotonic_time() + COMMAND_SECS * G_USEC_PER_SEC, "up");
        g_assert_true(boot_mark_exists("vmc-boot-killed"));

        /* Readers (wait) leave it; the first command that releases says so. */
        {
            g_autoptr(GString) said = g_string_new(NULL);

            for (gsize c = 0; c < G_N_ELEMENTS(steps[i].next) && steps[i].next[c]; c++) {
                const char *const *args = steps[i].next[c];
                g_auto(VmcTestRun) run = { 0 };
                g_autoptr(GPtrArray) with_file = g_ptr_array_new();

                for (const char *const *a = args; *a; a++)
                    g_ptr_array_add(with_file, (gpointer) *a);
                if (g_str_equal(args[0], "up"))
                    g_ptr_array_add(with_file, config_path);
                g_ptr_array_add(with_file, NULL);
                cli_expect(&run, (const char *const *) with_file->pdata, 0);
                g_string_append(said, run.err);
                if (c == 0 && g_str_equal(args[0], "wait"))
                    g_assert_true(boot_mark_exists("vmc-boot-killed"));
            }
            if (!strstr(said->str, "VM 'vmc-boot-killed': an earlier boot of it did not finish"))
                g_error("nothing after a boot killed at '%s' said it was released:\n%s",
                        steps[i].step, said->str);
            if (i >= 1 && !strstr(said->str, tap))
                g_error("the release did not say it removed %s:\n%s", tap, said->str);
        }
        g_assert_false(boot_mark_exists("vmc-boot-killed"));
        g_assert_false(link_exists(NULL, tap));
        g_assert_cmpuint(mounts_with(views), ==, 0);
        {
            g_autofree char *run_dir = run_dir_snapshot();
            g_assert_null(strstr(run_dir, "-vmc-boot-killed/"));
        }
    }
    handle = vmc_driver_lookup(driver, "vmc-boot-killed", &error);
    g_assert_no_error(error);
    delete_vm(handle);
}

/* @cfg as another tool would define it: our rendering without our
 * metadata, in a file of the work directory. */
static char *
foreign_xml_file(const VmcConfig *cfg)
{
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autofree char *xml = NULL;
    g_autofree char *file = g_strconcat(vmc_config_get_name(cfg), ".xml", NULL);
    g_autofree char *path = work_file(file);
    g_autoptr(xmlDoc) doc = NULL;
    xmlNode *root;

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    xml = vmc_config_to_domain_xml(cfg, opts, NULL);
    g_assert_nonnull(xml);
    doc = vmc_xml_parse(xml, -1, NULL);
    root = xmlDocGetRootElement(doc);
    for (xmlNode *n = root->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) "metadata")) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            break;
        }
    }
    g_assert_cmpint(xmlSaveFile(path, doc), >, 0);
    return g_steal_pointer(&path);
}

static void
assert_foreign_refused(const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) none = vmc_driver_lookup(driver, name, &error);
    g_autoptr(GPtrArray) all = NULL;
    g_autofree char *adopt = g_strdup_printf("virt-vmconfig adopt %s", name);
    g_auto(VmcTestRun) down = { 0 };
    g_auto(VmcTestRun) del = { 0 };
    gboolean listed = FALSE;

    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_assert_nonnull(strstr(error->message, adopt));
    g_clear_error(&error);
    all = vmc_driver_list_all(driver, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < all->len; i++) {
        const VmcHandle *h = g_ptr_array_index(all, i);
        if (g_str_equal(vmc_handle_get_name(h), name)) {
            g_assert_true(vmc_handle_is_foreign(h));
            listed = TRUE;
        }
    }
    g_assert_true(listed);
    /* The CLI refuses it too (status 4: not found), and it stays. */
    vmc_test_spawn(&down, FALSE, COMMAND_SECS,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", uri, "down", name, NULL });
    g_assert_cmpint(down.status, ==, 4);
    vmc_test_spawn(&del, FALSE, COMMAND_SECS,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", uri, "delete", name, NULL });
    g_assert_cmpint(del.status, ==, 4);
    g_assert_nonnull(strstr(del.err, adopt));
}

/* Exported, booted from the export, ready, stopped: one of ours; a second
 * export gives the same config. */
static void
boot_exported(const VmcHandle *adopted, const char *serial_log)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) exported = vmc_driver_export(driver, adopted, NULL, &error);
    g_autoptr(VmcConfig) again = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;

    g_assert_no_error(error);
    g_assert_cmpstr(vmc_config_get_serial_log(exported), ==, serial_log);
    handle = vmc_driver_boot(driver, exported, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_handle_get_uuid(handle), ==, vmc_handle_get_uuid(adopted));
    ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    g_assert_no_error(error);
    again = vmc_driver_export(driver, handle, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_config_equal(again, exported));
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_STOPPED);
    delete_vm(handle);
}

/* Domains that virsh and virt-install defined are listed as foreign and
 * refused; adopted, they are managed like our own. */
static void
test_foreign_domains(void)
{
    static const Leftovers left = { { "vmc-boot-virsh", "vmc-boot-virtinst" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-virsh");
    g_autofree char *xml = NULL;
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *initrd = guest_file("initramfs.img");
    g_autofree char *vi_log = work_file("vmc-boot-virtinst.serial");
    g_autofree char *boot_arg = NULL;
    g_autofree char *serial_arg = NULL;
    g_autoptr(VmcHandle) adopted = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lost = NULL;
    g_auto(VmcTestRun) vi = { 0 };
    g_autofree char *lost_text = NULL;

    if (!isolated(&left))
        return;

    /* virsh define of a domain a config can hold whole: adopted cleanly. */
    xml = foreign_xml_file(cfg);
    g_assert_cmpint(run_command("virsh", "-q", "-c", uri, "define", xml, NULL), ==, 0);
    assert_foreign_refused("vmc-boot-virsh");
    adopted = vmc_driver_adopt(driver, "vmc-boot-virsh", "vmc-boot-test", VMC_ADOPT_DEFAULT,
                               &lost, &error);
    g_assert_no_error(error);
    g_assert_null(lost[0]);
    g_assert_cmpstr(vmc_handle_get_namespace(adopted), ==, "vmc-boot-test");
    boot_exported(adopted, vmc_config_get_serial_log(cfg));
    g_clear_pointer(&adopted, vmc_handle_free);
    g_clear_pointer(&lost, g_strfreev);

    /* virt-install with a direct kernel boot: it starts the domain. */
    boot_arg = g_strdup_printf("kernel=%s,initrd=%s,kernel_args=console=ttyS0", kernel, initrd);
    serial_arg = g_strdup_printf("file,path=%s", vi_log);
    vmc_test_spawn(&vi, FALSE, COMMAND_SECS,
                   (const char *const[]) { "virt-install", "--connect", uri, "--name",
                                           "vmc-boot-virtinst", "--memory", "256", "--vcpus",
                                           "1", "--import", "--boot", boot_arg, "--disk",
                                           "none", "--network", "none", "--serial", serial_arg,
                                           "--graphics", "none", "--noautoconsole",
                                           "--virt-type", "qemu", "--osinfo",
                                           "detect=on,require=off", NULL });
    if (vi.status != 0)
        g_error("virt-install failed (%d):\n%s%s", vi.status, vi.out, vi.err);
    assert_foreign_refused("vmc-boot-virtinst");

    /* What a config cannot hold of it is listed, and nothing changes... */
    adopted = vmc_driver_adopt(driver, "vmc-boot-virtinst", "vmc-boot-test", VMC_ADOPT_DEFAULT,
                               &lost, &error);
    g_assert_null(adopted);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(lost);
    lost_text = g_strjoinv("\n", lost);
    g_test_message("adopting the virt-install domain would lose:\n%s", lost_text);
    g_assert_nonnull(strstr(lost_text, "machine type"));
    g_clear_error(&error);
    assert_foreign_refused("vmc-boot-virtinst");
    g_clear_pointer(&lost, g_strfreev);

    /* ...unless forced: then it is stopped through ACPI like our own, and
     * its export boots. */
    adopted = vmc_driver_adopt(driver, "vmc-boot-virtinst", "vmc-boot-test", VMC_ADOPT_FORCE,
                               &lost, &error);
    g_assert_no_error(error);
    g_assert_nonnull(lost[0]);
    {
        g_autoptr(VmcState) running = vmc_driver_get_state(driver, adopted, &error);
        g_assert_no_error(error);
        g_assert_true(vmc_state_is_running(running));
    }
    /* The guest must have set up its power button before it is pressed. */
    g_free(wait_guest_line_path(vi_log, "VMRS_READY ", 60));
    g_assert_true(vmc_driver_stop(driver, adopted, 30000, &error));
    g_assert_no_error(error);
    boot_exported(adopted, vi_log);
}

/* ---- remote hosts: qemu+tcp and qemu+ssh on loopback ------------------ */

/* A TCP port nothing listens on now. */
static guint16
free_port(void)
{
    g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    g_assert_true(g_socket_bind(sock, any, FALSE, NULL));
    bound = g_socket_get_local_address(sock, NULL);
    return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
}

static gboolean
port_answers(guint16 port)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host(client, "127.0.0.1",
                                                                        port, NULL, NULL);
    return conn != NULL;
}

static void
wait_port(guint16 port, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    while (!port_answers(port)) {
        if (g_get_monotonic_time() > deadline)
            g_error("%s does not answer on 127.0.0.1:%u after 30 s", what, port);
        g_usleep(50000);
    }
}

static void stop_libvirtd(void);

/* libvirtd again, also listening on 127.0.0.1:@port (TCP, no auth: the
 * loopback only). */
static void
start_libvirtd_listening(guint16 port)
{
    g_autofree char *conf = work_file("libvirtd-tcp.conf");
    g_autofree char *text = g_strdup_printf("listen_tls = 0\nlisten_tcp = 1\n"
                                            "listen_addr = \"127.0.0.1\"\n"
                                            "tcp_port = \"%u\"\nauth_tcp = \"none\"\n", port);
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    g_assert_true(g_file_set_contents(conf, text, -1, NULL));
    stop_libvirtd();
    g_assert_cmpint(run_command("libvirtd", "-d", "--listen", "-f", conf, NULL), ==, 0);
    while (!g_file_test("/run/libvirt/libvirt-sock", G_FILE_TEST_EXISTS)) {
        if (g_get_monotonic_time() > deadline)
            g_error("libvirtd --listen made no socket in 30 s");
        g_usleep(50000);
    }
    wait_port(port, "libvirtd --listen");
}

/* An sshd of the test's own on 127.0.0.1:@port, root logging in with a key
 * made here; libvirt's ssh transport runs ssh through a wrapper that keeps
 * known hosts in the work directory. Returns the qemu+ssh URI. */
static char *
start_sshd(guint16 port)
{
    g_autofree char *host_key = work_file("ssh_host_key");
    g_autofree char *id = work_file("ssh_id");
    g_autofree char *id_pub = work_file("ssh_id.pub");
    g_autofree char *authorized = work_file("authorized_keys");
    g_autofree char *sshd_config = work_file("sshd_config");
    g_autofree char *ssh_config = work_file("ssh_config");
    g_autofree char *known = work_file("known_hosts");
    g_autofree char *pid_file = work_file("sshd.pid");
    g_autofree char *wrapper = work_file("ssh-wrapper");
    g_autofree char *pub = NULL;
    g_autofree char *text = NULL;

    g_assert_cmpint(run_command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key,
                                NULL), ==, 0);
    g_assert_cmpint(run_command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", id, NULL),
                    ==, 0);
    g_assert_true(g_file_get_contents(id_pub, &pub, NULL, NULL));
    g_assert_true(g_file_set_contents(authorized, pub, -1, NULL));
    text = g_strdup_printf("Port %u\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\n"
                           "AuthorizedKeysFile %s\nPermitRootLogin prohibit-password\n"
                           "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                           "UsePAM no\nStrictModes no\n", port, host_key, pid_file, authorized);
    g_assert_true(g_file_set_contents(sshd_config, text, -1, NULL));
    g_free(text);
    text = g_strdup_printf("Host *\n  IdentityFile %s\n  UserKnownHostsFile %s\n"
                           "  StrictHostKeyChecking no\n  BatchMode yes\n  LogLevel ERROR\n", id,
                           known);
    g_assert_true(g_file_set_contents(ssh_config, text, -1, NULL));
    g_free(text);
    text = g_strdup_printf("#!/bin/sh\nexec ssh -F %s \"$@\"\n", ssh_config);
    g_assert_true(g_file_set_contents(wrapper, text, -1, NULL));
    g_assert_cmpint(g_chmod(wrapper, 0755), ==, 0);

    /* sshd's privilege separation directory, which its init script makes. */
    g_assert_cmpint(g_mkdir_with_parents("/run/sshd", 0755), ==, 0);
    g_assert_cmpint(run_command("/usr/sbin/sshd", "-f", sshd_config, NULL), ==, 0);
    wait_port(port, "sshd");
    return g_strdup_printf("qemu+ssh://root@127.0.0.1:%u/system?command=%s", port, wrapper);
}

/* The teardown's: sshd gone, libvirtd back to its plain self. */
static void
stop_remote_daemons(void)
{
    g_autofree char *pid_file = work_file("sshd.pid");
    g_autofree char *pid = NULL;

    if (g_file_get_contents(pid_file, &pid, NULL, NULL) && atoi(pid) > 0)
        kill((pid_t) atoi(pid), SIGTERM);
    g_unlink(pid_file);
    stop_libvirtd();
    start_libvirtd();
}

/* Boot, state, watch, stop and delete of the test guest through
 * @remote_uri; with @restart, the daemon behind it restarts mid-watch and
 * the watch goes on. */
static void
exercise_remote(const char *remote_uri, const char *name, guint16 restart_port)
{
    g_autoptr(VmcConfig) cfg = initramfs_config(name);
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(VmcDriver) remote = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    Seen seen = { g_ptr_array_new_with_free_func(seen_event_free), 0 };
    guint watch, mark;

    remote = vmc_driver_open(remote_uri, &error);
    if (!remote)
        g_error("cannot open %s: %s", remote_uri, error->message);
    g_assert_false(vmc_driver_is_local(remote));

    /* Left to itself, the driver gives a remote host's VMs KVM where its
     * libvirt offers it. Asked for on a host that offers none, KVM is
     * refused by libvirt there, and the error names that host and says
     * what to do; nothing is left defined. */
    if (vmc_driver_get_accel(remote) == VMC_ACCEL_QEMU) {
        g_autoptr(VmcHandle) none = NULL;

        vmc_driver_set_accel(remote, VMC_ACCEL_KVM);
        none = vmc_driver_boot(remote, cfg, &error);
        g_assert_null(none);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
        g_assert_nonnull(strstr(error->message, "VM 'vmc-boot-"));
        g_assert_nonnull(strstr(error->message, remote_uri));
        g_assert_nonnull(strstr(error->message, "offers no KVM"));
        g_assert_nonnull(strstr(error->message, "--accel qemu"));
        g_assert_cmpint(vmc_error_get_libvirt_code(error), !=, 0);
        g_clear_error(&error);
        none = vmc_driver_lookup(remote, name, &error);
        g_assert_null(none);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
        g_clear_error(&error);
    }
    vmc_driver_set_accel(remote, VMC_ACCEL_QEMU);

    /* No file is checked here for a remote host: its own refusal names
     * the path, and nothing is left defined. */
    {
        g_autoptr(VmcConfig) missing = vmc_config_copy(cfg);
        g_autofree char *absent = work_file("no-such-initrd.img");
        g_autoptr(VmcHandle) none = NULL;

        vmc_config_set_initramfs(missing, absent);
        none = vmc_driver_boot(remote, missing, &error);
        g_assert_null(none);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
        g_assert_nonnull(strstr(error->message, absent));
        g_assert_nonnull(strstr(error->message, "does not exist on host"));
        g_assert_nonnull(strstr(error->message, remote_uri));
        g_clear_error(&error);
        none = vmc_driver_lookup(remote, name, &error);
        g_assert_null(none);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
        g_clear_error(&error);
    }

    g_main_context_push_thread_default(context);
    watch = vmc_driver_watch(remote, name, NULL, on_watch, &seen, NULL);
    handle = vmc_driver_boot(remote, cfg, &error);
    g_assert_no_error(error);
    /* The serial log is read here: this host is the remote host too. */
    ready = vmc_driver_wait_ready(remote, handle, READY_TIMEOUT_MS, &error);
    g_assert_no_error(error);
    wait_for_kind(context, &seen, VMC_STATE_READY, 0, READY_TIMEOUT_MS);
    state = vmc_driver_get_state(remote, handle, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vmc_state_get_kind(state), ==, VMC_STATE_READY);

    if (restart_port) {
        gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

        mark = seen.events->len;
        start_libvirtd_listening(restart_port);
        /* Calls made before the watch reconnected fail; then it goes on. */
        while (!vmc_driver_pause(remote, handle, &error)) {
            if (g_get_monotonic_time() > deadline)
                g_error("%s: not usable 60 s after libvirtd restarted: %s", remote_uri,
                        error->message);
            g_clear_error(&error);
            g_main_context_iteration(context, FALSE);
            g_usleep(100000);
        }
        wait_for_kind(context, &seen, VMC_STATE_PAUSED, mark, 10000);
        g_assert_true(vmc_driver_resume(remote, handle, &error));
        g_assert_no_error(error);
    }

    mark = seen.events->len;
    g_assert_true(vmc_driver_stop(remote, handle, 30000, &error));
    g_assert_no_error(error);
    wait_for_kind(context, &seen, VMC_STATE_STOPPED, mark, 10000);
    g_assert_true(vmc_driver_delete(remote, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    g_clear_pointer(&handle, vmc_handle_free);
    handle = vmc_driver_lookup(remote, name, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    vmc_driver_unwatch(remote, watch);
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(seen.events);
}

/* libvirtd over loopback TCP, restarted mid-watch. */
static void
test_remote_tcp(void)
{
    static const Leftovers left = { { "vmc-boot-tcp" }, .daemon = TRUE, .listen = TRUE };
    g_autofree char *remote = NULL;
    guint16 port;

    if (!isolated(&left))
        return;
    port = free_port();
    start_libvirtd_listening(port);
    remote = g_strdup_printf("qemu+tcp://127.0.0.1:%u/system", port);
    exercise_remote(remote, "vmc-boot-tcp", port);
}

/* libvirtd over qemu+ssh to an sshd on loopback. */
static void
test_remote_ssh(void)
{
    static const Leftovers left = { { "vmc-boot-ssh" }, .daemon = TRUE, .listen = TRUE };
    g_autofree char *remote = NULL;

    if (!isolated(&left))
        return;
    remote = start_sshd(free_port());
    exercise_remote(remote, "vmc-boot-ssh", 0);
}


/* ---- the Debian 13 host: libvirt 11.3, QEMU 10, virtiofsd 1.13, passt ---- */

/* tests/hosts/trixie.sh runs its libvirtd in a root of its own, in a mount
 * namespace of its own; the parent of this program starts it once for the
 * group (VMC_TRIXIE_DIR, VMC_TRIXIE_URI) and stops it at the end. Of this
 * machine it sees nothing: files reach it by staging, and what a test
 * puts in DIR/lib is its /var/lib/libvirt. */
static char *
trixie_script_run(const char *verb, const char *arg1, const char *arg2)
{
    g_autofree char *script = g_test_build_filename(G_TEST_DIST, "hosts", "trixie.sh", NULL);
    g_auto(VmcTestRun) run = { 0 };

    vmc_test_spawn(&run, FALSE, 900,
                   (const char *const[]) { "bash", script, verb, arg1, arg2, NULL });
    if (run.status != 0)
        g_error("tests/hosts/trixie.sh %s failed (status %d): %s", verb, run.status, run.err);
    return g_strstrip(g_steal_pointer(&run.out));
}

/* The directory, as that host names it, where a test keeps its share and
 * serial log. */
static char *
trixie_host_dir(void)
{
    return g_strdup_printf("/var/lib/libvirt/vmc-trixie-%s", test_id);
}

/* The same directory as this machine sees it. */
static char *
trixie_dir_here(void)
{
    g_autofree char *name = g_strdup_printf("vmc-trixie-%s", test_id);
    return g_build_filename(g_getenv("VMC_TRIXIE_DIR"), "lib", name, NULL);
}

/* How many nodes @xpath finds in the live XML of @name on @host_uri. */
static guint
live_xml_count(const char *host_uri, const char *name, const char *xpath)
{
    virConnectPtr conn = virConnectOpen(host_uri);
    virDomainPtr dom;
    g_autofree char *xml = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autoptr(GPtrArray) found = NULL;

    g_assert_nonnull(conn);
    dom = virDomainLookupByName(conn, name);
    g_assert_nonnull(dom);
    xml = virDomainGetXMLDesc(dom, 0);
    virDomainFree(dom);
    virConnectClose(conn);
    g_assert_nonnull(xml);
    doc = vmc_xml_parse(xml, -1, NULL);
    g_assert_nonnull(doc);
    ctxt = xmlXPathNewContext(doc);
    found = vmc_xml_find_all(ctxt, xpath);
    return found->len;
}

/* The first line a TCP connection to 127.0.0.1:@port reads, within
 * @secs (a guest that has only just printed its marker may not listen
 * yet: refused connections are tried again). */
static char *
tcp_first_line(guint16 port, guint secs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) secs * G_USEC_PER_SEC;
    g_autoptr(GError) error = NULL;

    for (;;) {
        g_autoptr(GSocketClient) client = g_socket_client_new();
        g_autoptr(GSocketConnection) conn = NULL;

        g_socket_client_set_timeout(client, 10);
        conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &error);
        if (conn) {
            g_autoptr(GDataInputStream) in = g_data_input_stream_new(
                g_io_stream_get_input_stream(G_IO_STREAM(conn)));
            char *line = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);

            if (line && *line)
                return line;
            g_free(line);
        }
        if (g_get_monotonic_time() > deadline)
            g_error("127.0.0.1:%u gave no line in %u s: %s", port, secs,
                    error ? error->message : "the connection closed empty");
        g_clear_error(&error);
        g_usleep(200 * 1000);
    }
}

/* On Debian 13's libvirt: a read-only share is libvirt's native
 * <readonly/> (no bind-mount view is made here) and the guest's write is
 * refused; the user NIC is passt, and a forward from 127.0.0.1:PORT of
 * that host reaches a listener in the guest, which answers with its own
 * UUID; and of the remote issue's rules, a decoy serial log on this
 * machine at the config's path (a marker of 192.0.2.1 that never ran
 * there) makes nothing Ready: Ready is what the guest printed. */
static void
test_trixie_guest(void)
{
    static const Leftovers left = { { "vmc-boot-trixie" }, .trixie = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-trixie");
    g_autoptr(VmcConfig) staged = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcPortForward) fwd = NULL;
    g_autofree char *host_dir = trixie_host_dir();
    g_autofree char *here = trixie_dir_here();
    g_autofree char *share_here = g_build_filename(here, "share", NULL);
    g_autofree char *token = g_build_filename(share_here, "token.txt", NULL);
    g_autofree char *share = g_build_filename(host_dir, "share", NULL);
    g_autofree char *log = g_build_filename(host_dir, "vmc-boot-trixie.serial", NULL);
    g_autofree char *log_here = g_build_filename(here, "vmc-boot-trixie.serial", NULL);
    g_autofree char *decoy_dir = trixie_host_dir();   /* that path on this machine */
    g_autofree char *decoy = g_build_filename(decoy_dir, "vmc-boot-trixie.serial", NULL);
    g_autofree char *views = views_of("vmc-boot-trixie");
    g_autofree char *answer = NULL;
    g_autofree char *expected = NULL;
    g_autofree char *writable = NULL;
    g_autofree char *net = NULL;
    g_autofree char *content = NULL;
    g_autoptr(GPtrArray) after = NULL;
    guint16 port;

    if (!isolated_within(&left, 240))
        return;
    g_assert_false(vmc_driver_is_local(driver));

    /* That host's directory with the share and the log, and this
     * machine's decoy at the log's path. */
    g_assert_cmpint(g_mkdir_with_parents(share_here, 0755), ==, 0);
    g_assert_cmpint(g_chmod(here, 0777), ==, 0);
    g_assert_true(g_file_set_contents(token, "trixie token\n", -1, NULL));
    g_assert_cmpint(g_mkdir_with_parents(decoy_dir, 0755), ==, 0);
    g_assert_true(g_file_set_contents(decoy, "VMRS_READY 192.0.2.1\n", -1, NULL));

    port = free_port();
    fwd = vmc_port_forward_new(VMC_FORWARD_TCP, "127.0.0.1", port, 7777);
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(
                                    VMC_NETWORK_USER, NULL, NULL,
                                    (const VmcPortForward *const[]) { fwd }, 1));
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new(share, "rodata", TRUE));
    vmc_config_set_serial_log(cfg, log);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.listen=7777");

    staged = vmc_driver_stage(driver, cfg, NULL, NULL, &error);
    g_assert_no_error(error);
    handle = vmc_driver_boot(driver, staged, &error);
    g_assert_no_error(error);
    ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    if (!ready) {
        g_autofree char *text = NULL;
        g_file_get_contents(log_here, &text, NULL, NULL);
        g_error("%s: %s\nconsole:\n%s", uri, error->message, text ? text : "(none)");
    }

    /* Ready at what the guest said, never the decoy's address. */
    net = wait_guest_line_path(log_here, "GUEST net=eth0 ip=", 5);
    g_assert_cmpstr(vmc_state_get_ip(ready), ==, net);
    g_assert_cmpstr(vmc_state_get_ip(ready), !=, "192.0.2.1");

    writable = wait_guest_line_path(log_here, "GUEST share=rodata mounted=yes writable=", 5);
    g_assert_cmpstr(writable, ==, "no");
    content = wait_guest_line_path(log_here, "GUEST share=rodata file=token.txt content=", 5);
    g_assert_cmpstr(content, ==, "trixie token");
    g_assert_cmpuint(live_xml_count(uri, "vmc-boot-trixie",
                                    "/domain/devices/filesystem[target/@dir='rodata']/readonly"),
                     ==, 1);
    g_assert_cmpuint(mounts_with(views), ==, 0);
    g_assert_false(g_file_test(views, G_FILE_TEST_EXISTS));

    g_assert_cmpuint(live_xml_count(uri, "vmc-boot-trixie",
                                    "/domain/devices/interface[@type='user']/backend[@type='passt']"),
                     ==, 1);
    answer = tcp_first_line(port, 30);
    expected = g_strdup_printf("VMC_LISTEN port=7777 uuid=%s", vmc_handle_get_uuid(handle));
    /* The guest's DMI UUID may be upper case. */
    if (g_ascii_strcasecmp(answer, expected) != 0)
        g_error("127.0.0.1:%u answered '%s', expected '%s'", port, answer, expected);

    g_assert_true(vmc_driver_kill(driver, handle, &error));
    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    after = vmc_test_list_dir(share_here, "");
    g_assert_cmpuint(after->len, ==, 1);
}

/* ---- a second libvirt host: libvirtd in a mount namespace of its own --- */

typedef struct {
    char *from;
    const char *to;
} HiddenMount;

static HiddenMount hidden_mounts[] = {
    { NULL, "/run/libvirt" },
    { NULL, "/var/lib/libvirt" },
    { NULL, "/etc/libvirt" },
    { NULL, "/var/cache/libvirt" },
    { NULL, "/var/log/libvirt" },
    { NULL, "/var/lib/virt-vmconfig" },
};
static char *hidden_guest_dir;

/* In the child, before libvirtd runs: its own mounts, and the test guest's
 * directory hidden under an empty tmpfs. */
static void
hidden_child_setup(gpointer data)
{
    vmc_test_die_with_parent(NULL);
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit(126);
    for (gsize i = 0; i < G_N_ELEMENTS(hidden_mounts); i++) {
        g_mkdir_with_parents(hidden_mounts[i].to, 0755);
        if (mount(hidden_mounts[i].from, hidden_mounts[i].to, NULL, MS_BIND, NULL) < 0)
            _exit(125);
    }
    if (mount("tmpfs", hidden_guest_dir, "tmpfs", 0, "size=1m,mode=1777") < 0)
        _exit(124);
}

static char *
hidden_file(const char *name)
{
    g_autofree char *dir = work_file("hidden");
    return g_build_filename(dir, name, NULL);
}

/* libvirtd on 127.0.0.1:@port, with state, config and storage of its own,
 * and no view of the test guest's files. */
static void
start_hidden_libvirtd(guint16 port)
{
    g_autofree char *etc = hidden_file("etc");
    g_autofree char *conf = g_build_filename(etc, "libvirtd.conf", NULL);
    g_autofree char *qemu_conf = g_build_filename(etc, "qemu.conf", NULL);
    g_autofree char *pid_file = hidden_file("libvirtd.pid");
    g_autofree char *text = NULL;
    g_autofree char *guest = guest_file("vmlinuz");
    g_autoptr(GError) error = NULL;
    int status;
    const char *argv[] = { "libvirtd", "-d", "--listen", "-f", conf, "-p", pid_file, NULL };
    static const char *const names[] = { "run", "lib", "etc", "cache", "log", "vmconfig" };

    for (gsize i = 0; i < G_N_ELEMENTS(hidden_mounts); i++) {
        g_free(hidden_mounts[i].from);
        hidden_mounts[i].from = hidden_file(names[i]);
        g_assert_cmpint(g_mkdir_with_parents(hidden_mounts[i].from, 0755), ==, 0);
    }
    g_free(hidden_guest_dir);
    hidden_guest_dir = g_path_get_dirname(guest);
    text = g_strdup_printf("listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"127.0.0.1\"\n"
                           "tcp_port = \"%u\"\nauth_tcp = \"none\"\n", port);
    g_assert_true(g_file_set_contents(conf, text, -1, NULL));
    /* No virtlogd in there: QEMU writes its log itself. */
    g_assert_true(g_file_set_contents(qemu_conf, "stdio_handler = \"file\"\n", -1, NULL));
    g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                               hidden_child_setup, NULL, NULL, NULL, &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_exit_status(status, &error))
        g_error("the second libvirtd did not start: %s", error->message);
    wait_port(port, "the second libvirtd");
}

/* The teardown's. */
static void
stop_hidden_libvirtd(void)
{
    g_autofree char *pid_file = hidden_file("libvirtd.pid");
    g_autofree char *pid = NULL;
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    pid_t p;

    if (!g_file_get_contents(pid_file, &pid, NULL, NULL) || (p = (pid_t) atoi(pid)) <= 0)
        return;
    kill(p, SIGTERM);
    while (kill(p, 0) == 0 && g_get_monotonic_time() < deadline)
        g_usleep(50000);
}

/* The hidden libvirtd started on a free port; its URI, and *@port. */
static char *
start_hidden_host(guint16 *port)
{
    *port = free_port();
    start_hidden_libvirtd(*port);
    return g_strdup_printf("qemu+tcp://127.0.0.1:%u/system", *port);
}

/* @cfg staged to @remote and written as a config file at @path. */
static void
stage_config_file(VmcDriver *remote, const VmcConfig *cfg, const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) staged = vmc_driver_stage(remote, cfg, NULL, NULL, &error);
    g_autofree char *json = NULL;

    g_assert_no_error(error);
    json = vmc_config_to_json(staged);
    g_assert_true(g_file_set_contents(path, json, -1, NULL));
}

typedef struct {
    guint uploads;
    guint64 bytes;
} StageSeen;

static void
on_stage_progress(const char *field, const char *path, guint64 done, guint64 total,
                  gpointer data)
{
    StageSeen *seen = data;

    g_assert_cmpuint(done, <=, total);
    if (done == 0)
        seen->uploads++;
    if (done == total)
        seen->bytes += total;
}

/* `up --stage` to a host that cannot see the guest's files: they are
 * uploaded through the storage API and the guest boots from the copies;
 * staging again uploads nothing; gc removes the copies once unused. */
static void
test_remote_stage(void)
{
    static const Leftovers left = { { "vmc-boot-stage" }, .hidden = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-stage");
    g_autoptr(VmcConfig) staged = NULL;
    g_autoptr(VmcConfig) again = NULL;
    g_autoptr(VmcDriver) remote = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) removed = NULL;
    g_autofree char *remote_uri = NULL;
    StageSeen first = { 0 }, second = { 0 };
    GStatBuf kernel_st, initrd_st;
    guint16 port;

    if (!isolated(&left))
        return;

    remote_uri = start_hidden_host(&port);
    remote = vmc_driver_open(remote_uri, &error);
    g_assert_no_error(error);
    vmc_driver_set_accel(remote, VMC_ACCEL_QEMU);

    /* That host cannot see the files. */
    handle = vmc_driver_boot(remote, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "does not exist on host"));
    g_assert_nonnull(strstr(error->message, remote_uri));
    g_clear_error(&error);

    staged = vmc_driver_stage(remote, cfg, on_stage_progress, &first, &error);
    g_assert_no_error(error);
    g_assert_cmpint(g_stat(vmc_config_get_kernel(cfg), &kernel_st), ==, 0);
    g_assert_cmpint(g_stat(vmc_config_get_initramfs(cfg), &initrd_st), ==, 0);
    g_assert_cmpuint(first.uploads, ==, 2);
    g_assert_cmpuint(first.bytes, ==, (guint64) kernel_st.st_size + (guint64) initrd_st.st_size);
    g_assert_true(g_str_has_prefix(vmc_config_get_kernel(staged),
                                   "/var/lib/virt-vmconfig/staged/"));
    g_assert_true(g_str_has_prefix(vmc_config_get_initramfs(staged),
                                   "/var/lib/virt-vmconfig/staged/"));

    handle = vmc_driver_boot(remote, staged, &error);
    g_assert_no_error(error);
    ready = vmc_driver_wait_ready(remote, handle, READY_TIMEOUT_MS, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.0.2.15");

    /* A file that the host's storage pool does not have is refused
     * before anything is defined, through libvirt's storage API. */
    {
        g_autoptr(VmcConfig) gone = vmc_config_copy(staged);
        g_autoptr(VmcHandle) none = NULL;

        vmc_config_set_name(gone, "vmc-boot-stage-gone");
        vmc_config_set_initramfs(gone, "/var/lib/virt-vmconfig/staged/no-such-initramfs");
        none = vmc_driver_boot(remote, gone, &error);
        g_assert_null(none);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
        g_assert_nonnull(strstr(error->message, "initramfs"));
        g_assert_nonnull(strstr(error->message, "has no volume 'no-such-initramfs'"));
        g_assert_nonnull(strstr(error->message, remote_uri));
        g_clear_error(&error);
        none = vmc_driver_lookup(remote, "vmc-boot-stage-gone", &error);
        g_assert_null(none);
        g_clear_error(&error);
    }

    /* Unchanged files are not uploaded again. */
    again = vmc_driver_stage(remote, cfg, on_stage_progress, &second, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(second.uploads, ==, 0);
    g_assert_true(vmc_config_equal(again, staged));

    /* In use: nothing to collect. */
    removed = vmc_driver_gc_staged(remote, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_strv_length(removed), ==, 0);
    g_clear_pointer(&removed, g_strfreev);

    g_assert_true(vmc_driver_kill(remote, handle, &error));
    g_assert_true(vmc_driver_delete(remote, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    removed = vmc_driver_gc_staged(remote, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_strv_length(removed), ==, 2);
    g_assert_true(g_strv_contains((const char *const *) removed,
                                  vmc_config_get_kernel(staged)));
    g_clear_pointer(&removed, g_strfreev);
    removed = vmc_driver_gc_staged(remote, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_strv_length(removed), ==, 0);
}

/* A host whose files this client cannot see, reached over TCP, with a
 * decoy on this machine at the config's serial_log path: a log that says
 * the VM is ready at 192.0.2.1. `up --stage --wait-ready` reports the
 * guest's real address, read from its console through libvirt; `state`,
 * `list` and `wait` of other client processes read it from the Ready
 * record on the host; `console` shows what the guest prints; a watch sees
 * a QEMU killed with SIGKILL as crashed and a guest kernel panic as
 * panicked, through libvirt's events alone. */
static void
test_remote_hidden(void)
{
    static const Leftovers left = { { "vmc-boot-hidden" }, .hidden = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-hidden");
    g_autoptr(VmcDriver) remote = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *remote_uri = NULL;
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *guest_dir = g_path_get_dirname(kernel);
    g_autofree char *log = g_build_filename(guest_dir, "vmc-boot-hidden.serial", NULL);
    g_autofree char *config_path = work_file("vmc-boot-hidden.json");
    g_autofree char *json = NULL;
    g_autofree char *decoy_after = NULL;
    Seen seen = { g_ptr_array_new_with_free_func(seen_event_free), 0 };
    const SeenEvent *failed;
    guint watch, mark;
    guint16 port;

    if (!isolated_within(&left, 240))
        return;

    remote_uri = start_hidden_host(&port);

    /* The log's directory is the guest's, which that host does not see. */
    vmc_config_set_serial_log(cfg, log);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.panic=6");
    json = vmc_config_to_json(cfg);
    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));
    g_assert_true(g_file_set_contents(log, "VMRS_READY 192.0.2.1\n", -1, NULL));

    {
        g_auto(VmcTestRun) up = { 0 };
        g_auto(VmcTestRun) state = { 0 };
        g_auto(VmcTestRun) list = { 0 };
        g_auto(VmcTestRun) wait = { 0 };
        g_auto(VmcTestRun) console = { 0 };

        cli_expect_at(remote_uri, &up,
                      (const char *const[]) { "up", "--stage", "--wait-ready=60", config_path,
                                              NULL }, 0);
        g_assert_nonnull(strstr(up.out, "is ready at 10.0.2.15"));
        g_assert_null(strstr(up.out, "192.0.2.1"));

        /* A watch of another driver (no console of its own) on that host. */
        remote = vmc_driver_open(remote_uri, &error);
        g_assert_no_error(error);
        vmc_driver_set_accel(remote, VMC_ACCEL_QEMU);
        g_main_context_push_thread_default(context);
        watch = vmc_driver_watch(remote, "vmc-boot-hidden", NULL, on_watch, &seen, NULL);
        handle = vmc_driver_lookup(remote, "vmc-boot-hidden", &error);
        g_assert_no_error(error);

        /* Other client processes: the Ready record, on the host. */
        cli_expect_at(remote_uri, &state,
                      (const char *const[]) { "state", "--json", "vmc-boot-hidden", NULL }, 0);
        g_assert_nonnull(strstr(state.out, "\"state\" : \"ready\""));
        g_assert_nonnull(strstr(state.out, "\"ip\" : \"10.0.2.15\""));
        g_assert_null(strstr(state.out, "192.0.2.1"));
        cli_expect_at(remote_uri, &list, (const char *const[]) { "list", NULL }, 0);
        g_assert_nonnull(strstr(list.out, "10.0.2.15"));
        cli_expect_at(remote_uri, &wait,
                      (const char *const[]) { "wait", "--timeout=5", "vmc-boot-hidden", NULL },
                      0);
        g_assert_nonnull(strstr(wait.out, "is ready at 10.0.2.15"));

        /* The guest panics 6 s after it was ready: its console shows its
         * last words, and the console ends with the VM. */
        cli_expect_at(remote_uri, &console,
                      (const char *const[]) { "console", "--follow", "vmc-boot-hidden", NULL },
                      -1);
        g_assert_nonnull(strstr(console.out, "GUEST panic=now"));
    }
    /* The decoy was never written to: nothing was read or written here. */
    g_assert_true(g_file_get_contents(log, &decoy_after, NULL, NULL));
    g_assert_cmpstr(decoy_after, ==, "VMRS_READY 192.0.2.1\n");

    failed = wait_for_kind(context, &seen, VMC_STATE_FAILED, 0, 30000);
    g_test_message("panic seen as: %s", failed->reason);
    g_assert_nonnull(strstr(failed->reason, "panicked"));

    /* Booted again (a staged config from the same files), and killed. */
    {
        g_autoptr(VmcConfig) staged = NULL;
        g_autoptr(VmcHandle) again = NULL;
        g_autoptr(VmcState) ready = NULL;

        vmc_config_set_cmdline(cfg, "console=ttyS0");
        staged = vmc_driver_stage(remote, cfg, NULL, NULL, &error);
        g_assert_no_error(error);
        again = vmc_driver_boot(remote, staged, &error);
        g_assert_no_error(error);
        ready = vmc_driver_wait_ready(remote, again, READY_TIMEOUT_MS, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.0.2.15");
        mark = seen.events->len;
        /* The panic was said once: the stop libvirt made of it is not a
         * second failure. */
        {
            guint failures = 0;

            for (guint i = 0; i < mark; i++)
                failures += ((SeenEvent *) g_ptr_array_index(seen.events, i))->kind ==
                            VMC_STATE_FAILED;
            g_assert_cmpuint(failures, ==, 1);
        }
        g_assert_cmpint(kill(qemu_pid_of("vmc-boot-hidden"), SIGKILL), ==, 0);
        failed = wait_for_kind(context, &seen, VMC_STATE_FAILED, mark, 30000);
        g_test_message("SIGKILL seen as: %s", failed->reason);
        g_assert_nonnull(strstr(failed->reason, "crashed or was killed"));
        g_assert_null(strstr(failed->reason, "panicked"));
        g_assert_true(vmc_driver_delete(remote, again, VMC_DELETE_DEFAULT, &error));
        g_assert_no_error(error);
    }
    vmc_driver_unwatch(remote, watch);
    g_strfreev(vmc_driver_gc_staged(remote, NULL));
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(seen.events);
    g_unlink(log);
}

/* The libvirtd of a remote host restarts while `up --wait-ready` waits
 * for a guest that prints its marker 12 s after it started: the console
 * stream ends with the daemon, the wait opens it again once the daemon is
 * back, and Ready is reported once, with the guest's address. */
static void
test_remote_restart_during_wait(void)
{
    static const Leftovers left = { { "vmc-boot-restart" }, .hidden = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-restart");
    g_autoptr(VmcDriver) remote = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GSubprocess) up = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *config_path = work_file("vmc-boot-restart.json");
    g_autofree char *remote_uri = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    gint64 deadline;
    const char *at;
    guint16 port;

    if (!isolated_within(&left, 180))
        return;
    remote_uri = start_hidden_host(&port);
    remote = vmc_driver_open(remote_uri, &error);
    g_assert_no_error(error);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.readydelay=12");
    stage_config_file(remote, cfg, config_path);

    up = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                          &error, g_getenv("VMC_CLI"), "-c", remote_uri, "--accel", "qemu",
                          "up", "--wait-ready=90", config_path, NULL);
    g_assert_no_error(error);
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!(handle = vmc_driver_lookup(remote, "vmc-boot-restart", NULL)) ||
           !vmc_state_is_running(vmc_handle_get_state(handle))) {
        g_clear_pointer(&handle, vmc_handle_free);
        if (g_get_monotonic_time() > deadline)
            g_error("vmc-boot-restart never ran");
        g_usleep(100 * 1000);
    }
    g_usleep(G_USEC_PER_SEC);
    stop_hidden_libvirtd();
    start_hidden_libvirtd(port);

    g_assert_true(g_subprocess_communicate_utf8(up, NULL, NULL, &out, &err, &error));
    g_assert_no_error(error);
    g_test_message("up: status %d\n%s%s", g_subprocess_get_exit_status(up), out, err);
    g_assert_cmpint(g_subprocess_get_exit_status(up), ==, 0);
    at = strstr(out, "is ready at 10.0.2.15");
    g_assert_nonnull(at);
    g_assert_null(strstr(at + 1, "is ready at"));

    g_clear_pointer(&handle, vmc_handle_free);
    g_clear_pointer(&remote, vmc_driver_free);
    remote = vmc_driver_open(remote_uri, &error);
    g_assert_no_error(error);
    handle = vmc_driver_lookup(remote, "vmc-boot-restart", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmc_state_get_ip(vmc_handle_get_state(handle)), ==, "10.0.2.15");
    g_assert_true(vmc_driver_kill(remote, handle, &error));
    g_assert_true(vmc_driver_delete(remote, handle, VMC_DELETE_DEFAULT, &error));
    g_assert_no_error(error);
    g_strfreev(vmc_driver_gc_staged(remote, NULL));
}

/* In a client process before it runs: a mount namespace of its own, whose
 * /run/virt-vmconfig (where a client keeps its boot locks) no other
 * client sees, as on another machine. */
static void
own_client_run_dir(gpointer data)
{
    vmc_test_die_with_parent(NULL);
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit(126);
    g_mkdir_with_parents("/run/virt-vmconfig", 0755);
    if (mount("tmpfs", "/run/virt-vmconfig", "tmpfs", 0, "size=1m,mode=0755") < 0)
        _exit(125);
}

/* Two clients that share nothing but the host (each its own mount
 * namespace, so no lock file of one is seen by the other) `up` one name
 * there at once: one boots it, the other is refused, saying the VM is
 * being booted or runs, and leaves nothing behind. */
static void
test_remote_race(void)
{
    static const Leftovers left = { { "vmc-boot-race" }, .hidden = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-race");
    g_autofree char *config_path = work_file("vmc-boot-race.json");
    g_autofree char *remote_uri = NULL;
    g_autoptr(VmcDriver) remote = NULL;
    g_autoptr(GError) error = NULL;
    GSubprocess *clients[2];
    char *outs[2] = { NULL, NULL };
    char *errs[2] = { NULL, NULL };
    int statuses[2], won = -1;
    guint16 port;

    if (!isolated(&left))
        return;
    remote_uri = start_hidden_host(&port);
    remote = vmc_driver_open(remote_uri, &error);
    g_assert_no_error(error);
    /* Staged once, so that both boots start from files the host has. */
    stage_config_file(remote, cfg, config_path);

    for (int i = 0; i < 2; i++) {
        g_autoptr(GSubprocessLauncher) launcher =
            g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);

        g_subprocess_launcher_set_child_setup(launcher, own_client_run_dir, NULL, NULL);
        clients[i] = g_subprocess_launcher_spawn(launcher, &error, g_getenv("VMC_CLI"), "-c",
                                                 remote_uri, "--accel", "qemu", "up",
                                                 config_path, NULL);
        g_assert_no_error(error);
    }
    for (int i = 0; i < 2; i++) {
        g_assert_true(g_subprocess_communicate_utf8(clients[i], NULL, NULL, &outs[i], &errs[i],
                                                    &error));
        g_assert_no_error(error);
        statuses[i] = g_subprocess_get_exit_status(clients[i]);
        g_test_message("client %d: status %d: %s%s", i, statuses[i], outs[i], errs[i]);
        g_object_unref(clients[i]);
        if (statuses[i] == 0)
            won = i;
    }
    g_assert_cmpint(won, >=, 0);
    /* No console is held once that `up` has exited: it says how to be Ready. */
    g_assert_nonnull(strstr(errs[won], "runs on a remote host"));
    g_assert_cmpint(statuses[1 - won], ==, 1);
    g_assert_true(strstr(errs[1 - won], "is already running") ||
                  strstr(errs[1 - won], "is being booted by another client"));
    g_assert_nonnull(strstr(errs[1 - won], "vmc-boot-race"));

    /* One boot: one running domain, which the loser left as it was. */
    {
        g_autoptr(VmcHandle) handle = vmc_driver_lookup(remote, "vmc-boot-race", &error);
        g_autoptr(VmcState) ready = NULL;
        g_auto(GStrv) removed = NULL;

        g_assert_no_error(error);
        ready = vmc_driver_wait_ready(remote, handle, READY_TIMEOUT_MS, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(vmc_state_get_ip(ready), ==, "10.0.2.15");
        g_assert_true(vmc_driver_kill(remote, handle, &error));
        g_assert_true(vmc_driver_delete(remote, handle, VMC_DELETE_DEFAULT, &error));
        g_assert_no_error(error);
        removed = vmc_driver_gc_staged(remote, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(g_strv_length(removed), ==, 2);
    }
    for (int i = 0; i < 2; i++) {
        g_free(outs[i]);
        g_free(errs[i]);
    }
}

/* On a host whose files this process sees, a serial log that an earlier
 * boot left, marker and all, makes no VM ready: libvirt truncates it when
 * the VM starts, and a guest that prints no marker times out. */
static void
test_stale_log_never_ready(void)
{
    static const Leftovers left = { { "vmc-boot-stale" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-stale");
    g_autofree char *config_path = work_file("vmc-boot-stale.json");
    g_autofree char *json = NULL;
    g_auto(VmcTestRun) up = { 0 };
    g_auto(VmcTestRun) state = { 0 };
    g_auto(VmcTestRun) down = { 0 };

    if (!isolated(&left))
        return;
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.noready");
    json = vmc_config_to_json(cfg);
    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));
    g_assert_true(g_file_set_contents(vmc_config_get_serial_log(cfg),
                                      "GUEST an earlier boot\nVMRS_READY 10.9.9.9\n", -1, NULL));
    cli_expect(&up, (const char *const[]) { "up", "--wait-ready=20", config_path, NULL }, 1);
    g_assert_nonnull(strstr(up.err, "was not ready within 20000 ms"));
    g_assert_null(strstr(up.out, "10.9.9.9"));
    cli_expect(&state, (const char *const[]) { "state", "vmc-boot-stale", NULL }, 0);
    g_assert_nonnull(strstr(state.out, "running"));
    g_assert_null(strstr(state.out, "10.9.9.9"));
    cli_expect(&down, (const char *const[]) { "kill", "vmc-boot-stale", NULL }, 0);
}

/* ---- faults: libvirt, the disk and other processes failing under a boot ---- */

/* Waits until a fresh connection to the system daemon answers. */
static void
wait_libvirtd_answers(void)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    while (run_command("virsh", "-q", "-c", "qemu:///system", "uri", NULL) != 0) {
        if (g_get_monotonic_time() > deadline)
            g_error("libvirtd did not answer within 30 s of its start");
        g_usleep(100000);
    }
}

/* libvirtd is SIGKILLed at points all through `virt-vmconfig up` (a VM
 * with a TAP device the driver makes) and started again. Each time, the
 * boot either completed (the VM runs with its TAP) or left nothing behind
 * (no domain, no TAP); a retry then boots it. */
static void
test_libvirtd_killed_mid_boot(void)
{
    static const Leftovers left = { { "vmc-boot-midkill" }, .taps = TRUE, .daemon = TRUE };
    static const guint delays_ms[] = { 0, 30, 80, 150, 250, 400, 700 };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-midkill");
    g_autofree char *tap = tap_name();
    g_autofree char *json = NULL;
    g_autofree char *config_path = work_file("vmc-boot-midkill.json");
    guint completed = 0, undone = 0;

    if (!isolated_within(&left, 240))
        return;
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));
    json = vmc_config_to_json(cfg);
    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));

    for (gsize i = 0; i < G_N_ELEMENTS(delays_ms); i++) {
        const char *argv[] = { g_getenv("VMC_CLI"), "-c", "qemu:///system", "--accel", "qemu",
                               "up", config_path, NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcDriver) fresh = NULL;
        g_autoptr(VmcHandle) handle = NULL;
        g_autoptr(VmcHandle) again = NULL;
        GPid pid, daemon = libvirtd_pid();
        int status;

        g_assert_cmpint(daemon, >, 0);
        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                        G_SPAWN_STDERR_TO_DEV_NULL,
                                    vmc_test_die_with_parent, NULL, &pid, &error));
        g_usleep(delays_ms[i] * 1000);
        g_assert_cmpint(kill(daemon, SIGKILL), ==, 0);
        while (kill(daemon, 0) == 0)
            g_usleep(10000);
        start_libvirtd();
        wait_libvirtd_answers();
        status = vmc_test_reap(pid, g_get_monotonic_time() + 60 * G_USEC_PER_SEC,
                               "virt-vmconfig up while libvirtd was killed");

        fresh = vmc_driver_open(uri, &error);
        g_assert_no_error(error);
        vmc_driver_set_accel(fresh, VMC_ACCEL_QEMU);
        handle = vmc_driver_lookup(fresh, "vmc-boot-midkill", &error);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            /* The boot completed: the VM runs (or libvirtd's restart lost
             * its QEMU, which is a crash libvirt reports), with its TAP. */
            g_autoptr(VmcState) state = NULL;

            g_assert_no_error(error);
            state = vmc_driver_get_state(fresh, handle, &error);
            g_assert_no_error(error);
            g_test_message("killed after %u ms: the boot completed (%s)", delays_ms[i],
                           vmc_state_kind_to_string(vmc_state_get_kind(state)));
            completed++;
            if (vmc_state_is_running(state))
                g_assert_true(link_exists(NULL, tap));
            g_assert_true(vmc_driver_kill(fresh, handle, &error) ||
                          g_error_matches(error, VMC_ERROR, VMC_ERROR_STOP_FAILED));
            g_clear_error(&error);
        } else {
            /* It failed: nothing of it is left. */
            if (handle)
                g_error("killed after %u ms: up failed (status %d), but the domain is still "
                        "defined", delays_ms[i], status);
            g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
            g_clear_error(&error);
            if (link_exists(NULL, tap))
                g_error("killed after %u ms: up failed, but its TAP %s is left", delays_ms[i],
                        tap);
            g_test_message("killed after %u ms: the boot failed and left nothing", delays_ms[i]);
            undone++;
        }
        /* A retry works. */
        again = vmc_driver_boot(fresh, cfg, &error);
        g_assert_no_error(error);
        g_assert_true(link_exists(NULL, tap));
        g_assert_true(vmc_driver_kill(fresh, again, &error));
        g_assert_true(vmc_driver_delete(fresh, again, 0, &error));
        g_assert_no_error(error);
        g_assert_false(link_exists(NULL, tap));
    }
    g_test_message("%u boots completed, %u were undone", completed, undone);
}

/* The serial log's directory missing, or on a read-only file system: a
 * clear error naming it, and no domain. */
static void
test_serial_log_dir_faults(void)
{
    static const Leftovers left = { { "vmc-boot-logdir" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-logdir");
    g_autofree char *missing = work_file("no-such-dir/vmc-boot-logdir.serial");
    g_autofree char *ro = work_file("ro-mount");
    g_autofree char *ro_log = work_file("ro-mount/vmc-boot-logdir.serial");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;

    if (!isolated(&left))
        return;
    vmc_config_set_serial_log(cfg, missing);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "does not exist"));
    g_assert_nonnull(strstr(error->message, "no-such-dir"));
    g_clear_error(&error);
    g_assert_null(vmc_driver_lookup(driver, "vmc-boot-logdir", &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_cmpint(g_mkdir(ro, 0755), ==, 0);
    g_assert_cmpint(run_command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro, NULL),
                    ==, 0);
    vmc_config_set_serial_log(cfg, ro_log);
    handle = vmc_driver_boot(driver, cfg, &error);
    run_command("umount", ro, NULL);
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "Read-only file system"));
    g_clear_error(&error);
    g_assert_null(vmc_driver_lookup(driver, "vmc-boot-logdir", &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

/* The serial log on a full file system (a 64 KiB tmpfs, filled): the VM
 * runs, and the wait for Ready says at once that the log is lost. */
static void
test_serial_log_disk_full(void)
{
    static const Leftovers left = { { "vmc-boot-logfull" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-logfull");
    g_autofree char *dir = work_file("full-mount");
    g_autofree char *log = work_file("full-mount/vmc-boot-logfull.serial");
    g_autofree char *filler = work_file("full-mount/filler");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autofree char *zeros = g_malloc0(4096);

    if (!isolated(&left))
        return;
    g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
    g_assert_cmpint(run_command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", dir,
                                NULL), ==, 0);
    /* As full as it gets: written until there is no space left. */
    {
        int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        g_assert_cmpint(fd, >=, 0);
        while (write(fd, zeros, 4096) > 0)
            ;
        g_assert_cmpint(errno, ==, ENOSPC);
        close(fd);
    }
    vmc_config_set_serial_log(cfg, log);
    handle = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);
    ready = vmc_driver_wait_ready(driver, handle, READY_TIMEOUT_MS, &error);
    g_assert_null(ready);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "is full"));
    g_assert_nonnull(strstr(error->message, "vmc-boot-logfull.serial"));
    g_clear_error(&error);
    state = vmc_driver_get_state(driver, handle, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_state_is_running(state));
    g_assert_true(vmc_driver_kill(driver, handle, &error));
    delete_vm(handle);
    run_command("umount", dir, NULL);
}

/* 20 `virt-vmconfig up` of one name at once: one boots it, 19 are told it
 * is being booted or already runs, and one domain exists. */
static void
test_parallel_up(void)
{
    static const Leftovers left = { { "vmc-boot-race" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-race");
    g_autofree char *json = vmc_config_to_json(cfg);
    g_autofree char *config_path = work_file("vmc-boot-race.json");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    GPid pids[20];
    int err_fds[20];
    guint won = 0, refused = 0;

    if (!isolated(&left))
        return;
    g_assert_true(g_file_set_contents(config_path, json, -1, NULL));
    for (guint i = 0; i < G_N_ELEMENTS(pids); i++) {
        const char *argv[] = { g_getenv("VMC_CLI"), "-c", "qemu:///system", "--accel", "qemu",
                               "up", config_path, NULL };

        g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv, NULL,
                                               G_SPAWN_DO_NOT_REAP_CHILD |
                                                   G_SPAWN_STDOUT_TO_DEV_NULL,
                                               vmc_test_die_with_parent, NULL, &pids[i], NULL,
                                               NULL, &err_fds[i], &error));
    }
    for (guint i = 0; i < G_N_ELEMENTS(pids); i++) {
        g_autoptr(GString) err = g_string_new(NULL);
        int status = vmc_test_reap(pids[i], g_get_monotonic_time() + 90 * G_USEC_PER_SEC,
                                   "a parallel up");

        while (vmc_test_drain(err_fds[i], err))
            ;
        close(err_fds[i]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            won++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
                   (strstr(err->str, "is already running") || strstr(err->str, "being booted"))) {
            refused++;
        } else {
            g_error("a parallel up ended with status %d: %s", status, err->str);
        }
    }
    g_assert_cmpuint(won, ==, 1);
    g_assert_cmpuint(refused, ==, 19);
    {
        g_autoptr(GPtrArray) all = vmc_driver_list(driver, "vmc-boot-test", &error);
        guint named = 0;

        g_assert_no_error(error);
        for (guint i = 0; i < all->len; i++)
            named += g_strcmp0(vmc_handle_get_name(g_ptr_array_index(all, i)),
                               "vmc-boot-race") == 0;
        g_assert_cmpuint(named, ==, 1);
    }
    handle = vmc_driver_lookup(driver, "vmc-boot-race", &error);
    g_assert_no_error(error);
    g_assert_true(vmc_driver_kill(driver, handle, &error));
    delete_vm(handle);
}

/* 50 boots and kills of a real guest with a TAP the driver makes, in one
 * process: no file descriptor, TAP or (beyond a small allowance for
 * caches) memory is left per cycle. */
static void
test_boot_kill_cycles(void)
{
    static const Leftovers left = { { "vmc-boot-cycles" }, .taps = TRUE };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-cycles");
    g_autofree char *tap = tap_name();
    g_autoptr(GPtrArray) fds_before = NULL;
    g_autoptr(GPtrArray) fds_after = NULL;
    guint64 rss_before = 0, rss_after;
    const guint cycles = 50, warm = 5;

    if (!isolated_within(&left, 300))
        return;
    vmc_config_clear_networks(cfg);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, tap, NULL));
    for (guint i = 0; i < cycles; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcHandle) handle = vmc_driver_boot(driver, cfg, &error);

        g_assert_no_error(error);
        g_assert_true(link_exists(NULL, tap));
        g_assert_true(vmc_driver_kill(driver, handle, &error));
        g_assert_no_error(error);
        if (link_exists(NULL, tap))
            g_error("cycle %u: the TAP %s is left after kill", i, tap);
        if (i + 1 == warm) {
            fds_before = vmc_test_open_fds();
            rss_before = vmc_test_rss_kib();
        }
    }
    fds_after = vmc_test_open_fds();
    rss_after = vmc_test_rss_kib();
    g_test_message("%u cycles: %u fds after %u cycles, %u after %u; RSS %" G_GUINT64_FORMAT
                   " KiB -> %" G_GUINT64_FORMAT " KiB", cycles, fds_before->len, warm,
                   fds_after->len, cycles, rss_before, rss_after);
    if (fds_after->len != fds_before->len) {
        g_autofree char *a = g_strjoinv("\n", (char **) g_ptr_array_steal(fds_before, NULL));
        g_error("open file descriptors went from %u to %u over %u cycles:\n%s", fds_before->len,
                fds_after->len, cycles - warm, a);
    }
    /* 45 cycles: a leak of even 100 KiB per boot would show as 4.5 MiB. */
    if (vmc_test_rss_is_meaningful())
        g_assert_cmpuint(rss_after, <, rss_before + 2048);
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcHandle) handle = vmc_driver_lookup(driver, "vmc-boot-cycles", &error);

        g_assert_no_error(error);
        delete_vm(handle);
    }
}

/* ---- the examples (VMC_TEST_URI=examples) ----
 *
 * Each example of examples/ that can boot here, loaded from
 * $VMC_EXAMPLES_DIR and booted as it is under qemu:///system: it reaches
 * Ready and its guest prints what proves the example's feature. Every
 * example also renders XML that libvirt's schema accepts. */

/* Each JSON file of examples/: the test that boots it, or why none does. */
static const struct {
    const char *file;
    const char *booted_by;
} examples[] = {
    { "cloud-init-vm.json", "/examples/cloud-init-vm" },
    { "full-vm.json", NULL },   /* a host of its own: br0, tap-web1, /srv/web-1, vsock */
    { "hello.json", "/boot/cli-run-example (embed tier)" },
    { "initramfs-vm.json", "/examples/initramfs-vm" },
    { "netns-vm.json", "/examples/netns-vm" },
    { "uefi-vm.json", "/examples/uefi-vm" },
};

static VmcConfig *
load_example(const char *file)
{
    g_autofree char *path = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), file, NULL);
    g_autoptr(GError) error = NULL;
    VmcConfig *cfg = vmc_config_load_file(path, &error);

    if (!cfg)
        g_error("%s: %s", path, error->message);
    return cfg;
}

/* The teardown of an example's test, from what its config names: the
 * domain, share views, TAP devices, namespace, share directories, serial
 * log and NVRAM file. */
static void
example_teardown(gpointer data)
{
    g_autoptr(VmcConfig) cfg = load_example(data);
    const char *name = vmc_config_get_name(cfg);
    const char *ns = vmc_config_get_netns(cfg);
    const char *nvram = vmc_config_get_efi_variable_store(cfg);

    vmc_test_purge_domain(uri, name);
    remove_views(name);
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *dev = vmc_network_attachment_get_source(net);

        if (vmc_network_attachment_get_kind(net) != VMC_NETWORK_TAP)
            continue;
        if (link_exists(NULL, dev))
            run_command("ip", "link", "del", dev, NULL);
        if (ns && link_exists(ns, dev))
            run_command("ip", "-n", ns, "link", "del", dev, NULL);
    }
    if (ns)
        run_command("ip", "netns", "del", ns, NULL);
    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++)
        vmc_test_rm_rf(vmc_shared_dir_get_host_path(vmc_config_get_shared_dir(cfg, i)));
    g_unlink(vmc_config_get_serial_log(cfg));
    if (nvram)
        g_unlink(nvram);
}

/* The start of an example's test: skipped (boot_tests=auto) or failed
 * without root and libvirtd; then as isolated(). In the subprocess, the
 * example's config, with no serial log of an earlier boot. */
static VmcConfig *
example_isolated(const char *file)
{
    VmcConfig *cfg;

    if (!vmc_test_check_needs(VMC_TEST_NEEDS_ROOT | VMC_TEST_NEEDS_DAEMON))
        return NULL;
    if (!vmc_test_isolated(TEST_SECS, example_teardown, (gpointer) file))
        return NULL;
    open_test_driver();
    cfg = load_example(file);
    g_unlink(vmc_config_get_serial_log(cfg));
    return cfg;
}

/* Every example validates and renders XML that libvirt's schema takes;
 * every one is booted by a test, or says why not. */
static void
test_examples_render(void)
{
    g_autoptr(GPtrArray) files = vmc_test_list_dir(g_getenv("VMC_EXAMPLES_DIR"), ".json");

    g_assert_cmpuint(files->len, ==, G_N_ELEMENTS(examples));
    for (guint i = 0; i < files->len; i++) {
        g_autoptr(VmcConfig) cfg = load_example(g_ptr_array_index(files, i));
        g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        g_assert_cmpstr(g_ptr_array_index(files, i), ==, examples[i].file);
        if (!vmc_config_validate(cfg, &error))
            g_error("%s: %s", examples[i].file, error->message);
        vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
        /* The files of one that cannot boot here are on the host that can. */
        vmc_render_options_set_remote_paths(opts, examples[i].booted_by == NULL);
        xml = vmc_config_to_domain_xml(cfg, opts, &error);
        g_assert_no_error(error);
        vmc_test_assert_schema_valid(examples[i].file, xml);
        g_test_message("%s: valid, schema-valid XML; booted by %s", examples[i].file,
                       examples[i].booted_by ? examples[i].booted_by : "none (not bootable here)");
    }
}

/* An initramfs VM with a read-only config share: the guest reads the
 * share's file and cannot write it; the host directory is unchanged. */
static void
test_example_initramfs(void)
{
    g_autoptr(VmcConfig) cfg = example_isolated("initramfs-vm.json");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) after = NULL;
    g_autofree char *file = NULL;
    g_autofree char *line = NULL;
    g_autofree char *mounted = NULL;
    g_autofree char *writable = NULL;
    g_autofree char *text = NULL;
    const VmcSharedDir *share;

    if (!cfg)
        return;
    g_assert_null(vmc_config_get_root_disk(cfg));
    g_assert_cmpuint(vmc_config_get_n_shared_dirs(cfg), ==, 1);
    share = vmc_config_get_shared_dir(cfg, 0);
    g_assert_true(vmc_shared_dir_get_read_only(share));
    /* The share: a directory of the test guest's, made here. */
    g_assert_cmpint(g_mkdir_with_parents(vmc_shared_dir_get_host_path(share), 0755), ==, 0);
    file = g_build_filename(vmc_shared_dir_get_host_path(share), "app.conf", NULL);
    g_assert_true(g_file_set_contents(file, "greeting=hello from the host\n", -1, NULL));
    g_assert_cmpint(g_chmod(file, 0644), ==, 0);

    handle = boot_ready(cfg);
    line = g_strdup_printf("GUEST share=%s file=app.conf content=greeting=hello from the host",
                           vmc_shared_dir_get_tag(share));
    g_assert_true(serial_has_line(cfg, line));
    mounted = g_strdup_printf("GUEST share=%s mounted=yes writable=",
                              vmc_shared_dir_get_tag(share));
    writable = wait_guest_line(cfg, mounted, 5);
    g_assert_cmpstr(writable, ==, "no");
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    delete_vm(handle);

    after = vmc_test_list_dir(vmc_shared_dir_get_host_path(share), "");
    g_assert_cmpuint(after->len, ==, 1);
    g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "greeting=hello from the host\n");
}

/* A cloud-init VM: root disk and NoCloud seed; the guest mounts the root
 * disk and reads the seed's meta-data. */
static void
test_example_cloud_init(void)
{
    g_autoptr(VmcConfig) cfg = example_isolated("cloud-init-vm.json");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *nic = NULL;

    if (!cfg)
        return;
    g_assert_nonnull(vmc_config_get_seed_iso(cfg));
    handle = boot_ready(cfg);
    g_assert_true(serial_has_line(cfg, "GUEST seed meta-data: instance-id: vmc-test"));
    g_assert_true(serial_has_line(cfg, "GUEST rootfs dev=/dev/vda1 marker=vmc-rootfs-ok"));
    nic = g_strdup_printf("GUEST nic=eth0 mac=%s",
                          vmc_network_attachment_get_mac(vmc_config_get_network(cfg, 0)));
    g_assert_true(serial_has_line(cfg, nic));
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    delete_vm(handle);
}

/* A VM in a network namespace: its TAP device is in the namespace, not in
 * the host's, and the guest answers a ping from inside it; the TAP is gone
 * after stop. */
static void
test_example_netns(void)
{
    g_autoptr(VmcConfig) cfg = example_isolated("netns-vm.json");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *nic = NULL;
    const char *ns, *tap;

    if (!cfg)
        return;
    ns = vmc_config_get_netns(cfg);
    g_assert_nonnull(ns);
    g_assert_cmpuint(vmc_config_get_n_networks(cfg), ==, 1);
    tap = vmc_network_attachment_get_source(vmc_config_get_network(cfg, 0));
    g_assert_nonnull(strstr(vmc_config_get_cmdline(cfg), "vm.ip=10.213.9.2/24"));

    g_assert_cmpint(run_command("ip", "netns", "add", ns, NULL), ==, 0);
    handle = boot_ready_at(cfg, "10.213.9.2");
    g_assert_false(link_exists(NULL, tap));
    g_assert_true(link_exists(ns, tap));
    nic = g_strdup_printf("GUEST nic=eth0 mac=%s",
                          vmc_network_attachment_get_mac(vmc_config_get_network(cfg, 0)));
    g_assert_true(serial_has_line(cfg, nic));
    /* The namespace's end of the TAP lost its address in the move. */
    g_assert_cmpint(run_command("ip", "-n", ns, "addr", "add", "10.213.9.1/24", "dev", tap,
                                NULL), ==, 0);
    g_assert_cmpint(run_command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "10",
                                "10.213.9.2", NULL), ==, 0);
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    g_assert_false(link_exists(ns, tap));
    g_assert_false(link_exists(NULL, tap));
    delete_vm(handle);
    g_assert_cmpint(run_command("ip", "netns", "del", ns, NULL), ==, 0);
}

/* A UEFI VM: the kernel boots through its EFI stub (which adds initrd=
 * to the command line the guest sees) and libvirt makes the NVRAM file;
 * delete with VMC_DELETE_REMOVE_NVRAM removes it. */
static void
test_example_uefi(void)
{
    g_autoptr(VmcConfig) cfg = example_isolated("uefi-vm.json");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) gone = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cmdline = NULL;
    const char *nvram;

    if (!cfg)
        return;
    nvram = vmc_config_get_efi_variable_store(cfg);
    g_assert_nonnull(nvram);
    g_unlink(nvram);
    handle = boot_ready(cfg);
    g_assert_true(g_file_test(nvram, G_FILE_TEST_IS_REGULAR));
    cmdline = guest_value(cfg, "cmdline");
    g_assert_true(g_str_has_prefix(cmdline, "console=ttyS0"));
    g_assert_nonnull(strstr(cmdline, "initrd="));
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    g_assert_true(vmc_driver_delete(driver, handle, VMC_DELETE_REMOVE_NVRAM, &error));
    g_assert_no_error(error);
    gone = vmc_driver_lookup(driver, vmc_config_get_name(cfg), &error);
    g_assert_null(gone);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
    g_assert_false(g_file_test(nvram, G_FILE_TEST_EXISTS));
}

/* ---- the _async calls on a real guest ------------------------------------ */

typedef struct {
    GMainContext *context;
    GAsyncResult *result;
    gboolean in_context;
    gint64 done_at;
    GCancellable *cancellable;
    gint64 cancelled_at;
    const VmcConfig *cfg;     /* cancel once its guest got the power button */
} AsyncCall;

static void
async_done(GObject *source, GAsyncResult *result, gpointer data)
{
    AsyncCall *call = data;

    call->in_context = g_main_context_is_owner(call->context) &&
                       g_main_context_get_thread_default() == call->context;
    call->done_at = g_get_monotonic_time();
    call->result = g_object_ref(result);
}

static gboolean
async_cancel(gpointer data)
{
    AsyncCall *call = data;

    call->cancelled_at = g_get_monotonic_time();
    g_cancellable_cancel(call->cancellable);
    return G_SOURCE_REMOVE;
}

static gboolean
async_cancel_at_button(gpointer data)
{
    AsyncCall *call = data;

    if (!serial_has_line(call->cfg, "GUEST acpi=power-button"))
        return G_SOURCE_CONTINUE;
    return async_cancel(call);
}

static gboolean
async_flag(gpointer data)
{
    *(gboolean *) data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Runs the caller's context until the callback ran there. */
static GAsyncResult *
async_wait(AsyncCall *call, guint bound_ms, const char *what)
{
    g_autoptr(GSource) bound = g_timeout_source_new(bound_ms);
    gboolean timed_out = FALSE;

    g_source_set_callback(bound, async_flag, &timed_out, NULL);
    g_source_attach(bound, call->context);
    while (!call->result && !timed_out)
        g_main_context_iteration(call->context, TRUE);
    g_source_destroy(bound);
    if (!call->result)
        g_error("%s did not call back within %u ms", what, bound_ms);
    g_assert_true(call->in_context);
    return g_steal_pointer(&call->result);
}

/* The wait for Ready and the stop, cancelled on a real guest that never
 * prints its marker (vmc.noready) and waits 8 s after the power button
 * (vmc.acpidelay): each ends within a second of the cancel, with the VM
 * left running; then it is stopped and deleted for real. */
static void
test_async_cancel(void)
{
    static const Leftovers left = { { "vmc-boot-async" } };
    g_autoptr(VmcConfig) cfg = initramfs_config("vmc-boot-async");
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GCancellable) wait_cancel = g_cancellable_new();
    g_autoptr(GCancellable) stop_cancel = g_cancellable_new();
    g_autoptr(GSource) timer = NULL;
    g_autoptr(GSource) poll = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) state = NULL;
    g_autoptr(GError) error = NULL;
    AsyncCall call = { context };
    gint64 t0;

    if (!isolated(&left))
        return;
    vmc_config_clear_networks(cfg);
    vmc_config_set_cmdline(cfg, "console=ttyS0 vmc.noready vmc.acpidelay=8");
    g_main_context_push_thread_default(context);

    vmc_driver_boot_async(driver, cfg, NULL, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, 60000, "vmc_driver_boot_async()");
        handle = vmc_driver_boot_finish(driver, result, &error);
    }
    g_assert_no_error(error);
    g_assert_nonnull(handle);

    /* Ready never comes: the wait ends on the cancel, not at 120 s. */
    t0 = g_get_monotonic_time();
    call = (AsyncCall) { .context = context, .cancellable = wait_cancel };
    timer = g_timeout_source_new(1000);
    g_source_set_callback(timer, async_cancel, &call, NULL);
    g_source_attach(timer, context);
    vmc_driver_wait_ready_async(driver, handle, 120000, wait_cancel, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, 10000,
                                                    "vmc_driver_wait_ready_async()");
        state = vmc_driver_wait_ready_finish(driver, result, &error);
    }
    g_assert_null(state);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&error);
    g_test_message("%s: wait_ready cancelled after %.2f s, reported %.3f s after the cancel",
                   uri, (call.cancelled_at - t0) / 1e6, (call.done_at - call.cancelled_at) / 1e6);
    g_assert_cmpint(call.cancelled_at, >, 0);
    g_assert_cmpint(call.done_at - call.cancelled_at, <, G_TIME_SPAN_SECOND);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_RUNNING);

    /* The stop is cancelled once the guest got the button, well before it
     * powers off: the VM runs on, and is not forced off. */
    t0 = g_get_monotonic_time();
    call = (AsyncCall) { .context = context, .cancellable = stop_cancel, .cfg = cfg };
    poll = g_timeout_source_new(50);
    g_source_set_callback(poll, async_cancel_at_button, &call, NULL);
    g_source_attach(poll, context);
    vmc_driver_stop_async(driver, handle, 60000, stop_cancel, async_done, &call);
    {
        g_autoptr(GAsyncResult) result = async_wait(&call, 40000, "vmc_driver_stop_async()");
        g_assert_false(vmc_driver_stop_finish(driver, result, &error));
    }
    g_source_destroy(poll);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_test_message("%s: stop cancelled %.2f s after it began, reported %.3f s after the cancel: %s",
                   uri, (call.cancelled_at - t0) / 1e6, (call.done_at - call.cancelled_at) / 1e6,
                   error->message);
    g_clear_error(&error);
    g_assert_cmpint(call.cancelled_at, >, 0);
    g_assert_cmpint(call.done_at - call.cancelled_at, <, G_TIME_SPAN_SECOND);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_RUNNING);
    g_assert_true(serial_has_line(cfg, "GUEST acpi=power-button"));

    g_main_context_pop_thread_default(context);

    /* For real: the guest powers off at the end of its delay. */
    t0 = g_get_monotonic_time();
    g_assert_true(vmc_driver_stop(driver, handle, 30000, &error));
    g_assert_no_error(error);
    g_test_message("%s: the stop after it took %.2f s", uri, (g_get_monotonic_time() - t0) / 1e6);
    g_assert_cmpint(state_of(handle), ==, VMC_STATE_STOPPED);
    delete_vm(handle);
}

/* Runs the tests added, then frees what main made: the driver and the
 * URI, and the work directory, which only the parent made (@own_dir is
 * NULL in a test's subprocess); every test's teardown has run by then. */
static int
run_and_clean(const char *own_dir)
{
    int ret = g_test_run();

    g_clear_pointer(&driver, vmc_driver_free);
    if (own_dir)
        vmc_test_rm_rf(own_dir);
    g_clear_pointer(&uri, g_free);
    return ret;
}

int
main(int argc, char **argv)
{
    g_autofree char *own_dir = NULL;
    g_autoptr(GError) error = NULL;
    const char *which = g_getenv("VMC_TEST_URI");
    const char *embed_root;
    int ret;

    g_test_init(&argc, &argv, NULL);
    /* libvirt writes to its sockets with write(2): libvirtd killed under a
     * call would end this program with SIGPIPE (applications ignore it, as
     * virsh and virt-vmconfig do). */
    signal(SIGPIPE, SIG_IGN);
    /* This program's own libvirt calls (teardowns, reconnects while
     * libvirtd restarts) print nothing; errors are asserted on. */
    if (!vmc_driver_quiet_process(NULL, &error))
        g_error("%s", error->message);
    if (!which)
        g_error("VMC_TEST_URI must be qemu:///system, embed, remote, trixie, faults or examples");
    /* The examples tier checks for itself, test by test: its XML test
     * needs nothing. */
    if (g_strcmp0(which, "embed") == 0)
        vmc_test_require(VMC_TEST_NEEDS_ROOT);
    else if (g_strcmp0(which, "examples") != 0)
        vmc_test_require(VMC_TEST_NEEDS_ROOT | VMC_TEST_NEEDS_DAEMON);

    /* The parent picks the names, the work directory and the embedded
     * driver's root; its subprocesses find them in the environment. */
    if (!g_getenv("VMC_BOOT_TEST_DIR")) {
        g_autofree char *id = g_strdup_printf("%d", (int) getpid() % 100000);
        g_autofree char *root = NULL;

        own_dir = g_strdup("/var/tmp/vmc-boot-XXXXXX");
        g_assert_nonnull(g_mkdtemp_full(own_dir, 0755));
        root = g_build_filename(own_dir, "embed", NULL);
        g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
        g_setenv("VMC_BOOT_TEST_ID", id, TRUE);
        g_setenv("VMC_BOOT_TEST_DIR", own_dir, TRUE);
    }
    test_id = g_getenv("VMC_BOOT_TEST_ID");
    work_dir = g_getenv("VMC_BOOT_TEST_DIR");
    embed_root = g_strcmp0(which, "embed") == 0 ? "embed" : NULL;
    if (embed_root)
        uri = g_strdup_printf("qemu:///embed?root=%s/embed", work_dir);
    else if (g_strcmp0(which, "remote") == 0)
        uri = g_strdup("qemu:///system");   /* the daemon the remote URIs reach */
    else
        uri = g_strdup(which);

    /* Faults, on their own: they kill and restart libvirtd, fill disks. */
    if (g_strcmp0(which, "faults") == 0) {
        g_free(uri);
        uri = g_strdup("qemu:///system");
        g_test_add_func("/faults/libvirtd-killed-mid-boot", test_libvirtd_killed_mid_boot);
        g_test_add_func("/faults/serial-log-dir", test_serial_log_dir_faults);
        g_test_add_func("/faults/serial-log-disk-full", test_serial_log_disk_full);
        g_test_add_func("/faults/parallel-up", test_parallel_up);
        g_test_add_func("/faults/boot-kill-cycles", test_boot_kill_cycles);
        return run_and_clean(own_dir);
    }

    /* The examples, as they are, under the system daemon. */
    if (g_strcmp0(which, "examples") == 0) {
        g_free(uri);
        uri = g_strdup("qemu:///system");
        g_test_add_func("/examples/render", test_examples_render);
        g_test_add_func("/examples/initramfs-vm", test_example_initramfs);
        g_test_add_func("/examples/cloud-init-vm", test_example_cloud_init);
        g_test_add_func("/examples/netns-vm", test_example_netns);
        g_test_add_func("/examples/uefi-vm", test_example_uefi);
        return run_and_clean(own_dir);
    }

    /* The Debian 13 host, started once by the parent for its tests. */
    if (g_strcmp0(which, "trixie") == 0) {
        g_autofree char *dir = NULL;

        if (!g_test_subprocess()) {
            g_autofree char *port = g_strdup_printf("%u", free_port());

            dir = work_file("trixie");
            g_setenv("VMC_TRIXIE_DIR", dir, TRUE);
            g_free(trixie_script_run("start", port, dir));
            g_autofree char *host = g_strdup_printf("qemu+tcp://127.0.0.1:%s/system", port);

            g_setenv("VMC_TRIXIE_URI", host, TRUE);
        }
        g_free(uri);
        uri = g_strdup(g_getenv("VMC_TRIXIE_URI"));
        g_test_add_func("/trixie/guest", test_trixie_guest);
        ret = g_test_run();
        g_clear_pointer(&driver, vmc_driver_free);
        if (dir)
            g_free(trixie_script_run("stop", dir, NULL));
        if (own_dir)
            vmc_test_rm_rf(own_dir);
        g_free(uri);
        return ret;
    }

    /* The network transports, on their own: they restart libvirtd. */
    if (g_strcmp0(which, "remote") == 0) {
        g_test_add_func("/boot/remote-tcp", test_remote_tcp);
        g_test_add_func("/boot/remote-ssh", test_remote_ssh);
        g_test_add_func("/boot/remote-stage", test_remote_stage);
        g_test_add_func("/boot/remote-hidden", test_remote_hidden);
        g_test_add_func("/boot/remote-race", test_remote_race);
        g_test_add_func("/boot/remote-restart-during-wait", test_remote_restart_during_wait);
        return run_and_clean(own_dir);
    }

    /* A /dev/kvm whose vCPUs never run must give what no /dev/kvm gives,
     * TCG, by another route: the probe. In that kind of host the embedded
     * tier runs what the route decides (the driver's own pick, asserted as
     * each test opens it, and the quick start's run without --accel); the
     * rest of the tier runs in the other kinds. */
    if (embed_root && g_strcmp0(g_getenv("VMC_TEST_KVM_VARIANT"), "useless") == 0) {
        g_test_add_func("/boot/initramfs", test_initramfs_boot);
        g_test_add_func("/boot/cli-run-example", test_cli_run_example);
        return run_and_clean(own_dir);
    }

    g_test_add_func("/boot/initramfs", test_initramfs_boot);
    g_test_add_func("/boot/cloud-init", test_cloud_init_boot);
    g_test_add_func("/boot/uefi", test_uefi_boot);
    g_test_add_func("/boot/vsock", test_vsock);
    g_test_add_func("/boot/missing-file-refused", test_missing_file_refused);
    g_test_add_func("/boot/netns-refused", test_netns_refused);
    g_test_add_func("/boot/netns", test_netns);
    g_test_add_func("/boot/netns-failed-start", test_netns_failed_start);
    g_test_add_func("/boot/operator-tap", test_operator_tap);
    g_test_add_func("/boot/missing-switch-refused", test_missing_switch_refused);
    g_test_add_func("/boot/bridge-pair", test_bridge_pair);
    g_test_add_func("/boot/user-network", test_user_network);
    g_test_add_func("/boot/read-only-share", test_read_only_share);
    g_test_add_func("/boot/forward", test_forward);
    if (!embed_root) {
        g_test_add_func("/boot/interrupted-boots", test_interrupted_boots);
        g_test_add_func("/boot/stale-log-never-ready", test_stale_log_never_ready);
    }
    if (!embed_root) {
        g_test_add_func("/boot/network-lease", test_network_lease);
        g_test_add_func("/boot/foreign-domains", test_foreign_domains);
    }
    g_test_add_func("/boot/watch-ready-and-crash", test_watch_ready_and_crash);
    if (!embed_root)
        g_test_add_func("/boot/console-interactive", test_console_interactive);
    g_test_add_func("/boot/cli-run", test_cli_run);
    if (!embed_root) {
        g_test_add_func("/boot/daemon-restart", test_daemon_restart);
        g_test_add_func("/boot/async-cancel", test_async_cancel);
    }
    if (embed_root)
        g_test_add_func("/boot/cli-run-example", test_cli_run_example);

    return run_and_clean(own_dir);
}
