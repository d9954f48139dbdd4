/*
 * test-hostile.c: input from an attacker, and the promise that every
 * config the validator accepts renders XML libvirt's schema accepts.
 *
 * Every file in data/hostile/ (NAME.json, a VM config; NAME.xml, a domain
 * XML) has NAME.expect beside it, one line:
 *   CODE fragment   rejected with that VmcError code, the message holding
 *                   the fragment
 *   WARN fragment   (XML) read, one warning holding the fragment
 *   OK              (JSON) valid; renders XML that domain.rng accepts and
 *                   that reads back to an equal config without warnings
 * Whatever the outcome, no message or warning may hold a byte or
 * character that acts on a terminal or starts a line of its own.
 */
#include "vmc-private.h"
#include "vmc-test.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Controls (C0, DEL, C1), bidi embeddings, overrides, marks and isolates,
 * zero-width characters, line and paragraph separators, the BOM: written
 * out here rather than taken from the library, which is what is tested. */
static gboolean
char_is_dangerous(gunichar c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

static void
assert_terminal_safe(const char *what, const char *text)
{
    const char *end = NULL;

    if (!g_utf8_validate(text, -1, &end))
        g_error("%s: message is not UTF-8 at byte %td", what, end - text);
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        if (char_is_dangerous(g_utf8_get_char(p)))
            g_error("%s: message holds U+%04X at byte %td unescaped", what,
                    g_utf8_get_char(p), p - text);
    }
}

/* Renders @cfg as for another host (no file is read) whose user NICs are
 * passt (every valid config renders there, forwards too), checks the XML
 * against the schema and reads it back. */
static void
assert_renders_and_round_trips(const char *what, const VmcConfig *cfg)
{
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    g_autoptr(VmcConfig) back = NULL;
    g_auto(GStrv) warnings = NULL;

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);
    vmc_render_options_set_user_backend(opts, VMC_USER_BACKEND_PASST);
    xml = vmc_config_to_domain_xml(cfg, opts, &error);
    if (!xml)
        g_error("%s: valid, but does not render: %s", what, error->message);
    vmc_test_assert_schema_valid(what, xml);
    back = vmc_config_from_domain_xml(xml, &warnings, &error);
    g_assert_no_error(error);
    if (g_strv_length(warnings) > 0)
        g_error("%s: reading its XML back warned: %s", what, warnings[0]);
    if (!vmc_config_equal(cfg, back)) {
        g_autofree char *a = vmc_config_to_json(cfg);
        g_autofree char *b = vmc_config_to_json(back);
        g_error("%s: config -> XML -> config changed it:\n%s\n-- became --\n%s", what, a, b);
    }
}

typedef struct {
    char *word;      /* OK, WARN or a VmcError code */
    char *fragment;  /* or NULL */
} Expect;

static void
read_expect(const char *path, Expect *exp)
{
    g_autofree char *base = g_strndup(path, strrchr(path, '.') - path);
    g_autofree char *expect_path = g_strconcat(base, ".expect", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) parts = NULL;

    if (!g_file_get_contents(expect_path, &text, NULL, NULL))
        g_error("%s needs %s: OK, WARN fragment or CODE fragment", path, expect_path);
    parts = g_strsplit(g_strstrip(text), " ", 2);
    exp->word = g_strdup(parts[0]);
    exp->fragment = g_strdup(parts[1]);
}

static void
check_error(const char *path, const Expect *exp, const GError *error)
{
    VmcError code;

    if (!vmc_error_code_from_string(exp->word, &code) || !exp->fragment)
        g_error("%s: rejected (\"%s\"), but its .expect says %s", path,
                error ? error->message : "", exp->word);
    g_assert_nonnull(error);
    assert_terminal_safe(path, error->message);
    if (error->domain != VMC_ERROR || error->code != (int) code ||
        !strstr(error->message, exp->fragment))
        g_error("%s: got %s \"%s\", expected %s with \"%s\"", path,
                vmc_error_code_to_string(error->code), error->message, exp->word, exp->fragment);
}

