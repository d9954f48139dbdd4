/*
 * test-cli.c: virt-vmconfig as a black box: exit status, stdout, stderr
 */
#include "vmc-test.h"

#include <string.h>


static void
run_cli(VmcTestRun *run, const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int wait_status;
    va_list args;

    g_ptr_array_add(argv, (gpointer) g_getenv("VMC_CLI"));
    va_start(args, first);
    for (const char *a = first; a; a = va_arg(args, const char *))
        g_ptr_array_add(argv, (gpointer) a);
    va_end(args);
    g_ptr_array_add(argv, NULL);

    g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &run->out, &run->err, &wait_status, &error));
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(wait_status));
    run->status = WEXITSTATUS(wait_status);
}

static void
test_help(void)
{
    g_auto(VmcTestRun) run = { 0 };

    run_cli(&run, "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "validate FILE..."));
    g_assert_nonnull(strstr(run.out, "Exit status:"));
    g_assert_nonnull(strstr(run.out, "3  invalid VM config"));
    g_assert_nonnull(strstr(run.out, "--connect"));
}

static void
test_command_help(void)
{
    g_auto(VmcTestRun) run = { 0 };

    run_cli(&run, "validate", "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "validate FILE..."));
    g_assert_nonnull(strstr(run.out, "FILE: ok"));
}

static void
test_version(void)
{
    g_auto(VmcTestRun) run = { 0 };

    run_cli(&run, "--version", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_true(g_str_has_prefix(run.out, "virt-vmconfig "));
}

static void
test_usage_errors(void)
{
    g_auto(VmcTestRun) none = { 0 };
    g_auto(VmcTestRun) unknown = { 0 };
    g_auto(VmcTestRun) no_files = { 0 };
    g_auto(VmcTestRun) bad_option = { 0 };
    g_auto(VmcTestRun) bad_accel = { 0 };

    /* Each with status 2 and its own reason. */
    run_cli(&none, NULL);
    g_assert_cmpint(none.status, ==, 2);
    g_assert_nonnull(strstr(none.out, "Commands:"));
    run_cli(&unknown, "frobnicate", NULL);
    g_assert_cmpint(unknown.status, ==, 2);
    g_assert_nonnull(strstr(unknown.err, "unknown command 'frobnicate'"));
    run_cli(&no_files, "validate", NULL);
    g_assert_cmpint(no_files.status, ==, 2);
    g_assert_nonnull(strstr(no_files.err, "validate: name at least one config file"));
    run_cli(&bad_option, "validate", "--frob", "x.json", NULL);
    g_assert_cmpint(bad_option.status, ==, 2);
    g_assert_nonnull(strstr(bad_option.err, "--frob"));
    run_cli(&bad_accel, "--accel", "xen", "validate", "x.json", NULL);
    g_assert_cmpint(bad_accel.status, ==, 2);
    g_assert_nonnull(strstr(bad_accel.err, "--accel must be 'kvm' or 'qemu', not 'xen'"));
}

static void
test_validate_examples(void)
{
    g_autoptr(GPtrArray) names = vmc_test_list_dir(g_getenv("VMC_EXAMPLES_DIR"), ".json");

    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"),
                                                 (char *) g_ptr_array_index(names, i), NULL);
        g_autofree char *expected = g_strdup_printf("%s: ok\n", path);
        g_auto(VmcTestRun) run = { 0 };

        run_cli(&run, "validate", path, NULL);
        g_assert_cmpint(run.status, ==, 0);
        g_assert_cmpstr(run.out, ==, expected);
        g_assert_cmpstr(run.err, ==, "");
    }
}

static void
test_validate_bad_files(void)
{
    g_autofree char *dir = g_test_build_filename(G_TEST_DIST, "data", "config", "bad", NULL);
    g_autoptr(GPtrArray) names = vmc_test_list_dir(dir, ".json");

    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, (char *) g_ptr_array_index(names, i), NULL);
        VmcTestExpectation exp = { 0 };
        g_auto(VmcTestRun) run = { 0 };

        g_assert_true(vmc_test_read_expectation(path, &exp));
        run_cli(&run, "validate", path, NULL);
        if (run.status != 3 || !strstr(run.err, exp.fragment) || !g_str_has_prefix(run.err, path))
            g_error("%s: exit %d, stderr \"%s\"; expected 3 and \"%s\"", path, run.status, run.err,
                    exp.fragment);
        g_assert_cmpstr(run.out, ==, "");
        vmc_test_expectation_clear(&exp);
    }
}

