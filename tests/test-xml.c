/*
 * test-xml.c: domain XML rendering against golden files and libvirt's
 * schema, reading back, hostile input, and import of foreign domains.
 *
 * VMC_TEST_REGENERATE=1 rewrites the goldens (the XML in out/, the JSON
 * and warnings in foreign/) instead of comparing; review the diff.
 */
#include "vmc-meta-private.h"
#include "vmc-private.h"
#include "vmc-test.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static char *
golden_path(const char *dir, const char *name, const char *suffix)
{
    g_autofree char *file = g_strconcat(name, suffix, NULL);
    return g_build_filename(g_getenv("G_TEST_SRCDIR"), "data", "xml", dir, file, NULL);
}

static char *
render_golden(const char *name, VmcConfig **cfg_out)
{
    g_autoptr(VmcConfig) cfg = vmc_test_load_golden(name);
    g_autoptr(VmcRenderOptions) opts = vmc_test_golden_options(name);
    g_autoptr(GError) error = NULL;
    char *xml = vmc_config_to_domain_xml(cfg, opts, &error);

    g_assert_no_error(error);
    g_assert_nonnull(xml);
    if (cfg_out)
        *cfg_out = g_steal_pointer(&cfg);
    return xml;
}

static void
test_golden(gconstpointer data)
{
    const char *name = data;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autofree char *xml = render_golden(name, &cfg);
    g_autofree char *again = render_golden(name, NULL);
    g_autofree char *dir = vmc_test_xml_data_dir();
    g_autofree char *out_path = golden_path("out", name, ".xml");
    g_autofree char *portable = NULL;
    g_autofree char *expected = NULL;
    g_auto(GStrv) parts = NULL;

    /* Deterministic: the same config gives the same bytes. */
    g_assert_cmpstr(xml, ==, again);

    parts = g_strsplit(xml, dir, -1);
    portable = g_strjoinv("@DATA@", parts);
    if (vmc_test_regenerate()) {
        g_assert_true(g_file_set_contents(out_path, portable, -1, NULL));
    } else {
        g_autofree char *want = NULL;
        g_autofree char *got = NULL;

        if (!g_file_get_contents(out_path, &expected, NULL, NULL))
            g_error("%s is missing: run the tests with VMC_TEST_REGENERATE=1", out_path);
        want = vmc_test_canonical_xml(expected);
        got = vmc_test_canonical_xml(portable);
        if (strcmp(want, got) != 0)
            g_error("%s: rendered XML differs from %s:\n%s", name, out_path, portable);
    }
    vmc_test_assert_schema_valid(name, xml);
}

static void
test_round_trip(gconstpointer data)
{
    const char *name = data;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autofree char *xml = render_golden(name, &cfg);
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autoptr(VmcConfig) back = vmc_config_from_domain_xml(xml, &warnings, &error);

    g_assert_no_error(error);
    if (g_strv_length(warnings) > 0)
        g_error("%s: reading our own XML warned: %s", name, warnings[0]);
    if (!vmc_config_equal(cfg, back)) {
        g_autofree char *a = vmc_config_to_json(cfg);
        g_autofree char *b = vmc_config_to_json(back);
        g_error("%s: config -> XML -> config changed it:\n%s\n-- became --\n%s", name, a, b);
    }
}

static void
test_bad(gconstpointer data)
{
    const char *name = data;
    g_autofree char *path = golden_path("bad", name, ".json");
    g_autofree char *dir = vmc_test_xml_data_dir();
    g_autofree char *json = NULL;
    g_auto(GStrv) parts = NULL;
    g_autofree char *expanded = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    VmcTestExpectation exp = { 0 };

    g_assert_true(g_file_get_contents(path, &json, NULL, NULL));
    g_assert_true(vmc_test_read_expectation(path, &exp));
    parts = g_strsplit(json, "@DATA@", -1);
    expanded = g_strjoinv(dir, parts);
    cfg = vmc_config_load_data(expanded, -1, &error);
    g_assert_no_error(error);

    xml = vmc_config_to_domain_xml(cfg, NULL, &error);
    g_assert_null(xml);
    g_assert_nonnull(error);
    if (error->domain != VMC_ERROR || error->code != (int) exp.code ||
        !strstr(error->message, exp.fragment))
        g_error("%s: got \"%s\", expected %s with \"%s\"", name, error->message,
                vmc_error_code_to_string(exp.code), exp.fragment);
    vmc_test_expectation_clear(&exp);
}

