/*
 * vmc-test.c: helpers the test programs share
 */
#include "vmc-test.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

gboolean
vmc_test_read_expectation(const char *path, VmcTestExpectation *out)
{
    g_autofree char *base = g_str_has_suffix(path, ".json")
                                ? g_strndup(path, strlen(path) - strlen(".json"))
                                : g_strdup(path);
    g_autofree char *expect_path = g_strconcat(base, ".expect", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) parts = NULL;

    if (!g_file_get_contents(expect_path, &text, NULL, NULL))
        return FALSE;
    parts = g_strsplit(g_strstrip(text), " ", 2);
    if (!parts[0] || !parts[1] || !vmc_error_code_from_string(parts[0], &out->code))
        return FALSE;
    out->fragment = g_strdup(parts[1]);
    return TRUE;
}

void
vmc_test_expectation_clear(VmcTestExpectation *exp)
{
    g_clear_pointer(&exp->fragment, g_free);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
vmc_test_list_dir(const char *dir, const char *suffix)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        if (g_str_has_suffix(name, suffix))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, compare_names);
    return names;
}

char *
vmc_test_canonical_xml(const char *xml)
{
    xmlDoc *doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlChar *out = NULL;
    char *ret;

    g_assert_nonnull(doc);
    g_assert_cmpint(xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 0, &out), >=, 0);
    ret = g_strdup((const char *) out);
    xmlFree(out);
    xmlFreeDoc(doc);
    return ret;
}

char *
vmc_test_read_data(const char *first, ...)
{
    g_autoptr(GPtrArray) parts = g_ptr_array_new();
    g_autofree char *path = NULL;
    char *text = NULL;
    va_list args;

    g_ptr_array_add(parts, (gpointer) g_getenv("G_TEST_SRCDIR"));
    g_ptr_array_add(parts, (gpointer) "data");
    va_start(args, first);
    for (const char *p = first; p; p = va_arg(args, const char *))
        g_ptr_array_add(parts, (gpointer) p);
    va_end(args);
    g_ptr_array_add(parts, NULL);
    path = g_build_filenamev((char **) parts->pdata);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

char *
vmc_test_xml_data_dir(void)
{
    return g_build_filename(g_getenv("G_TEST_SRCDIR"), "data", "xml", NULL);
}

static char *
replace_all(const char *text, const char *from, const char *to)
{
    g_auto(GStrv) parts = g_strsplit(text, from, -1);
    return g_strjoinv(to, parts);
}

VmcConfig *
vmc_test_load_golden(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".json", NULL);
    g_autofree char *json = vmc_test_read_data("xml", "in", file, NULL);
    g_autofree char *dir = vmc_test_xml_data_dir();
    g_autofree char *expanded = NULL;
    g_autoptr(GError) error = NULL;
    VmcConfig *cfg;

    g_assert_nonnull(json);
    expanded = replace_all(json, "@DATA@", dir);
    cfg = vmc_config_load_data(expanded, -1, &error);
    g_assert_no_error(error);
    return cfg;
}

VmcRenderOptions *
vmc_test_golden_options(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".options", NULL);
    g_autofree char *text = vmc_test_read_data("xml", "in", file, NULL);
    VmcRenderOptions *opts = vmc_render_options_new();
    g_auto(GStrv) lines = NULL;
    const char *arch = "x86_64", *machine = "q35";

    /* Goldens render for TCG unless NAME.options says otherwise. */
    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    if (!text)
        return opts;
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        VmcUserBackend backend;
        VmcAccel accel;

        if (g_str_has_prefix(*l, "accel=") && vmc_accel_from_string(*l + 6, &accel))
            vmc_render_options_set_accel(opts, accel);
        else if (g_str_has_prefix(*l, "arch="))
            arch = *l + 5;
        else if (g_str_has_prefix(*l, "machine="))
            machine = *l + 8;
        else if (g_str_has_prefix(*l, "user_backend=") &&
                 vmc_user_backend_from_string(*l + 13, &backend))
            vmc_render_options_set_user_backend(opts, backend);
        else
            g_assert_cmpstr(*l, ==, "");
    }
    vmc_render_options_set_arch(opts, arch, machine);
    return opts;
}

