/*
 * test-libvirt-xml.c: libvirt's own parser accepts every golden document.
 *
 * Each rendered golden is defined with VIR_DOMAIN_DEFINE_VALIDATE on the
 * embedded QEMU driver (qemu:///embed), which, unlike the test driver,
 * runs QEMU's validation (for instance it refuses virtiofs without shared
 * memory). libvirt's rewrite of the document must read back to the same
 * config. A golden that a host may lack what it needs for has NAME.libvirt
 * in data/xml/in/: a line "unless PROBE" naming what it needs, then a
 * fragment of libvirt's refusal on a host without it per line (hosts differ
 * in the words: any one of them will do). The probe is the one check-host
 * uses (vmc-host-private.h), so the expectation follows the host: on a host
 * that has the thing, libvirt must accept the document. A KVM document on
 * a host that cannot run KVM is still schema-valid, and the driver's error
 * for libvirt's refusal names the VM and the host and says what to do. The
 * program runs on each kind of KVM host (tests/vmc-kvm-variant.c).
 */
#include "vmc-host-private.h"
#include "vmc-libvirt-private.h"
#include "vmc-test.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

static virConnectPtr conn;
static char *root_dir;
static char *uri;

/* Whether this host has what "unless PROBE" names. */
static gboolean
host_has(const char *probe)
{
    g_autofree char *path = NULL;

    if (g_str_has_prefix(probe, "emulator-")) {
        path = vmc_host_emulator(conn, probe + strlen("emulator-"), "qemu");
        return path != NULL;
    }
    if (g_str_equal(probe, "kvm")) {
        path = vmc_host_emulator(conn, NULL, "kvm");
        return path != NULL;
    }
    if (g_str_equal(probe, "virtiofs-readonly")) {
        g_autofree char *why = NULL;
        return vmc_host_virtiofs_readonly_works(conn, &why);
    }
    if (g_str_equal(probe, "passt")) {
        g_autofree char *why = NULL;
        return vmc_host_passt_works(conn, TRUE, &why);
    }
    g_error("unknown probe '%s' in a .libvirt file", probe);
}

/* The refusals this host's libvirt may give @name (any one of them), or
 * NULL when it must accept it. */
static GStrv
expected_refusals(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".libvirt", NULL);
    g_autofree char *text = vmc_test_read_data("xml", "in", file, NULL);
    g_auto(GStrv) lines = NULL;
    g_autoptr(GStrvBuilder) refusals = g_strv_builder_new();

    if (!text)
        return NULL;
    lines = g_strsplit(g_strstrip(text), "\n", -1);
    if (!g_str_has_prefix(lines[0], "unless ") || !lines[1])
        g_error("%s: expected \"unless PROBE\" and refusals, got:\n%s", file, text);
    if (host_has(lines[0] + strlen("unless ")))
        return NULL;
    for (char **l = lines + 1; *l; l++) {
        if (*g_strstrip(*l))
            g_strv_builder_add(refusals, *l);
    }
    return g_strv_builder_end(refusals);
}

/* libvirt has just refused @name's KVM domain on a host that cannot run
 * one: the driver's error for it is INVALID_CONFIG naming the VM and the
 * host, saying what to do, with libvirt's text and code. */
static void
assert_kvm_refusal_mapped(const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *vm = g_strdup_printf("VM '%s'", name);
    int code = virGetLastErrorCode();
    g_autofree char *text = g_strdup(virGetLastErrorMessage());

    g_assert_false(vmc_host_define_refused(conn, uri, name, VMC_ACCEL_KVM, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, vm));
    g_assert_nonnull(strstr(error->message, uri));
    g_assert_nonnull(strstr(error->message, "offers no KVM"));
    g_assert_nonnull(strstr(error->message, "--accel qemu"));
    g_assert_nonnull(strstr(error->message, text));
    g_assert_cmpint(vmc_error_get_libvirt_code(error), ==, code);
}

