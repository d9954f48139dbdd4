/*
 * vmc-host-probe.c: probes of what a host can run, shared by check-host,
 * boot's preflight, the accelerator a driver picks and the tests'
 * expectations (plumbing: it asks libvirt and this host, and changes
 * nothing)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-host-private.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean
vmc_host_user_may(const struct passwd *user, const struct stat *st, int mask)
{
    int shift;

    if (user->pw_uid == 0)
        return !(mask & X_OK) || S_ISDIR(st->st_mode) || (st->st_mode & 0111);
    if (st->st_uid == user->pw_uid) {
        shift = 6;
    } else {
        gboolean member = st->st_gid == user->pw_gid;
        int n = 64;
        g_autofree gid_t *groups = g_new(gid_t, n);

        if (!member && getgrouplist(user->pw_name, user->pw_gid, groups, &n) < 0) {
            groups = g_renew(gid_t, groups, n);
            if (getgrouplist(user->pw_name, user->pw_gid, groups, &n) < 0)
                n = 0;
        }
        for (int i = 0; !member && i < n; i++)
            member = groups[i] == st->st_gid;
        shift = member ? 3 : 0;
    }
    return (((st->st_mode >> shift) & 07) & mask) == (guint) mask;
}

gboolean
vmc_host_has_vhost_vsock(void)
{
    return g_file_test(VMC_HOST_VHOST_VSOCK, G_FILE_TEST_EXISTS);
}

struct passwd *
vmc_host_getpw(const char *name, uid_t uid)
{
    long max = sysconf(_SC_GETPW_R_SIZE_MAX);
    gsize size = max > 0 ? (gsize) max : 16384;

    for (;;) {
        g_autofree char *block = g_malloc(sizeof(struct passwd) + size);
        struct passwd *result = NULL;
        int rc = name ? getpwnam_r(name, (struct passwd *) block, block + sizeof(struct passwd),
                                   size, &result)
                      : getpwuid_r(uid, (struct passwd *) block, block + sizeof(struct passwd),
                                   size, &result);

        if (rc == ERANGE && size < 1024 * 1024) {
            size *= 2;
            continue;
        }
        if (rc != 0 || !result)
            return NULL;
        return (struct passwd *) g_steal_pointer(&block);
    }
}

char *
vmc_host_group_name(gid_t gid)
{
    long max = sysconf(_SC_GETGR_R_SIZE_MAX);
    gsize size = max > 0 ? (gsize) max : 16384;

    for (;;) {
        g_autofree char *buf = g_malloc(size);
        struct group gr, *result = NULL;
        int rc = getgrgid_r(gid, &gr, buf, size, &result);

        if (rc == ERANGE && size < 1024 * 1024) {
            size *= 2;
            continue;
        }
        return rc == 0 && result ? g_strdup(gr.gr_name) : NULL;
    }
}

struct passwd *
vmc_host_qemu_user(const char *uri)
{
    if (geteuid() == 0 && (g_str_has_prefix(uri, "qemu:///system") ||
                           g_str_has_prefix(uri, "qemu:///embed")))
        return vmc_host_getpw("libvirt-qemu", 0);
    return vmc_host_getpw(NULL, geteuid());
}

/* The domain capabilities document, parsed; NULL when libvirt has none. */
xmlDoc *
vmc_host_domcaps(virConnectPtr conn, const char *arch, const char *virttype)
{
    char *xml = virConnectGetDomainCapabilities(conn, NULL, arch, NULL, virttype, 0);
    xmlDoc *doc;

    virResetLastError();
    if (!xml)
        return NULL;
    doc = vmc_xml_parse(xml, -1, NULL);
    free(xml);
    return doc;
}

char *
vmc_host_xpath_text(xmlDoc *doc, const char *xpath)
{
    g_autoptr(xmlXPathContext) ctxt = NULL;

    if (!doc)
        return NULL;
    ctxt = xmlXPathNewContext(doc);
    return vmc_xml_text(vmc_xml_find(ctxt, xpath));
}

char *
vmc_host_emulator(virConnectPtr conn, const char *arch, const char *virttype)
{
    g_autoptr(xmlDoc) doc = vmc_host_domcaps(conn, arch, virttype);

    return vmc_host_xpath_text(doc, "/domainCapabilities/path");
}

/* A probe VM of one vCPU with a kernel and an initramfs that need not
 * exist (paths are rendered as the host's own). */
static VmcConfig *
vmc_host_probe_config(void)
{
    VmcConfig *probe = vmc_config_new("vmc-probe");

    vmc_config_set_kernel(probe, "/vmc-probe/vmlinuz");
    vmc_config_set_initramfs(probe, "/vmc-probe/initrd.img");
    vmc_config_set_serial_log(probe, "/vmc-probe/serial.log");
    vmc_config_set_cpus(probe, 1);
    vmc_config_set_memory_mb(probe, 64);
    return probe;
}

/* Whether the host's libvirt takes @probe, rendered with @backend: it is
 * turned into a QEMU command line, which runs libvirt's parser and QEMU
 * driver's validation and defines and starts nothing. Else @why is
 * libvirt's reason. */
static gboolean
vmc_host_probe_accepted(virConnectPtr conn, const VmcConfig *probe, VmcUserBackend backend,
                        char **why)
{
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    char *argv;

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);
    vmc_render_options_set_user_backend(opts, backend);
    xml = vmc_config_to_domain_xml(probe, opts, &error);
    argv = xml ? virConnectDomainXMLToNative(conn, "qemu-argv", xml, 0) : NULL;
    if (!argv) {
        *why = g_strdup(xml ? virGetLastErrorMessage() : error->message);
        virResetLastError();
        return FALSE;
    }
    free(argv);
    return TRUE;
}