static void
test_json(gconstpointer data)
{
    const char *path = data;
    Expect exp = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;

    read_expect(path, &exp);
    cfg = vmc_config_load_file(path, &error);
    if (cfg && vmc_config_validate(cfg, &error)) {
        if (g_strcmp0(exp.word, "OK") != 0)
            g_error("%s: accepted, but its .expect says %s %s", path, exp.word, exp.fragment);
        assert_renders_and_round_trips(path, cfg);
    } else {
        check_error(path, &exp, error);
    }
    g_free(exp.word);
    g_free(exp.fragment);
}

static void
test_xml(gconstpointer data)
{
    const char *path = data;
    Expect exp = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autofree char *xml = NULL;
    g_auto(GStrv) warnings = NULL;
    gsize len = 0;
    gboolean found = FALSE;

    read_expect(path, &exp);
    g_assert_true(g_file_get_contents(path, &xml, &len, NULL));
    cfg = vmc_config_from_domain_xml_data(xml, (gssize) len, &warnings, &error);
    if (!cfg) {
        check_error(path, &exp, error);
    } else {
        g_assert_cmpstr(exp.word, ==, "WARN");
        for (char **w = warnings; *w; w++) {
            assert_terminal_safe(path, *w);
            found = found || strstr(*w, exp.fragment);
        }
        if (!found)
            g_error("%s: no warning holds \"%s\"", path, exp.fragment);
    }
    g_free(exp.word);
    g_free(exp.fragment);
}

/* Too large to keep as files: made here. */
static void
test_oversized(void)
{
    g_autoptr(GString) json = g_string_new("{\"name\":\"big\",\"cmdline\":\"");
    g_autoptr(GString) xml = g_string_new("<domain type='kvm'><name>big</name><description>");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;

    for (int i = 0; i < 1100 * 1024; i++)
        g_string_append_c(json, 'a');
    g_string_append(json, "\"}");
    cfg = vmc_config_load_data(json->str, (gssize) json->len, &error);
    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "at most 1048576"));
    g_clear_error(&error);

    for (int i = 0; i < 4 * 1024 * 1024; i++)
        g_string_append_c(xml, 'a');
    g_string_append(xml, "</description></domain>");
    cfg = vmc_config_from_domain_xml_data(xml->str, (gssize) xml->len, NULL, &error);
    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "at most 4194304 (4 MiB)"));
}

/* Disk paths that are not files: a symlink to a directory, a symlink to
 * a FIFO (which must not block rendering), a dangling symlink. */
static void
test_special_paths(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmc-hostile-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
    g_autofree char *sub = g_build_filename(dir, "sub", NULL);
    const char *targets[] = { sub, fifo, "/nonexistent/target" };
    const char *expect[] = { "neither a file nor a block device", "neither a file nor a block device",
                             "cannot read" };

    g_assert_nonnull(dir);
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(targets); i++) {
        g_autofree char *name = g_strdup_printf("link%zu", i);
        g_autofree char *link = g_build_filename(dir, name, NULL);
        g_autoptr(VmcConfig) cfg = vmc_test_load_golden("initramfs-minimal");
        g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        g_assert_cmpint(symlink(targets[i], link), ==, 0);
        vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
        vmc_config_set_root_disk(cfg, link);
        g_assert_true(vmc_config_validate(cfg, NULL));
        xml = vmc_config_to_domain_xml(cfg, opts, &error);
        g_assert_null(xml);
        g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
        if (!strstr(error->message, expect[i]))
            g_error("root_disk -> %s: \"%s\" lacks \"%s\"", targets[i], error->message,
                    expect[i]);
        assert_terminal_safe(link, error->message);
    }
    vmc_test_rm_rf(dir);
}