GPtrArray *
vmc_test_golden_names(void)
{
    g_autofree char *dir = g_build_filename(g_getenv("G_TEST_SRCDIR"), "data", "xml", "in", NULL);
    GPtrArray *names = vmc_test_list_dir(dir, ".json");

    for (guint i = 0; i < names->len; i++) {
        char *name = g_ptr_array_index(names, i);
        name[strlen(name) - strlen(".json")] = '\0';
    }
    return names;
}

gboolean
vmc_test_regenerate(void)
{
    return g_strcmp0(g_getenv("VMC_TEST_REGENERATE"), "1") == 0;
}

void
vmc_test_rm_rf(const char *path)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK) && g_file_test(path, G_FILE_TEST_IS_DIR)) {
        dir = g_dir_open(path, 0, NULL);
        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            vmc_test_rm_rf(child);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

char *
vmc_test_guest_file(const char *name)
{
    const char *dir = g_getenv("VMC_GUEST_DIR");
    char *path = g_build_filename(dir && *dir ? dir : "/var/tmp/virt-vmconfig-guest", name, NULL);

    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
        g_error("%s is missing: build the test guest with tests/guest/build-guest.sh", path);
    return path;
}

void
vmc_test_run_clear(VmcTestRun *run)
{
    g_clear_pointer(&run->out, g_free);
    g_clear_pointer(&run->err, g_free);
}

static gpointer
load_domain_schema(gpointer data)
{
    const char *path = g_getenv("VMC_LIBVIRT_DOMAIN_RNG");
    xmlRelaxNGParserCtxt *parser = path ? xmlRelaxNGNewParserCtxt(path) : NULL;
    xmlRelaxNG *schema = parser ? xmlRelaxNGParse(parser) : NULL;

    if (parser)
        xmlRelaxNGFreeParserCtxt(parser);
    if (!schema)
        g_error("cannot load libvirt's schema from %s", path ? path : "(VMC_LIBVIRT_DOMAIN_RNG unset)");
    return schema;
}

void
vmc_test_assert_schema_valid(const char *what, const char *xml)
{
    static GOnce once = G_ONCE_INIT;
    xmlRelaxNG *schema = g_once(&once, load_domain_schema, NULL);
    xmlRelaxNGValidCtxt *ctxt = xmlRelaxNGNewValidCtxt(schema);
    xmlDoc *doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);
    int rc;

    g_assert_nonnull(doc);
    rc = xmlRelaxNGValidateDoc(ctxt, doc);
    xmlFreeDoc(doc);
    xmlRelaxNGFreeValidCtxt(ctxt);
    if (rc != 0)
        g_error("%s: libvirt's domain.rng rejects its XML:\n%s", what, xml);
}

guint64
vmc_test_rss_kib(void)
{
    g_autofree char *text = NULL;
    const char *line;

    g_assert_true(g_file_get_contents("/proc/self/status", &text, NULL, NULL));
    line = strstr(text, "\nVmRSS:");
    g_assert_nonnull(line);
    return g_ascii_strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}

gboolean
vmc_test_rss_is_meaningful(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return FALSE;
#else
    return !g_getenv("VMC_UNDER_VALGRIND");
#endif
}

GPtrArray *
vmc_test_open_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    GPtrArray *fds = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename("/proc/self/fd", name, NULL);
        g_autofree char *target = g_file_read_link(path, NULL);

        /* all but the directory stream's own descriptor */
        if (target && !(g_str_has_prefix(target, "/proc/") && g_str_has_suffix(target, "/fd")))
            g_ptr_array_add(fds, g_strdup_printf("%s -> %s", name, target));
    }
    return fds;
}

#define LIBVIRT_SOCK "/run/libvirt/libvirt-sock"

/* Whether something accepts connections on the system daemon's socket (a
 * socket file that a killed libvirtd left does not count). */
static gboolean
daemon_answers(void)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = LIBVIRT_SOCK };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    gboolean ok;

    g_assert_cmpint(fd, >=, 0);
    ok = connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

char *
vmc_test_missing(VmcTestNeeds needs)
{
    if ((needs & VMC_TEST_NEEDS_ROOT) && geteuid() != 0)
        return g_strdup_printf("needs root; runs as uid %u", (guint) geteuid());
    if ((needs & VMC_TEST_NEEDS_DAEMON) && !g_file_test(LIBVIRT_SOCK, G_FILE_TEST_EXISTS))
        return g_strdup("needs the libvirt system daemon (qemu:///system): no " LIBVIRT_SOCK);
    if ((needs & VMC_TEST_NEEDS_DAEMON) && !daemon_answers())
        return g_strdup("needs the libvirt system daemon (qemu:///system): nothing answers on "
                        LIBVIRT_SOCK);
    return NULL;
}