static void
test_validate_mixed(void)
{
    g_autofree char *good = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "full-vm.json", NULL);
    g_auto(VmcTestRun) run = { 0 };

    /* Every file is checked; the status is the first failure's. */
    run_cli(&run, "validate", "/nonexistent.json", good, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_nonnull(strstr(run.out, "full-vm.json: ok"));
    g_assert_nonnull(strstr(run.err, "/nonexistent.json"));
}

static void
test_xml_and_import(void)
{
    g_autofree char *example = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "full-vm.json", NULL);
    g_autofree char *bad = g_test_build_filename(G_TEST_DIST, "data", "config", "bad",
                                                 "rosetta.json", NULL);
    g_autofree char *foreign = g_test_build_filename(G_TEST_DIST, "data", "xml", "foreign",
                                                     "disk-boot-dumpxml.xml", NULL);
    g_autofree char *dir = g_dir_make_tmp("vmc-cli-XXXXXX", NULL);
    g_autofree char *xml_path = g_build_filename(dir, "web-1.xml", NULL);
    g_auto(VmcTestRun) xml = { 0 };
    g_auto(VmcTestRun) kvm = { 0 };
    g_auto(VmcTestRun) probed = { 0 };
    g_auto(VmcTestRun) local = { 0 };
    g_auto(VmcTestRun) invalid = { 0 };
    g_auto(VmcTestRun) back = { 0 };
    g_auto(VmcTestRun) other = { 0 };
    g_autoptr(VmcConfig) original = NULL;
    g_autoptr(VmcConfig) imported = NULL;

    run_cli(&xml, "--accel", "qemu", "xml", "--remote-paths", example, NULL);
    g_assert_cmpint(xml.status, ==, 0);
    g_assert_true(g_str_has_prefix(xml.out, "<domain type=\"qemu\">"));
    run_cli(&kvm, "--accel", "kvm", "xml", "--remote-paths", example, NULL);
    g_assert_true(g_str_has_prefix(kvm.out, "<domain type=\"kvm\">"));
    /* Without --accel, kvm only where a probe vCPU really runs here. */
    run_cli(&probed, "xml", "--remote-paths", example, NULL);
    g_assert_cmpint(probed.status, ==, 0);
    g_assert_true(g_str_has_prefix(probed.out, vmc_host_kvm_runs(NULL) ? "<domain type=\"kvm\">"
                                                                       : "<domain type=\"qemu\">"));

    /* On this host the data disk of the example does not exist. */
    run_cli(&local, "xml", example, NULL);
    g_assert_cmpint(local.status, ==, 3);
    g_assert_nonnull(strstr(local.err, "/var/lib/vms/web-1-data.qcow2"));
    run_cli(&invalid, "xml", bad, NULL);
    g_assert_cmpint(invalid.status, ==, 3);
    g_assert_nonnull(strstr(invalid.err, "rosetta is true, but Rosetta is Apple's"));

    /* xml then import gives the config back. */
    g_assert_true(g_file_set_contents(xml_path, xml.out, -1, NULL));
    run_cli(&back, "import", xml_path, NULL);
    g_assert_cmpint(back.status, ==, 0);
    g_assert_cmpstr(back.err, ==, "");
    original = vmc_config_load_file(example, NULL);
    imported = vmc_config_load_data(back.out, -1, NULL);
    g_assert_true(vmc_config_equal(original, imported));

    /* A foreign domain imports with warnings on stderr. */
    run_cli(&other, "import", foreign, NULL);
    g_assert_cmpint(other.status, ==, 0);
    g_assert_nonnull(strstr(other.err, "warning: device <graphics type='spice'> has no VmcConfig"));
    g_assert_nonnull(strstr(other.out, "\"name\" : \"legacy-db\""));

    vmc_test_rm_rf(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/cli/help", test_help);
    g_test_add_func("/cli/command-help", test_command_help);
    g_test_add_func("/cli/version", test_version);
    g_test_add_func("/cli/usage-errors", test_usage_errors);
    g_test_add_func("/cli/validate-examples", test_validate_examples);
    g_test_add_func("/cli/validate-bad-files", test_validate_bad_files);
    g_test_add_func("/cli/validate-mixed", test_validate_mixed);
    g_test_add_func("/cli/xml-and-import", test_xml_and_import);
    return g_test_run();
}