static void
test_foreign(gconstpointer data)
{
    const char *name = data;
    g_autofree char *xml_path = golden_path("foreign", name, ".xml");
    g_autofree char *json_path = golden_path("foreign", name, ".json");
    g_autofree char *warn_path = golden_path("foreign", name, ".warnings");
    g_autofree char *xml = NULL;
    g_autofree char *json = NULL;
    g_autofree char *warn_text = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;

    g_assert_true(g_file_get_contents(xml_path, &xml, NULL, NULL));
    cfg = vmc_config_from_domain_xml(xml, &warnings, &error);
    g_assert_no_error(error);
    json = vmc_config_to_json(cfg);
    warn_text = g_strjoinv("\n", warnings);

    if (vmc_test_regenerate()) {
        g_autofree char *with_newline = g_strconcat(warn_text, "\n", NULL);
        g_assert_true(g_file_set_contents(json_path, json, -1, NULL));
        g_assert_true(g_file_set_contents(warn_path, with_newline, -1, NULL));
    } else {
        g_autofree char *want_json = NULL;
        g_autofree char *want_warn = NULL;

        g_assert_true(g_file_get_contents(json_path, &want_json, NULL, NULL));
        g_assert_true(g_file_get_contents(warn_path, &want_warn, NULL, NULL));
        g_assert_cmpstr(json, ==, want_json);
        g_assert_cmpstr(warn_text, ==, g_strchomp(want_warn));
    }
    /* Nothing is dropped in silence: a foreign domain always says what it lost. */
    g_assert_cmpuint(g_strv_length(warnings), >, 0);
}

/* Whatever a string holds, the XML is well-formed and says exactly it. */
static void
test_hostile_cmdline(void)
{
    static const char *const hostile[] = {
        "a <b> & c", "\"double\" 'single'", "]]> <!-- --> <?pi?>", "&amp; &lt; &#x41; &bogus;",
        "é 日本 🙂", "</cmdline></os><devices><disk/></devices><os><cmdline>",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(hostile); i++) {
        g_autoptr(VmcConfig) cfg = vmc_test_load_golden("initramfs-minimal");
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;
        g_autoptr(VmcConfig) back = NULL;

        vmc_config_set_cmdline(cfg, hostile[i]);
        vmc_config_set_kernel(cfg, "/vms/x");
        xml = vmc_config_to_domain_xml(cfg, NULL, &error);
        g_assert_no_error(error);
        back = vmc_config_from_domain_xml(xml, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(vmc_config_get_cmdline(back), ==, hostile[i]);
        g_assert_true(vmc_config_equal(cfg, back));
    }
}

static void
test_hostile_rejected(void)
{
    static const char *const controls[] = { "a\x01z", "a\x1bz", "line\nbreak", "nul\x7f" };

    for (gsize i = 0; i < G_N_ELEMENTS(controls); i++) {
        g_autoptr(VmcConfig) cfg = vmc_test_load_golden("initramfs-minimal");
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        vmc_config_set_cmdline(cfg, controls[i]);
        xml = vmc_config_to_domain_xml(cfg, NULL, &error);
        g_assert_null(xml);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    }
}

/* A disk that is a FIFO (or anything but a file or block device) is
 * refused at once, not read: reading a FIFO blocks until a writer comes. */
static void
test_disk_not_a_file(void)
{
    g_autoptr(VmcConfig) cfg = vmc_test_load_golden("initramfs-minimal");
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmc-xml-fifo-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "root.img", NULL);
    g_autofree char *xml = NULL;

    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    vmc_config_set_root_disk(cfg, fifo);
    xml = vmc_config_to_domain_xml(cfg, NULL, &error);
    g_assert_null(xml);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "is neither a file nor a block device"));
    g_assert_nonnull(strstr(error->message, fifo));
    g_unlink(fifo);
    g_rmdir(dir);
}

static void
test_remote_paths(void)
{
    g_autoptr(VmcConfig) cfg = vmc_test_load_golden("initramfs-minimal");
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *local = NULL;
    g_autofree char *remote = NULL;

    vmc_config_set_root_disk(cfg, "/on/another/host/root.qcow2");
    local = vmc_config_to_domain_xml(cfg, opts, &error);
    g_assert_null(local);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "/on/another/host/root.qcow2"));
    g_clear_error(&error);

    vmc_render_options_set_remote_paths(opts, TRUE);
    remote = vmc_config_to_domain_xml(cfg, opts, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(remote, "<driver name=\"qemu\" type=\"raw\"/>"));
}