/* The values a message may carry, through the one helper. */
static void
test_quote(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "web-1", "'web-1'" },
        { "a'b\\c", "'a\\'b\\\\c'" },
        { "\x1b[31mred", "'\\x1b[31mred'" },
        { "one\ntwo\r", "'one\\x0atwo\\x0d'" },
        { "\x7f", "'\\x7f'" },
        { "c1\xc2\x85\xc2\x9b", "'c1\\u0085\\u009b'" },
        { "\xe2\x80\xae" "fdp.exe", "'\\u202efdp.exe'" },
        { "zw\xe2\x80\x8bj\xe2\x81\xa6", "'zw\\u200bj\\u2066'" },
        { "ls\xe2\x80\xa8ps\xe2\x80\xa9", "'ls\\u2028ps\\u2029'" },
        { "bad\xff\xfeutf8", "'bad\\xff\\xfeutf8'" },
        { "\xef\xbb\xbf" "bom", "'\\ufeffbom'" },
        { "données ядро 🚀", "'données ядро 🚀'" },
    };
    g_autofree char *none = vmc_quote_value(NULL);
    g_autofree char *long_value = g_strnfill(100, 'x');
    g_autofree char *long_quoted = vmc_quote_value(long_value);
    g_autofree char *text = vmc_escape_text("it's \\ fine\n\x1b");

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *q = vmc_quote_value(cases[i].in);
        g_assert_cmpstr(q, ==, cases[i].out);
        assert_terminal_safe(cases[i].out, q);
    }
    g_assert_cmpstr(none, ==, "(none)");
    g_assert_cmpuint(strlen(long_quoted), ==, 1 + 64 + 3 + 1);
    g_assert_true(g_str_has_suffix(long_quoted, "...'"));
    g_assert_cmpstr(text, ==, "it's \\ fine\\x0a\\x1b");
}

static void
corpus_add(GPtrArray *corpus, const char *dir)
{
    g_autoptr(GPtrArray) names = vmc_test_list_dir(dir, ".json");

    for (guint i = 0; i < names->len; i++)
        g_ptr_array_add(corpus, g_build_filename(dir, g_ptr_array_index(names, i), NULL));
}

/* Every config of the project the validator accepts (examples, good
 * configs, goldens, hostile ones marked OK, bad ones that load) renders XML
 * that libvirt's schema accepts. */
static void
test_schema_corpus(void)
{
    g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) goldens = vmc_test_golden_names();
    g_autofree char *good = g_test_build_filename(G_TEST_DIST, "data", "config", "good", NULL);
    g_autofree char *bad = g_test_build_filename(G_TEST_DIST, "data", "config", "bad", NULL);
    g_autofree char *hostile = g_test_build_filename(G_TEST_DIST, "data", "hostile", NULL);
    guint accepted = 0;

    corpus_add(corpus, good);
    corpus_add(corpus, bad);
    corpus_add(corpus, hostile);
    corpus_add(corpus, g_getenv("VMC_EXAMPLES_DIR"));
    for (guint i = 0; i < corpus->len; i++) {
        const char *path = g_ptr_array_index(corpus, i);
        g_autoptr(VmcConfig) cfg = vmc_config_load_file(path, NULL);

        if (cfg && vmc_config_validate(cfg, NULL)) {
            assert_renders_and_round_trips(path, cfg);
            accepted++;
        }
    }
    for (guint i = 0; i < goldens->len; i++) {
        g_autoptr(VmcConfig) cfg = vmc_test_load_golden(g_ptr_array_index(goldens, i));

        if (vmc_config_validate(cfg, NULL)) {
            assert_renders_and_round_trips(g_ptr_array_index(goldens, i), cfg);
            accepted++;
        }
    }
    g_test_message("%u of %u configs accepted, each schema-valid", accepted,
                   corpus->len + goldens->len);
    g_assert_cmpuint(accepted, >=, 40);
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) names = NULL;
    guint n_xml = 0;
    int ret;

    g_test_init(&argc, &argv, NULL);


    dir = g_test_build_filename(G_TEST_DIST, "data", "hostile", NULL);
    names = vmc_test_list_dir(dir, "");
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        gboolean json = g_str_has_suffix(name, ".json");
        char *path;
        g_autofree char *test_path = NULL;

        if (!json && !g_str_has_suffix(name, ".xml"))
            continue;
        n_xml += !json;
        path = g_build_filename(dir, name, NULL);
        g_ptr_array_add(paths, path);
        test_path = g_strdup_printf("/hostile/%s/%s", json ? "json" : "xml", name);
        g_test_add_data_func(test_path, path, json ? test_json : test_xml);
    }
    g_assert_cmpuint(n_xml, >=, 10);
    g_assert_cmpuint(paths->len - n_xml, >=, 30);
    g_test_add_func("/hostile/oversized", test_oversized);
    g_test_add_func("/hostile/special-paths", test_special_paths);
    g_test_add_func("/hostile/quote", test_quote);
    g_test_add_func("/hostile/schema-corpus", test_schema_corpus);

    ret = g_test_run();
    return ret;
}