static gboolean
boot_tests_are(const char *mode)
{
    return g_strcmp0(g_getenv("VMC_BOOT_TESTS"), mode) == 0;
}

#define NOT_RUN "not run: meson's boot_tests option is 'disabled'"

void
vmc_test_require(VmcTestNeeds needs)
{
    g_autofree char *missing = boot_tests_are("disabled") ? g_strdup(NOT_RUN)
                                                         : vmc_test_missing(needs);

    if (!missing)
        return;
    if (!boot_tests_are("enabled") && g_getenv("VMC_BOOT_TESTS")) {
        printf("1..0 # SKIP %s\n", missing);
        fflush(stdout);
        exit(0);
    }
    fprintf(stderr, "%s (boot_tests is not 'auto': a missing prerequisite fails)\n", missing);
    printf("Bail out! %s\n", missing);
    fflush(stdout);
    exit(1);
}

gboolean
vmc_test_check_needs(VmcTestNeeds needs)
{
    g_autofree char *missing = boot_tests_are("disabled") ? g_strdup(NOT_RUN)
                                                         : vmc_test_missing(needs);

    if (!missing)
        return TRUE;
    if (!boot_tests_are("enabled") && g_getenv("VMC_BOOT_TESTS")) {
        g_test_skip(missing);
        return FALSE;
    }
    g_error("%s (boot_tests is not 'auto': a missing prerequisite fails)", missing);
}

static const char *const kvm_variant_names[] = {
    [VMC_TEST_KVM_NONE] = "none",
    [VMC_TEST_KVM_USELESS] = "useless",
    [VMC_TEST_KVM_WORKING] = "working",
};