static void
test_define(gconstpointer data)
{
    const char *name = data;
    g_autoptr(VmcConfig) cfg = vmc_test_load_golden(name);
    g_autoptr(VmcRenderOptions) opts = vmc_test_golden_options(name);
    g_auto(GStrv) refusals = expected_refusals(name);
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = vmc_config_to_domain_xml(cfg, opts, &error);
    g_autoptr(VmcConfig) back = NULL;
    g_auto(GStrv) warnings = NULL;
    virDomainPtr dom;
    char *live;

    g_assert_no_error(error);
    /* Run by a user, the embedded driver is in session mode, which
     * refuses every virtiofs share, and KVM where the user may not open
     * /dev/kvm (while its capabilities still offer it). */
    if ((vmc_config_get_n_shared_dirs(cfg) > 0 ||
         vmc_render_options_get_accel(opts) == VMC_ACCEL_KVM) &&
        !vmc_test_check_needs(VMC_TEST_NEEDS_ROOT))
        return;
    if (refusals)
        /* What libvirt will refuse here is still a document of its schema. */
        vmc_test_assert_schema_valid(name, xml);
    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (refusals) {
        const char *msg = virGetLastErrorMessage();
        gboolean matched = FALSE;
        g_autofree char *all = g_strjoinv("\", \"", refusals);

        if (dom)
            g_error("%s: libvirt was expected to refuse it (\"%s\") but accepted it", name,
                    all);
        for (char **r = refusals; *r && !matched; r++)
            matched = strstr(msg, *r) != NULL;
        if (!matched)
            g_error("%s: libvirt refused it with \"%s\", expected one of \"%s\"", name, msg,
                    all);
        if (vmc_render_options_get_accel(opts) == VMC_ACCEL_KVM)
            assert_kvm_refusal_mapped(name);
        return;
    }
    if (!dom)
        g_error("%s: libvirt refused it: %s", name, virGetLastErrorMessage());

    live = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    g_assert_nonnull(live);
    back = vmc_config_from_domain_xml(live, &warnings, &error);
    g_assert_no_error(error);
    if (!vmc_config_equal(cfg, back)) {
        g_autofree char *a = vmc_config_to_json(cfg);
        g_autofree char *b = vmc_config_to_json(back);
        g_error("%s: libvirt's rewrite reads back differently:\n%s\n-- became --\n%s\n%s", name,
                a, b, live);
    }
    if (g_strv_length(warnings) > 0)
        g_error("%s: libvirt's rewrite of our XML warned: %s\n%s", name, warnings[0], live);
    free(live);

    g_assert_cmpint(virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM), ==, 0);
    virDomainFree(dom);
}

static void
test_virtiofs_needs_shared_memory(void)
{
    g_autoptr(VmcConfig) cfg = vmc_test_load_golden("share-one");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcRenderOptions) opts = vmc_test_golden_options("share-one");
    g_autofree char *xml = vmc_config_to_domain_xml(cfg, opts, &error);
    g_autofree char *head = NULL;
    g_autofree char *without = NULL;
    const char *start = strstr(xml, "<memoryBacking>");
    const char *end = strstr(xml, "</memoryBacking>");
    virDomainPtr dom;

    /* As in test_define(): virtiofs needs root here. */
    if (!vmc_test_check_needs(VMC_TEST_NEEDS_ROOT))
        return;
    /* The check that makes this tier worth having: the same document
     * without the memory backing we add is refused by libvirt. */
    g_assert_nonnull(start);
    g_assert_nonnull(end);
    head = g_strndup(xml, start - xml);
    without = g_strconcat(head, end + strlen("</memoryBacking>"), NULL);
    dom = virDomainDefineXMLFlags(conn, without, VIR_DOMAIN_DEFINE_VALIDATE);
    g_assert_null(dom);
    g_assert_cmpint(virGetLastErrorCode(), ==, VIR_ERR_CONFIG_UNSUPPORTED);
    g_assert_nonnull(strstr(virGetLastErrorMessage(), "shared memory"));
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) goldens = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);

    /* The library's own event loop. */
    g_assert_true(vmc_event_loop_ensure(NULL));

    root_dir = g_dir_make_tmp("vmc-embed-XXXXXX", NULL);
    g_assert_nonnull(root_dir);
    uri = g_strdup_printf("qemu:///embed?root=%s", root_dir);
    conn = virConnectOpen(uri);
    if (!conn)
        g_error("cannot open %s: %s", uri, virGetLastErrorMessage());

    goldens = vmc_test_golden_names();
    for (guint i = 0; i < goldens->len; i++) {
        g_autofree char *path = g_strdup_printf("/libvirt/define/%s",
                                                (char *) g_ptr_array_index(goldens, i));
        g_test_add_data_func(path, g_ptr_array_index(goldens, i), test_define);
    }
    g_test_add_func("/libvirt/virtiofs-needs-shared-memory", test_virtiofs_needs_shared_memory);

    ret = g_test_run();
    virConnectClose(conn);
    vmc_test_rm_rf(root_dir);
    g_free(root_dir);
    g_free(uri);
    return ret;
}
