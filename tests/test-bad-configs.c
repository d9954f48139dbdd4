/*
 * test-bad-configs.c: every file in data/config/bad/ is rejected as its
 * NAME.expect beside it says; every file in data/config/good/ and examples/ is
 * accepted. Adding a case is adding
 * a file (and its one-line .expect).
 */
#include "vmc-test.h"

#include <string.h>

static void
test_bad_file(gconstpointer data)
{
    const char *path = data;
    VmcTestExpectation exp = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;

    if (!vmc_test_read_expectation(path, &exp))
        g_error("%s needs a .expect file beside it: CODE message fragment", path);

    cfg = vmc_config_load_file(path, &error);
    if (cfg)
        g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_nonnull(error);
    g_assert_true(error->domain == VMC_ERROR);
    if (error->code != (int) exp.code || !strstr(error->message, exp.fragment))
        g_error("%s: got %s \"%s\", expected %s with \"%s\"", path,
                vmc_error_code_to_string(error->code), error->message,
                vmc_error_code_to_string(exp.code), exp.fragment);
    vmc_test_expectation_clear(&exp);
}

static void
test_good_file(gconstpointer data)
{
    const char *path = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_load_file(path, &error);

    g_assert_no_error(error);
    g_assert_true(vmc_config_validate(cfg, &error));
    g_assert_no_error(error);
}

static void
add_dir(const char *dir, const char *prefix, GTestDataFunc func, GPtrArray *keep)
{
    g_autoptr(GPtrArray) names = vmc_test_list_dir(dir, ".json");

    g_assert_cmpuint(names->len, >, 0);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        char *path = g_build_filename(dir, name, NULL);
        g_autofree char *test_path = g_strdup_printf("%s/%s", prefix, name);

        g_ptr_array_add(keep, path);
        g_test_add_data_func(test_path, path, func);
    }
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *bad = NULL;
    g_autofree char *good = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);

    bad = g_test_build_filename(G_TEST_DIST, "data", "config", "bad", NULL);
    good = g_test_build_filename(G_TEST_DIST, "data", "config", "good", NULL);
    add_dir(bad, "/config/bad", test_bad_file, paths);
    add_dir(good, "/config/good", test_good_file, paths);
    add_dir(g_getenv("VMC_EXAMPLES_DIR"), "/config/examples", test_good_file, paths);
    ret = g_test_run();
    return ret;
}