static void
test_identity(void)
{
    g_autoptr(VmcConfig) a = vmc_test_load_golden("nic-two-generated-macs");
    g_autoptr(VmcConfig) b = vmc_config_copy(a);
    g_autofree char *uuid_a = vmc_config_get_uuid_string(a);
    g_autofree char *uuid_b = NULL;
    g_autofree char *mac0 = vmc_config_compute_mac(a, 0);
    g_autofree char *mac1 = vmc_config_compute_mac(a, 1);

    /* vm-rs gave both NICs one MAC; each NIC needs its own. */
    g_assert_cmpstr(mac0, !=, mac1);
    g_assert_true(g_str_has_prefix(mac0, "52:54:00:"));
    /* The UUID is a stable UUIDv5 of namespace and name ... */
    g_assert_cmpuint(strlen(uuid_a), ==, 36);
    g_assert_cmpint(uuid_a[14], ==, '5');
    vmc_config_set_namespace(b, "other");
    uuid_b = vmc_config_get_uuid_string(b);
    g_assert_cmpstr(uuid_a, !=, uuid_b);
    g_clear_pointer(&uuid_b, g_free);
    /* ... unless the machine id gives it. */
    vmc_config_set_machine_id(b, (const guint8 *) "0123456789abcdef", 16);
    uuid_b = vmc_config_get_uuid_string(b);
    g_assert_cmpstr(uuid_b, ==, "30313233-3435-3637-3839-616263646566");
}

static void
test_not_a_domain(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_from_domain_xml("<network/>", NULL, &error);

    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_clear_error(&error);
    cfg = vmc_config_from_domain_xml("<domain><name>x</name", NULL, &error);
    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "not well-formed"));
    g_clear_error(&error);
    /* No entity expansion, no network access while parsing. */
    cfg = vmc_config_from_domain_xml(
        "<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><domain><name>&e;</name></domain>",
        NULL, &error);
    if (cfg)
        g_assert_null(strstr(vmc_config_get_name(cfg), "root:"));
}

static void
add_each(const char *prefix, GPtrArray *names, GTestDataFunc func)
{
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_strdup_printf("%s/%s", prefix, (char *) g_ptr_array_index(names, i));
        g_test_add_data_func(path, g_ptr_array_index(names, i), func);
    }
}

static GPtrArray *
names_in(const char *dir, const char *suffix)
{
    g_autofree char *path = g_build_filename(g_getenv("G_TEST_SRCDIR"), "data", "xml", dir, NULL);
    GPtrArray *names = vmc_test_list_dir(path, suffix);

    for (guint i = 0; i < names->len; i++) {
        char *name = g_ptr_array_index(names, i);
        name[strlen(name) - strlen(suffix)] = '\0';
    }
    return names;
}

static void
assert_meta_equal(const VmcMeta *a, const VmcMeta *b)
{
    g_assert_cmpstr(a->ns, ==, b->ns);
    g_assert_cmpint(a->adopted, ==, b->adopted);
    g_assert_cmpstr(a->netns, ==, b->netns);
    g_assert_cmpstr(a->serial_log, ==, b->serial_log);
    g_assert_cmpint(a->generated_uuid, ==, b->generated_uuid);
    g_assert_cmpint(a->generated_cmdline, ==, b->generated_cmdline);
    g_assert_cmpstr(a->generated_macs, ==, b->generated_macs);
    g_assert_cmpuint(a->shares->len, ==, b->shares->len);
    for (guint i = 0; i < a->shares->len; i++) {
        const VmcMetaShare *x = g_ptr_array_index(a->shares, i);
        const VmcMetaShare *y = g_ptr_array_index(b->shares, i);
        g_assert_cmpstr(x->tag, ==, y->tag);
        g_assert_cmpstr(x->host_path, ==, y->host_path);
    }
    g_assert_cmpuint(a->owned_taps->len, ==, b->owned_taps->len);
    for (guint i = 0; i < a->owned_taps->len; i++)
        g_assert_cmpstr(g_ptr_array_index(a->owned_taps, i), ==,
                        g_ptr_array_index(b->owned_taps, i));
}

/* Our metadata element: what the codec writes, it reads back, in a domain
 * document and as the text libvirt's metadata calls take and give; the
 * domain's other metadata and unknown children of ours are passed over. */
