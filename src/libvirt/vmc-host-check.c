/*
 * vmc-host-check.c: what a host can run (virt-vmconfig check-host)
 *
 * Each check says pass, warn or fail, what it found and what to do. The
 * probes behind them are the ones boot's preflight and the tests use, so
 * that what check-host says is what boot does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"
#include "vmc-xml-private.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

/* Every check check-host makes, in the order it reports them, with the
 * hosts it applies to (vmc-host-private.h). */
const VmcHostCheckRow vmc_host_check_rows[] = {
    { "libvirt", "libvirt reachable", VMC_HOST_CHECK_ON_ANY },
    { "qemu", "QEMU binary", VMC_HOST_CHECK_ON_ANY },
    { "kvm-device", "KVM device", VMC_HOST_CHECK_ON_LOCAL },
    { "kvm-access", "QEMU's user can open /dev/kvm", VMC_HOST_CHECK_ON_KVM_DEVICE },
    { "kvm-vcpu", "KVM runs a vCPU", VMC_HOST_CHECK_ON_KVM_DEVICE },
    { "caps-cache", "libvirt's capabilities cache is stable", VMC_HOST_CHECK_ON_KVM_DEVICE },
    { "kvm-offered", "KVM offered", VMC_HOST_CHECK_ON_REMOTE },
    { "virtiofsd", "virtiofsd", VMC_HOST_CHECK_ON_LOCAL },
    { "vhost-vsock", "vsock device", VMC_HOST_CHECK_ON_LOCAL },
    { "ovmf", "UEFI firmware", VMC_HOST_CHECK_ON_ANY },
    { "virtiofs-readonly", "read-only shares", VMC_HOST_CHECK_ON_ANY },
    { "user-network", "user NICs", VMC_HOST_CHECK_ON_ANY },
    { "port-forwards", "port forwards of user NICs", VMC_HOST_CHECK_ON_ANY },
    { "dnsmasq", "dnsmasq for libvirt networks", VMC_HOST_CHECK_ON_LOCAL },
    { "image-dirs", "QEMU's user can enter image directories", VMC_HOST_CHECK_ON_SYSTEM },
};
const gsize vmc_host_n_check_rows = G_N_ELEMENTS(vmc_host_check_rows);

const VmcHostCheckRow *
vmc_host_check_row(const char *id)
{
    for (gsize i = 0; i < G_N_ELEMENTS(vmc_host_check_rows); i++) {
        if (g_str_equal(vmc_host_check_rows[i].id, id))
            return &vmc_host_check_rows[i];
    }
    return NULL;
}

gboolean
vmc_host_check_applies(const VmcHostCheckRow *row, gboolean local, gboolean system,
                       gboolean kvm_device)
{
    switch (row->scope) {
    case VMC_HOST_CHECK_ON_ANY:
        return TRUE;
    case VMC_HOST_CHECK_ON_LOCAL:
        return local;
    case VMC_HOST_CHECK_ON_REMOTE:
        return !local;
    case VMC_HOST_CHECK_ON_KVM_DEVICE:
        return local && kvm_device;
    case VMC_HOST_CHECK_ON_SYSTEM:
        return local && system;
    }
    g_return_val_if_reached(FALSE);
}

/* The outcome of the check @id of the table (its title comes from there). */
static void G_GNUC_PRINTF(4, 5)
vmc_host_add(GPtrArray *checks, const char *id, VmcHostCheckStatus status, const char *fmt,
             ...)
{
    const VmcHostCheckRow *row = vmc_host_check_row(id);
    g_autofree char *detail = NULL;
    va_list args;

    g_return_if_fail(row != NULL);
    va_start(args, fmt);
    detail = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_ptr_array_add(checks, vmc_host_check_new(row->id, row->title, status, detail, NULL));
}

/* The hint of the check added last. */
static void G_GNUC_PRINTF(2, 3)
vmc_host_hint(GPtrArray *checks, const char *fmt, ...)
{
    VmcHostCheck *last = g_ptr_array_index(checks, checks->len - 1);
    g_autofree char *hint = NULL;
    va_list args;

    va_start(args, fmt);
    hint = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_ptr_array_index(checks, checks->len - 1) =
        vmc_host_check_new(vmc_host_check_get_id(last), vmc_host_check_get_title(last),
                           vmc_host_check_get_status(last), vmc_host_check_get_detail(last), hint);
    vmc_host_check_free(last);
}