gboolean
vmc_test_kvm_variant_from_string(const char *name, VmcTestKvm *out)
{
    for (guint i = VMC_TEST_KVM_NONE; i < G_N_ELEMENTS(kvm_variant_names); i++) {
        if (g_strcmp0(name, kvm_variant_names[i]) == 0) {
            if (out)
                *out = i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *
vmc_test_kvm_variant_to_string(VmcTestKvm variant)
{
    return variant < G_N_ELEMENTS(kvm_variant_names) ? kvm_variant_names[variant] : NULL;
}

VmcTestKvm
vmc_test_kvm_variant(void)
{
    const char *name = g_getenv("VMC_TEST_KVM_VARIANT");
    VmcTestKvm variant = VMC_TEST_KVM_NATIVE;

    if (name && !vmc_test_kvm_variant_from_string(name, &variant))
        g_error("VMC_TEST_KVM_VARIANT is '%s', not none, useless or working", name);
    return variant;
}

VmcAccel
vmc_test_kvm_expected_accel(void)
{
    switch (vmc_test_kvm_variant()) {
    case VMC_TEST_KVM_NONE:
    case VMC_TEST_KVM_USELESS:
        return VMC_ACCEL_QEMU;
    case VMC_TEST_KVM_WORKING:
        return VMC_ACCEL_KVM;
    case VMC_TEST_KVM_NATIVE:
        break;
    }
    return vmc_host_kvm_runs(NULL) ? VMC_ACCEL_KVM : VMC_ACCEL_QEMU;
}

void
vmc_test_die_with_parent(gpointer data)
{
    /* Between fork and exec: only async-signal-safe calls. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

gboolean
vmc_test_drain(int fd, GString *buf)
{
    char chunk[4096];
    ssize_t got = read(fd, chunk, sizeof(chunk));

    if (got > 0) {
        g_string_append_len(buf, chunk, got);
        return TRUE;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return TRUE;
    return FALSE;
}

int
vmc_test_reap(GPid pid, gint64 deadline, const char *what)
{
    int wait_status;

    for (;;) {
        pid_t got = waitpid(pid, &wait_status, WNOHANG);

        if (got == pid)
            break;
        g_assert_cmpint(got, ==, 0);
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &wait_status, 0);
            g_error("'%s' did not exit in time", what);
        }
        g_usleep(20 * 1000);
    }
    g_spawn_close_pid(pid);
    return wait_status;
}

/* Opens a pseudo-terminal, 200 columns wide; returns the master, and the
 * other side in @slave. */
int
vmc_test_open_pty(int *slave)
{
    struct winsize ws = { .ws_row = 50, .ws_col = 200 };
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    *slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(*slave, >=, 0);
    g_assert_cmpint(ioctl(*slave, TIOCSWINSZ, &ws), ==, 0);
    return master;
}

void
vmc_test_spawn(VmcTestRun *run, gboolean tty, guint secs, const char *const *argv)
{
    g_autofree char *what = g_strjoinv(" ", (char **) argv);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) err = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + (gint64) secs * G_USEC_PER_SEC;
    int slave = -1, out_fd = -1, err_fd = -1;
    int wait_status;
    GPid pid;

    if (tty)
        err_fd = vmc_test_open_pty(&slave);
    if (!g_spawn_async_with_pipes_and_fds(NULL, argv, NULL,
                                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                                          vmc_test_die_with_parent, NULL, -1, -1, slave, NULL,
                                          NULL, 0, &pid, NULL, &out_fd, tty ? NULL : &err_fd,
                                          &error))
        g_error("cannot run '%s': %s", what, error->message);
    if (slave >= 0)
        close(slave);

    while (out_fd >= 0 || err_fd >= 0) {
        GPollFD fds[2] = { { out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 },
                           { err_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 } };
        gint64 left = deadline - g_get_monotonic_time();

        if (left <= 0) {
            kill(pid, SIGKILL);
            g_error("'%s' did not finish in %u s; stdout:\n%s\nstderr:\n%s", what, secs,
                    out->str, err->str);
        }
        if (g_poll(fds, 2, (gint) MAX(left / 1000, 1)) <= 0)
            continue;
        if (fds[0].revents && !vmc_test_drain(out_fd, out)) {
            close(out_fd);
            out_fd = -1;
        }
        if (fds[1].revents && !vmc_test_drain(err_fd, err)) {
            close(err_fd);
            err_fd = -1;
        }
    }
    wait_status = vmc_test_reap(pid, deadline, what);
    if (!WIFEXITED(wait_status))
        g_error("'%s' did not exit normally (wait status %d); stdout:\n%s\nstderr:\n%s", what,
                wait_status, out->str, err->str);
    run->status = WEXITSTATUS(wait_status);
    run->out = g_string_free(g_steal_pointer(&out), FALSE);
    run->err = g_string_free(g_steal_pointer(&err), FALSE);
}

gboolean
vmc_test_isolated(guint secs, VmcTestTeardown teardown, gpointer data)
{
    if (g_test_subprocess())
        return TRUE;
    g_test_trap_subprocess(NULL, (guint64) secs * G_USEC_PER_SEC,
                           G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (teardown)
        teardown(data);
    if (!g_test_trap_has_passed()) {
        if (g_test_trap_reached_timeout())
            g_test_message("the test did not finish in %u s and was killed", secs);
        g_test_fail();
    }
    return FALSE;
}

/* virsh, so that this process never opens the host itself: an embedded
 * driver's root would stay this process's until it exits. */
static int
purge_virsh(const char *uri, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(VmcTestRun) run = { 0 };

    g_ptr_array_add(argv, (gpointer) "virsh");
    g_ptr_array_add(argv, (gpointer) "-q");
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, (gpointer) uri);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer) *args);
    g_ptr_array_add(argv, NULL);
    vmc_test_spawn(&run, FALSE, 60, (const char *const *) argv->pdata);
    return run.status;
}

void
vmc_test_purge_domain(const char *uri, const char *name)
{
    if (purge_virsh(uri, (const char *const[]) { "domstate", name, NULL }) != 0)
        return;   /* not there: what a teardown hopes for */
    purge_virsh(uri, (const char *const[]) { "destroy", name, NULL });
    if (purge_virsh(uri, (const char *const[]) { "undefine", "--nvram", name, NULL }) == 0 ||
        purge_virsh(uri, (const char *const[]) { "undefine", name, NULL }) == 0)
        g_test_message("teardown: removed domain '%s' from %s", name, uri);
    else
        g_test_message("teardown: cannot undefine '%s' on %s", name, uri);
}