static void
test_metadata_codec(void)
{
    g_autoptr(VmcMeta) meta = vmc_meta_new("shop");
    g_autoptr(VmcMeta) empty = vmc_meta_new(NULL);
    g_autoptr(VmcMeta) back = NULL;
    g_autoptr(VmcMeta) parsed = NULL;
    g_autoptr(VmcMeta) lenient = NULL;
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    g_autoptr(xmlDoc) reread = NULL;
    g_autoptr(xmlDoc) foreign = NULL;
    g_autofree char *text = NULL;
    g_autofree char *formatted = NULL;
    g_auto(GStrv) taps = NULL;
    xmlNode *root = xmlNewNode(NULL, (const xmlChar *) "domain");
    xmlNode *metadata;

    meta->adopted = TRUE;
    meta->netns = g_strdup("web");
    meta->serial_log = g_strdup("/var/log/vms/web-1.serial");
    meta->generated_uuid = TRUE;
    meta->generated_macs = g_strdup("0 2");
    vmc_meta_add_share(meta, "config", "/srv/web-1/config");
    vmc_meta_add_owned_tap(meta, "vmct0");
    vmc_meta_add_owned_tap(meta, "vmct1");
    g_assert_cmpstr(empty->ns, ==, "");

    xmlDocSetRootElement(doc, root);
    metadata = xmlNewChild(root, NULL, (const xmlChar *) "metadata", NULL);
    /* Another tool's element comes first; it is not ours. */
    xmlSetNs(xmlNewChild(metadata, NULL, (const xmlChar *) "vm", NULL),
             xmlNewNs(metadata, (const xmlChar *) "https://example.org/other", NULL));
    vmc_meta_write(meta, metadata);
    text = vmc_xml_dump(doc);
    reread = vmc_xml_parse(text, -1, NULL);
    g_assert_nonnull(reread);
    g_assert_nonnull(vmc_meta_find(reread));
    back = vmc_meta_read(vmc_meta_find(reread));
    assert_meta_equal(meta, back);
    taps = vmc_meta_dup_owned_taps(back);
    g_assert_cmpuint(g_strv_length(taps), ==, 2);
    g_assert_cmpstr(taps[1], ==, "vmct1");

    formatted = vmc_meta_format(meta);
    parsed = vmc_meta_parse(formatted);
    g_assert_nonnull(parsed);
    assert_meta_equal(meta, parsed);

    /* A domain without our element is not ours; text that is no element
     * of ours reads as nothing. */
    foreign = vmc_xml_parse("<domain><metadata><vm namespace='x'/></metadata></domain>", -1,
                            NULL);
    g_assert_null(vmc_meta_find(foreign));
    g_assert_null(vmc_meta_find(NULL));
    g_assert_null(vmc_meta_parse("<other/>"));
    g_assert_null(vmc_meta_parse("not xml"));
    lenient = vmc_meta_parse("<vm namespace='n'><future x='1'/><owned-tap/><owned-tap "
                             "dev='t0'/></vm>");
    g_assert_nonnull(lenient);
    g_assert_cmpstr(lenient->ns, ==, "n");
    g_assert_cmpuint(lenient->owned_taps->len, ==, 1);
    g_assert_null(lenient->serial_log);
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) goldens = NULL;
    g_autoptr(GPtrArray) bad = NULL;
    g_autoptr(GPtrArray) foreign = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);


    goldens = vmc_test_golden_names();
    g_assert_cmpuint(goldens->len, >=, 20);
    add_each("/xml/golden", goldens, test_golden);
    add_each("/xml/round-trip", goldens, test_round_trip);
    bad = names_in("bad", ".json");
    add_each("/xml/bad", bad, test_bad);
    foreign = names_in("foreign", ".xml");
    add_each("/xml/foreign", foreign, test_foreign);
    g_test_add_func("/xml/hostile-cmdline", test_hostile_cmdline);
    g_test_add_func("/xml/hostile-rejected", test_hostile_rejected);
    g_test_add_func("/xml/remote-paths", test_remote_paths);
    g_test_add_func("/xml/disk-not-a-file", test_disk_not_a_file);
    g_test_add_func("/xml/identity", test_identity);
    g_test_add_func("/xml/not-a-domain", test_not_a_domain);
    g_test_add_func("/xml/metadata-codec", test_metadata_codec);

    ret = g_test_run();
    return ret;
}