/* Whether libvirt takes virtiofs <readonly/> (libvirt 9.0 refuses it:
 * "virtiofs does not yet support read-only mode"). */
gboolean
vmc_host_virtiofs_readonly_works(virConnectPtr conn, char **why)
{
    g_autoptr(VmcConfig) probe = vmc_host_probe_config();

    *why = NULL;
    vmc_config_add_shared_dir(probe, vmc_shared_dir_new("/vmc-probe/share", "vmc-probe", TRUE));
    return vmc_host_probe_accepted(conn, probe, VMC_USER_BACKEND_SLIRP, why);
}

/* Whether libvirt takes <backend type='passt'/> with a <portForward> for
 * a user NIC. Debian 12's libvirt 9.0 is built with passt disabled and
 * refuses the XML. On a local host the passt program must be there too.
 * A libvirt that lists the backends of user NICs in its domain
 * capabilities (11.3 does, 9.0 lists none) is taken at its word: the
 * command-line probe would have it make a TAP device for the NIC, which an
 * ordinary user may not, though passt needs none. @why says what is
 * missing. */
gboolean
vmc_host_passt_works(virConnectPtr conn, gboolean local, char **why)
{
    g_autoptr(VmcConfig) probe = vmc_host_probe_config();
    g_autoptr(VmcPortForward) fwd = vmc_port_forward_new(VMC_FORWARD_TCP, "127.0.0.1", 2222, 22);
    const VmcPortForward *forwards[] = { fwd };
    g_autofree char *program = local ? g_find_program_in_path("passt") : NULL;
    g_autofree char *refusal = NULL;
    g_autoptr(xmlDoc) caps = NULL;

    *why = NULL;
    if (local && !program) {
        *why = g_strdup("no passt program on this host (apt-get install passt)");
        return FALSE;
    }
    caps = vmc_host_domcaps(conn, NULL, "qemu");
    if (caps) {
        g_autoptr(xmlXPathContext) ctxt = xmlXPathNewContext(caps);
        const char *backends = "/domainCapabilities/devices/interface/enum[@name='backendType']";
        g_autofree char *passt = g_strconcat(backends, "/value[text()='passt']", NULL);

        if (vmc_xml_find(ctxt, passt))
            return TRUE;
        if (vmc_xml_find(ctxt, backends)) {
            *why = g_strdup("libvirt's domain capabilities list no passt backend for user NICs");
            return FALSE;
        }
    }
    vmc_config_add_network(probe, vmc_network_attachment_new_with_forwards(
                                      VMC_NETWORK_USER, NULL, NULL, forwards, 1));
    if (!vmc_host_probe_accepted(conn, probe, VMC_USER_BACKEND_PASST, &refusal)) {
        *why = g_strdup_printf("libvirt refuses <backend type='passt'/> (%s)", refusal);
        return FALSE;
    }
    return TRUE;
}

/* libvirt refused to define VM @name, rendered for @accel, on @uri: its
 * error, as INVALID_CONFIG. Where KVM was asked for and the host's libvirt
 * offers none (no /dev/kvm there, or one that runs nothing: "Emulator ...
 * does not support virt type 'kvm'", "could not find capabilities for
 * ... domaintype=kvm"), the error says so and what to do. libvirt's code
 * stays readable from the error. */
gboolean
vmc_host_define_refused(virConnectPtr conn, const char *uri, const char *name, VmcAccel accel,
                   GError **error)
{
    virError err = { 0 };
    g_autofree char *kvm = NULL;
    gboolean refusal;

    virCopyLastError(&err);
    virResetLastError();
    /* The refusals a host without KVM gives; any other failure (a lost
     * connection, say) is not asked about. */
    refusal = err.code == VIR_ERR_CONFIG_UNSUPPORTED || err.code == VIR_ERR_INVALID_ARG;
    if (accel == VMC_ACCEL_KVM && refusal)
        kvm = vmc_host_emulator(conn, NULL, "kvm");
    if (accel == VMC_ACCEL_KVM && refusal && !kvm)
        vmc_libvirt_error_from(error, VMC_OP_DEFINE, &err,
                               "VM '%s' was refused by libvirt: accelerator 'kvm' was asked "
                               "for, but the host of %s offers no KVM; boot it with --accel "
                               "qemu (TCG), or leave --accel out", name, uri);
    else
        vmc_libvirt_error_from(error, VMC_OP_DEFINE, &err, "VM '%s' was refused by libvirt",
                               name);
    virResetError(&err);
    return FALSE;
}

gboolean
vmc_host_socket_answers(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;
    gboolean ok;

    if (strlen(path) >= sizeof(addr.sun_path))
        return FALSE;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FALSE;
    ok = connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

gboolean
vmc_local_daemon_may_answer(const char *uri)
{
    if (g_strcmp0(uri, "qemu:///system") == 0)
        return vmc_host_socket_answers("/run/libvirt/virtqemud-sock") ||
               vmc_host_socket_answers("/run/libvirt/libvirt-sock");
    if (g_strcmp0(uri, "qemu:///session") == 0) {
        g_autofree char *a = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "virtqemud-sock", NULL);
        g_autofree char *b = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "libvirt-sock", NULL);
        return vmc_host_socket_answers(a) || vmc_host_socket_answers(b);
    }
    return TRUE;
}