static char *
vmc_host_version_string(unsigned long v)
{
    return g_strdup_printf("%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

static char *
vmc_host_mode_string(const struct stat *st)
{
    g_autofree struct passwd *pw = vmc_host_getpw(NULL, st->st_uid);
    g_autofree char *group = vmc_host_group_name(st->st_gid);
    g_autofree char *owner = pw ? g_strdup(pw->pw_name) : g_strdup_printf("%u", st->st_uid);

    if (!group)
        group = g_strdup_printf("%u", st->st_gid);

    return g_strdup_printf("%s:%s %04o", owner, group, st->st_mode & 07777);
}

/* Whether /dev/kvm is a node that no kvm module serves (opening it fails
 * with ENODEV or ENXIO); FALSE where this process may not open it. */
static gboolean
vmc_host_kvm_unserved(void)
{
    int fd = open(VMC_HOST_KVM_DEVICE, O_RDONLY | O_CLOEXEC);
    int err = errno;

    if (fd >= 0) {
        close(fd);
        return FALSE;
    }
    return err == ENODEV || err == ENXIO;
}

#define VMC_HOST_KVM_FIX "chgrp kvm /dev/kvm && chmod 0660 /dev/kvm (what Debian's udev rule does)"

/* /dev/kvm: there, open to QEMU's user, running a vCPU; and whether
 * libvirt's capabilities cache holds (it does not when /dev/kvm exists
 * but QEMU's user cannot open it). */
static void
vmc_host_check_kvm(GPtrArray *checks, const char *uri, gboolean offered, double lookup_secs)
{
    g_autofree struct passwd *user = vmc_host_qemu_user(uri);
    g_autofree char *user_name = user ? g_strdup(user->pw_name) : NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *mode = NULL;
    gboolean usable;
    struct stat st;

    if (stat(VMC_HOST_KVM_DEVICE, &st) < 0) {
        vmc_host_add(checks, "kvm-device", VMC_HOST_CHECK_WARN,
                     "no " VMC_HOST_KVM_DEVICE ": VMs get domain type 'qemu' (TCG emulation, "
                     "slow) and --accel kvm is refused");
        vmc_host_hint(checks, "load kvm_intel or kvm_amd, or turn on virtualization in the "
                              "firmware");
        return;
    }
    mode = vmc_host_mode_string(&st);
    vmc_host_add(checks, "kvm-device", VMC_HOST_CHECK_PASS,
                 VMC_HOST_KVM_DEVICE " is there (%s)", mode);

    usable = user && vmc_host_user_may(user, &st, R_OK | W_OK);
    if (usable) {
        vmc_host_add(checks, "kvm-access", VMC_HOST_CHECK_PASS,
                     "QEMU runs as '%s', which may open " VMC_HOST_KVM_DEVICE " (%s)", user_name,
                     mode);
    } else {
        vmc_host_add(checks, "kvm-access", VMC_HOST_CHECK_WARN,
                     "QEMU runs as '%s', which may not open " VMC_HOST_KVM_DEVICE " (%s)",
                     user_name ? user_name : "(unknown)", mode);
        if (vmc_host_kvm_unserved())
            vmc_host_hint(checks, "load kvm_intel or kvm_amd first: no kvm module serves "
                                  VMC_HOST_KVM_DEVICE ", and opened to QEMU's user it would "
                                  "make libvirt probe QEMU again at every call");
        else
            vmc_host_hint(checks, "%s; .ci/install-deps does it on hosts without udev",
                          VMC_HOST_KVM_FIX);
    }

    if (vmc_host_kvm_runs(&error)) {
        vmc_host_add(checks, "kvm-vcpu", VMC_HOST_CHECK_PASS,
                     "a probe vCPU ran to its hlt: VMs get domain type 'kvm'");
    } else {
        vmc_host_add(checks, "kvm-vcpu", VMC_HOST_CHECK_WARN,
                     "%s; VMs get domain type 'qemu' (TCG) and --accel kvm is refused",
                     error->message);
        vmc_host_hint(checks, "nothing to do for TCG; for KVM, run on bare metal or enable "
                              "nested virtualization (vmx/svm) for this VM");
    }

    /* libvirt keeps its QEMU capabilities while what it finds of
     * /dev/kvm (may QEMU's user open it?) agrees with what QEMU found when
     * probed (did KVM start?). */
    if (usable == offered) {
        vmc_host_add(checks, "caps-cache", VMC_HOST_CHECK_PASS,
                     "a capabilities lookup took %.2f s", lookup_secs);
    } else if (usable) {
        vmc_host_add(checks, "caps-cache", VMC_HOST_CHECK_WARN,
                     "QEMU's user may open %s, but QEMU finds no KVM behind it, so libvirt "
                     "discards its QEMU capabilities at every lookup and probes QEMU again "
                     "(\"KVM was not enabled when probing ..., but it should be\"): each "
                     "define, start and capabilities call costs seconds (this lookup took "
                     "%.2f s)", VMC_HOST_KVM_DEVICE, lookup_secs);
        vmc_host_hint(checks, "load kvm_intel or kvm_amd, or remove the %s node that no KVM "
                              "serves", VMC_HOST_KVM_DEVICE);
    } else {
        vmc_host_add(checks, "caps-cache", VMC_HOST_CHECK_WARN,
                     "%s exists but QEMU's user cannot open it, so libvirt discards its QEMU "
                     "capabilities at every lookup and probes QEMU again (\"KVM was enabled "
                     "when probing ..., but it is not available now\"): each define, start "
                     "and capabilities call costs seconds (this lookup took %.2f s)",
                     VMC_HOST_KVM_DEVICE, lookup_secs);
        vmc_host_hint(checks, "%s", VMC_HOST_KVM_FIX);
    }
}

static void
vmc_host_check_file(GPtrArray *checks, const char *id, const char *const *paths,
                    const char *missing, const char *hint)
{
    for (const char *const *p = paths; *p; p++) {
        if (g_file_test(*p, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test(*p, G_FILE_TEST_IS_DIR)) {
            vmc_host_add(checks, id, VMC_HOST_CHECK_PASS, "%s", *p);
            return;
        }
    }
    vmc_host_add(checks, id, VMC_HOST_CHECK_WARN, "%s", missing);
    vmc_host_hint(checks, "%s", hint);
}

/* Under qemu:///system, QEMU's user must be able to enter every directory
 * above the VM's files. */
static void
vmc_host_check_image_dirs(GPtrArray *checks, const char *uri)
{
    static const char *const dirs[] = {
        "/var/lib/libvirt/images", "/var/lib/libvirt/boot", "/var/lib/virt-vmconfig",
        "/var/tmp", "/srv", "/home", NULL,
    };
    g_autofree struct passwd *user = vmc_host_qemu_user(uri);
    g_autofree char *name = NULL;
    g_autoptr(GString) ok = g_string_new(NULL);
    g_autoptr(GString) bad = g_string_new(NULL);

    if (!user) {
        vmc_host_add(checks, "image-dirs", VMC_HOST_CHECK_WARN,
                     "QEMU's user (libvirt-qemu) does not exist");
        vmc_host_hint(checks, "reinstall libvirt-daemon-system");
        return;
    }
    name = g_strdup(user->pw_name);
    for (const char *const *d = dirs; *d; d++) {
        g_autofree char *dir = g_strdup(*d);
        gboolean enters = TRUE;
        struct stat st;

        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        while (enters && strcmp(dir, "/") != 0) {
            char *parent;

            if (stat(dir, &st) == 0)
                enters = vmc_host_user_may(user, &st, X_OK);
            if (!enters)
                break;
            parent = g_path_get_dirname(dir);
            g_free(dir);
            dir = parent;
        }
        g_string_append_printf(enters ? ok : bad, "%s%s", (enters ? ok : bad)->len ? ", " : "",
                               enters ? *d : dir);
    }
    if (bad->len) {
        vmc_host_add(checks, "image-dirs", VMC_HOST_CHECK_WARN,
                     "'%s' cannot enter %s; it can enter %s", name, bad->str, ok->len ? ok->str : "none of the usual ones");
        vmc_host_hint(checks, "chmod o+x the directories named, or keep images elsewhere "
                              "(never under /root)");
    } else {
        vmc_host_add(checks, "image-dirs", VMC_HOST_CHECK_PASS,
                     "'%s' can enter %s (keep images out of /root)", name, ok->len ? ok->str : "the usual directories");
    }
}

static void
vmc_lv_check_host_on(VmcDriver *driver, GPtrArray *checks)
{
    static const char *const virtiofsd[] = {
        "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/bin/virtiofsd", NULL,
    };
    static const char *const dnsmasq[] = { "/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", NULL };
    g_autoptr(xmlDoc) caps = NULL;
    g_autofree char *lib = NULL;
    g_autofree char *emulator = NULL;
    g_autofree char *firmware = NULL;
    g_autofree char *efi = NULL;
    g_autofree char *kvm = NULL;
    unsigned long libver = 0, hvver = 0;
    virConnectPtr conn;
    gboolean local;
    const char *used;
    gint64 start;
    double secs;

    used = vmc_lv_get_uri(driver);
    local = vmc_lv_is_local(driver);
    conn = vmc_driver_get_conn(driver);
    if (!conn) {
        vmc_host_add(checks, "libvirt", VMC_HOST_CHECK_FAIL,
                     "the connection to %s was lost", used);
        return;
    }
    if (virConnectGetLibVersion(conn, &libver) < 0)
        virResetLastError();
    if (virConnectGetVersion(conn, &hvver) < 0)
        virResetLastError();
    lib = vmc_host_version_string(libver);
    vmc_host_add(checks, "libvirt", VMC_HOST_CHECK_PASS,
                 "libvirt %s at %s%s", lib, used, local ? "" : " (remote: files and devices "
                                                              "of that host are not checked)");

    /* The first lookup may probe QEMU on any host; a second one is quick
     * unless libvirt threw its cache away. */
    caps = vmc_host_domcaps(conn, NULL, "qemu");
    start = g_get_monotonic_time();
    g_clear_pointer(&caps, xmlFreeDoc);
    caps = vmc_host_domcaps(conn, NULL, "qemu");
    secs = (double) (g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    emulator = vmc_host_xpath_text(caps, "/domainCapabilities/path");
    if (emulator) {
        g_autofree char *hv = vmc_host_version_string(hvver);
        vmc_host_add(checks, "qemu", VMC_HOST_CHECK_PASS, "%s (QEMU %s)", emulator,
                     hv);
    } else {
        vmc_host_add(checks, "qemu", VMC_HOST_CHECK_FAIL,
                     "libvirt finds no QEMU for this host's architecture");
        vmc_host_hint(checks, "apt-get install qemu-system-x86 libvirt-daemon-driver-qemu");
    }

    kvm = vmc_host_emulator(conn, NULL, "kvm");
    if (local) {
        vmc_host_check_kvm(checks, used, kvm != NULL, secs);
    } else {
        vmc_host_add(checks, "kvm-offered", kvm ? VMC_HOST_CHECK_PASS : VMC_HOST_CHECK_WARN,
                     kvm ? "libvirt offers KVM on that host (not probed from here): VMs get "
                           "domain type 'kvm'"
                         : "libvirt offers no KVM on that host: VMs get domain type 'qemu' (TCG)");
    }

    if (local)
        vmc_host_check_file(checks, "virtiofsd", virtiofsd,
                            "no virtiofsd: VMs with shared_dirs fail to start",
                            "apt-get install qemu-system-common (Debian 12) or virtiofsd");

    if (local) {
        if (vmc_host_has_vhost_vsock()) {
            vmc_host_add(checks, "vhost-vsock", VMC_HOST_CHECK_PASS,
                         VMC_HOST_VHOST_VSOCK " is there");
        } else {
            vmc_host_add(checks, "vhost-vsock", VMC_HOST_CHECK_WARN,
                         "no " VMC_HOST_VHOST_VSOCK ": VMs with vsock are refused at boot");
            vmc_host_hint(checks, "modprobe vhost_vsock");
        }
    }

    firmware = vmc_host_xpath_text(caps, "/domainCapabilities/os/loader/value");
    efi = vmc_host_xpath_text(caps, "/domainCapabilities/os/enum[@name='firmware']/value[.='efi']");
    if (firmware && efi) {
        vmc_host_add(checks, "ovmf", VMC_HOST_CHECK_PASS, "%s", firmware);
    } else {
        vmc_host_add(checks, "ovmf", VMC_HOST_CHECK_WARN,
                     "libvirt knows no UEFI firmware: VMs with efi_variable_store are refused");
        vmc_host_hint(checks, "apt-get install ovmf");
    }

    {
        g_autofree char *why = NULL;

        if (vmc_host_virtiofs_readonly_works(conn, &why)) {
            vmc_host_add(checks, "virtiofs-readonly", VMC_HOST_CHECK_PASS,
                         "libvirt %s enforces read-only virtiofs shares (<readonly/>)", lib);
        } else if (local && geteuid() == 0) {
            vmc_host_add(checks, "virtiofs-readonly", VMC_HOST_CHECK_PASS,
                         "libvirt %s refuses virtiofs <readonly/> (%s): a read_only share is a "
                         "read-only bind mount of its directory, made by the driver", lib, why);
        } else {
            vmc_host_add(checks, "virtiofs-readonly", VMC_HOST_CHECK_WARN,
                         "libvirt %s refuses virtiofs <readonly/> (%s), and the read-only bind "
                         "mount used instead needs root on the host that runs libvirt: VMs "
                         "with a read_only share are refused", lib, why);
            vmc_host_hint(checks, "boot as root on the libvirt host, share it read-write, or "
                                  "use libvirt 11 with virtiofsd 1.13 (Debian 13)");
        }
    }

    {
        g_autofree char *why = NULL;

        if (vmc_host_passt_works(conn, local, &why)) {
            vmc_host_add(checks, "user-network", VMC_HOST_CHECK_PASS,
                         "passt carries user NICs (libvirt starts it)");
            vmc_host_add(checks, "port-forwards", VMC_HOST_CHECK_PASS,
                         "a user NIC's forwards are passt <portForward>s");
        } else {
            vmc_host_add(checks, "user-network", VMC_HOST_CHECK_PASS,
                         "QEMU's built-in slirp carries user NICs: %s", why);
            vmc_host_add(checks, "port-forwards", VMC_HOST_CHECK_WARN,
                         "no passt, so no port forwards: a VM whose user NIC has forwards is "
                         "refused (slirp would forward nothing)");
            vmc_host_hint(checks, "a libvirt that takes <backend type='passt'/> (Debian 13's "
                                  "11.3 does, Debian 12's 9.0 does not) and the passt package");
        }
    }

    if (local)
        vmc_host_check_file(checks, "dnsmasq", dnsmasq,
                            "no dnsmasq: libvirt networks with DHCP (NIC type 'network') "
                            "cannot start",
                            "apt-get install dnsmasq-base");

    if (local && vmc_driver_is_system(driver))
        vmc_host_check_image_dirs(checks, used);

    virConnectClose(conn);
}

/* The checks of vmc_host_check() (see there), for a libvirt host. */
GPtrArray *
vmc_lv_check_host(const char *uri)
{
    GPtrArray *checks = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_host_check_free);
    g_autoptr(GError) error = NULL;
    /* A driver of the module's own, for these checks alone. */
    VmcDriver *driver = vmc_lv_open(uri, NULL, &error);

    if (!driver) {
        vmc_host_add(checks, "libvirt", VMC_HOST_CHECK_FAIL, "%s",
                     error->message);
        vmc_host_hint(checks, "start the daemons (virtlogd -d; libvirtd -d), or use "
                              "-c 'qemu:///embed?root=DIR', which needs none");
        return checks;
    }
    vmc_lv_check_host_on(driver, checks);
    vmc_lv_close(driver);
    return checks;
}
