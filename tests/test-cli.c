/*
 * test-cli.c: virt-vmconfig as a black box: exit status, stdout, stderr
 */
#include "vmc-test.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


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

/* libvirt's test driver has no guest: a serial log at the config's path
 * that says VMRS_READY (what an earlier run left there) makes no VM
 * ready; `up --wait-ready` times out saying so (status 1). */
static void
test_test_driver_never_ready_from_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmc-cli-ready-XXXXXX", NULL);
    g_autofree char *kernel = g_build_filename(dir, "vmlinuz", NULL);
    g_autofree char *log = g_build_filename(dir, "hello.serial", NULL);
    g_autofree char *config = g_build_filename(dir, "hello.json", NULL);
    g_autofree char *json = g_strdup_printf("{\"name\": \"hello\", \"kernel\": \"%s\", "
                                            "\"initramfs\": \"%s\", "
                                            "\"serial_log\": \"%s\", \"cpus\": 1, "
                                            "\"memory_mb\": 128}", kernel, kernel, log);
    g_auto(VmcTestRun) up = { 0 };

    g_assert_true(g_file_set_contents(kernel, "", 0, NULL));
    g_assert_true(g_file_set_contents(log, "VMRS_READY 10.0.2.15\n", -1, NULL));
    g_assert_true(g_file_set_contents(config, json, -1, NULL));
    run_cli(&up, "-c", "test:///default", "up", "--wait-ready=2", config, NULL);
    if (up.status != 1)
        g_error("up: status %d: %s%s", up.status, up.out, up.err);
    g_assert_null(strstr(up.out, "is ready at"));
    g_assert_nonnull(strstr(up.err, "VM 'hello' was not ready within 2000 ms"));
    g_assert_nonnull(strstr(up.err, "test driver"));
    vmc_test_rm_rf(dir);
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

/* @text as one JSON document whose root is an object with "version": 1. */
static JsonObject *
parse_json_doc(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root;

    json_parser_load_from_data(parser, text, -1, &error);
    g_assert_no_error(error);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
    root = json_object_ref(json_node_get_object(json_parser_get_root(parser)));
    g_assert_cmpint(json_object_get_int_member(root, "version"), ==, 1);
    return root;
}

/* stderr is exactly one line, a JSON error object; returns its "error". */
static JsonObject *
parse_json_error(const VmcTestRun *run, const char *code)
{
    g_autoptr(JsonObject) root = NULL;
    JsonObject *err;

    /* One line: its first newline is its last character. */
    g_assert_true(g_str_has_suffix(run->err, "\n"));
    g_assert_true(strchr(run->err, '\n') + 1 == run->err + strlen(run->err));
    root = parse_json_doc(run->err);
    err = json_object_get_object_member(root, "error");
    g_assert_nonnull(err);
    g_assert_cmpstr(json_object_get_string_member(err, "code"), ==, code);
    g_assert_true(strlen(json_object_get_string_member(err, "message")) > 0);
    return json_object_ref(err);
}

static void
test_json_errors(void)
{
    g_auto(VmcTestRun) missing = { 0 };
    g_auto(VmcTestRun) missing_text = { 0 };
    g_auto(VmcTestRun) usage = { 0 };
    g_auto(VmcTestRun) bad_option = { 0 };
    g_auto(VmcTestRun) bad_config = { 0 };
    g_autoptr(JsonObject) err = NULL;
    g_autofree char *bad = g_test_build_filename(G_TEST_DIST, "data", "config", "bad",
                                                 "rosetta.json", NULL);

    /* libvirt's test driver: no daemon needed. */
    run_cli(&missing, "-c", "test:///default", "state", "no-such-vm", "--json", NULL);
    g_assert_cmpint(missing.status, ==, 4);
    g_assert_cmpstr(missing.out, ==, "");
    err = parse_json_error(&missing, "NOT_FOUND");
    g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), "no-such-vm"));
    /* VIR_ERR_NO_DOMAIN of VIR_FROM_TEST */
    g_assert_cmpint(json_object_get_int_member(err, "libvirt_code"), ==, 42);
    g_assert_cmpint(json_object_get_int_member(err, "libvirt_domain"), ==, 12);
    g_clear_pointer(&err, json_object_unref);
    /* Without --json, the same error is a line of text. */
    run_cli(&missing_text, "-c", "test:///default", "state", "no-such-vm", NULL);
    g_assert_cmpint(missing_text.status, ==, 4);
    g_assert_true(g_str_has_prefix(missing_text.err, "virt-vmconfig: VM 'no-such-vm' not found"));

    /* Usage errors, found before or while the options are parsed. */
    run_cli(&usage, "state", "--json", NULL);
    g_assert_cmpint(usage.status, ==, 2);
    err = parse_json_error(&usage, "USAGE");
    g_assert_true(json_object_get_null_member(err, "libvirt_code"));
    g_clear_pointer(&err, json_object_unref);
    run_cli(&bad_option, "list", "--frob", "--json", NULL);
    g_assert_cmpint(bad_option.status, ==, 2);
    err = parse_json_error(&bad_option, "USAGE");
    g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), "--frob"));
    g_clear_pointer(&err, json_object_unref);

    run_cli(&bad_config, "xml", "--json", bad, NULL);
    g_assert_cmpint(bad_config.status, ==, 3);
    g_assert_cmpstr(bad_config.out, ==, "");
    err = parse_json_error(&bad_config, "INVALID_CONFIG");
    g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), "rosetta"));
}

static void
test_json_output(void)
{
    g_autofree char *example = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "full-vm.json", NULL);
    g_autofree char *foreign = g_test_build_filename(G_TEST_DIST, "data", "xml", "foreign",
                                                     "disk-boot-dumpxml.xml", NULL);
    g_auto(VmcTestRun) list = { 0 };
    g_auto(VmcTestRun) ours = { 0 };
    g_auto(VmcTestRun) validate = { 0 };
    g_auto(VmcTestRun) xml = { 0 };
    g_auto(VmcTestRun) import = { 0 };
    g_autoptr(JsonObject) doc = NULL;
    JsonArray *items;
    JsonObject *item;

    run_cli(&list, "-c", "test:///default", "list", "--all", "--json", NULL);
    g_assert_cmpint(list.status, ==, 0);
    doc = parse_json_doc(list.out);
    items = json_object_get_array_member(doc, "vms");
    g_assert_cmpuint(json_array_get_length(items), ==, 1);
    item = json_array_get_object_element(items, 0);
    g_assert_cmpstr(json_object_get_string_member(item, "name"), ==, "test");
    g_assert_true(json_object_get_boolean_member(item, "foreign"));
    g_assert_cmpstr(json_object_get_string_member(item, "state"), ==, "running");
    g_assert_cmpint(json_object_get_int_member(item, "libvirt_state"), ==, 1);
    g_clear_pointer(&doc, json_object_unref);
    /* None of ours there: an empty list, still a document. */
    run_cli(&ours, "-c", "test:///default", "list", "--json", NULL);
    doc = parse_json_doc(ours.out);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(doc, "vms")), ==, 0);
    g_clear_pointer(&doc, json_object_unref);

    run_cli(&validate, "validate", "--json", example, "/nonexistent.json", NULL);
    g_assert_cmpint(validate.status, ==, 1);
    g_assert_cmpstr(validate.err, ==, "");
    doc = parse_json_doc(validate.out);
    items = json_object_get_array_member(doc, "files");
    g_assert_cmpuint(json_array_get_length(items), ==, 2);
    item = json_array_get_object_element(items, 0);
    g_assert_cmpstr(json_object_get_string_member(item, "file"), ==, example);
    g_assert_true(json_object_get_boolean_member(item, "ok"));
    g_assert_true(json_object_get_null_member(item, "error"));
    item = json_array_get_object_element(items, 1);
    g_assert_false(json_object_get_boolean_member(item, "ok"));
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(item, "error"),
                                                  "code"), ==, "IO");
    g_clear_pointer(&doc, json_object_unref);

    run_cli(&xml, "--accel", "qemu", "xml", "--remote-paths", "--json", example, NULL);
    g_assert_cmpint(xml.status, ==, 0);
    doc = parse_json_doc(xml.out);
    g_assert_cmpstr(json_object_get_string_member(doc, "name"), ==, "web-1");
    g_assert_true(g_str_has_prefix(json_object_get_string_member(doc, "xml"),
                                   "<domain type=\"qemu\">"));
    g_clear_pointer(&doc, json_object_unref);

    /* Warnings go into the document, not to stderr. */
    run_cli(&import, "import", "--json", foreign, NULL);
    g_assert_cmpint(import.status, ==, 0);
    g_assert_cmpstr(import.err, ==, "");
    doc = parse_json_doc(import.out);
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(doc, "config"),
                                                  "name"), ==, "legacy-db");
    items = json_object_get_array_member(doc, "warnings");
    g_assert_cmpuint(json_array_get_length(items), >, 1);
    {
        gboolean spice = FALSE;

        for (guint i = 0; i < json_array_get_length(items); i++)
            spice |= strcmp(json_array_get_string_element(items, i),
                            "device <graphics type='spice'> has no VmcConfig equivalent; "
                            "dropped") == 0;
        g_assert_true(spice);
    }
}

/* Every command that prints data offers --json; the streams do not. */
static void
test_json_everywhere(void)
{
    static const char *const with_json[] = {
        "validate", "xml", "import", "up", "wait", "down", "kill", "pause", "resume", "state",
        "list", "export", "gc", "adopt", "watch", "delete", "check-host", "console",
    };
    static const char *const streams[] = { "run" };

    for (gsize i = 0; i < G_N_ELEMENTS(with_json); i++) {
        g_auto(VmcTestRun) help = { 0 };

        run_cli(&help, with_json[i], "--help", NULL);
        g_assert_cmpint(help.status, ==, 0);
        if (!strstr(help.out, "  --json"))
            g_error("'%s --help' offers no --json", with_json[i]);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(streams); i++) {
        g_auto(VmcTestRun) help = { 0 };

        run_cli(&help, streams[i], "--help", NULL);
        g_assert_cmpint(help.status, ==, 0);
        g_assert_null(strstr(help.out, "--json"));
    }
}

/* A host of libvirt's test driver (in the process of each command) with
 * one VM of ours, running: web-1 of examples/full-vm.json, its serial log
 * @serial_log. Returns the URI; the node file is in @dir. */
static char *
console_host(const char *dir, const char *serial_log)
{
    g_autofree char *example = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "full-vm.json", NULL);
    g_autofree char *node = g_build_filename(dir, "node.xml", NULL);
    g_autofree char *text = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_load_file(example, NULL);
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;

    g_assert_nonnull(cfg);
    vmc_config_set_serial_log(cfg, serial_log);
    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);
    xml = vmc_config_to_domain_xml(cfg, opts, &error);
    g_assert_no_error(error);
    text = g_strdup_printf("<node>\n%s</node>\n", xml);
    g_assert_true(g_file_set_contents(node, text, -1, NULL));
    return g_strdup_printf("test://%s", node);
}

static void
test_console_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmc-cli-XXXXXX", NULL);
    g_autofree char *missing_log = g_build_filename(dir, "no-such-dir", "web-1.serial", NULL);
    g_autofree char *uri = console_host(dir, missing_log);
    g_auto(VmcTestRun) none = { 0 };
    g_auto(VmcTestRun) bad_option = { 0 };
    g_auto(VmcTestRun) unknown = { 0 };
    g_auto(VmcTestRun) foreign = { 0 };
    g_auto(VmcTestRun) combo = { 0 };
    g_auto(VmcTestRun) ours = { 0 };
    g_auto(VmcTestRun) ours_json = { 0 };
    g_autoptr(JsonObject) err = NULL;

    run_cli(&none, "console", NULL);
    g_assert_cmpint(none.status, ==, 2);
    g_assert_nonnull(strstr(none.err, "console: name one NAME"));
    run_cli(&bad_option, "console", "--frob", "web-1", NULL);
    g_assert_cmpint(bad_option.status, ==, 2);
    g_assert_nonnull(strstr(bad_option.err, "--frob"));

    run_cli(&unknown, "-c", "test:///default", "console", "no-such-vm", NULL);
    g_assert_cmpint(unknown.status, ==, 4);
    g_assert_true(g_str_has_prefix(unknown.err, "virt-vmconfig: VM 'no-such-vm' not found"));
    run_cli(&foreign, "-c", "test:///default", "console", "test", "--follow", NULL);
    g_assert_cmpint(foreign.status, ==, 4);
    g_assert_nonnull(strstr(foreign.err, "VM 'test' not found"));
    /* --since-boot and --json go together (the test driver is local). */
    run_cli(&combo, "-c", "test:///default", "console", "--since-boot", "--json", "--force",
            "no-such-vm", NULL);
    g_assert_cmpint(combo.status, ==, 4);
    g_assert_cmpstr(combo.out, ==, "");
    err = parse_json_error(&combo, "NOT_FOUND");
    g_assert_nonnull(strstr(json_object_get_string_member(err, "message"), "no-such-vm"));

    /* A VM of ours that the test driver runs: it has no console, and its
     * serial log cannot be read. The command says so, naming the VM, and
     * does not hang. */
    vmc_test_spawn(&ours, FALSE, 10,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", uri, "console", "web-1",
                                           NULL });
    g_assert_cmpint(ours.status, !=, 0);
    g_assert_cmpstr(ours.out, ==, "");
    g_assert_nonnull(strstr(ours.err, "web-1"));
    vmc_test_spawn(&ours_json, FALSE, 10,
                   (const char *const[]) { g_getenv("VMC_CLI"), "-c", uri, "console", "web-1",
                                           "--json", "--since-boot", NULL });
    g_assert_cmpint(ours_json.status, !=, 0);
    g_assert_cmpstr(ours_json.out, ==, "");
    {
        g_autoptr(JsonObject) root = parse_json_doc(ours_json.err);
        JsonObject *error = json_object_get_object_member(root, "error");

        g_assert_nonnull(error);
        g_assert_nonnull(strstr(json_object_get_string_member(error, "message"), "web-1"));
    }
    vmc_test_rm_rf(dir);
}

/* Reads @fds into @bufs until stdout has @want_out and stderr @want_err
 * (NULL: until both end), failing the test past @deadline. */
static void
pump(int fds[2], GString *bufs[2], const char *want_out, const char *want_err, gint64 deadline)
{
    for (;;) {
        GPollFD poll_fds[2] = { { fds[0], G_IO_IN | G_IO_HUP | G_IO_ERR, 0 },
                                { fds[1], G_IO_IN | G_IO_HUP | G_IO_ERR, 0 } };
        gint64 left = deadline - g_get_monotonic_time();

        if (want_out && strstr(bufs[0]->str, want_out) && strstr(bufs[1]->str, want_err))
            return;
        if (!want_out && fds[0] < 0 && fds[1] < 0)
            return;
        if (left <= 0)
            g_error("console: no '%s' in time; stdout:\n%s\nstderr:\n%s",
                    want_out ? want_out : "(end)", bufs[0]->str, bufs[1]->str);
        if (g_poll(poll_fds, 2, (gint) MAX(left / 1000, 1)) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (poll_fds[i].revents && !vmc_test_drain(fds[i], bufs[i])) {
                if (want_out)
                    g_error("console ended early; stdout:\n%s\nstderr:\n%s", bufs[0]->str,
                            bufs[1]->str);
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
}

/* Output only (no terminal here), --json and --since-boot: the log so far,
 * then what the VM prints, one object a line; SIGTERM leaves (status 0).
 * The test driver has no console: this is the serial log followed
 * instead. */
static void
test_console_follow(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmc-cli-XXXXXX", NULL);
    g_autofree char *log = g_build_filename(dir, "web-1.serial", NULL);
    g_autofree char *uri = console_host(dir, log);
    const char *argv[] = { g_getenv("VMC_CLI"), "-c", uri, "console", "web-1", "--json",
                           "--since-boot", NULL };
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) err = g_string_new(NULL);
    g_autoptr(GString) text = g_string_new(NULL);
    GString *bufs[2] = { out, err };
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lines = NULL;
    int fds[2] = { -1, -1 };
    int wait_status;
    FILE *f;
    GPid pid;

    g_assert_true(g_file_set_contents(log, "booted \xc3", -1, NULL));
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           vmc_test_die_with_parent, NULL, &pid, NULL, &fds[0],
                                           &fds[1], &error));
    g_assert_no_error(error);
    pump(fds, bufs, "booted", "console of VM 'web-1' follows", deadline);
    /* The rest of a character cut at the end of a chunk, and a byte that
     * is no UTF-8. */
    f = fopen(log, "ae");
    g_assert_nonnull(f);
    g_assert_cmpint(fputs("\xa9 later \xff\n", f), >=, 0);
    g_assert_cmpint(fclose(f), ==, 0);
    pump(fds, bufs, "later", "", deadline);
    kill(pid, SIGTERM);
    pump(fds, bufs, NULL, NULL, deadline);
    wait_status = vmc_test_reap(pid, deadline, "console");
    g_assert_true(WIFEXITED(wait_status));
    g_assert_cmpint(WEXITSTATUS(wait_status), ==, 0);

    lines = g_strsplit(g_strchomp(out->str), "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonObject) doc = parse_json_doc(lines[i]);

        g_assert_cmpstr(json_object_get_string_member(doc, "name"), ==, "web-1");
        g_string_append(text, json_object_get_string_member(doc, "output"));
    }
    g_assert_cmpstr(text->str, ==, "booted \xc3\xa9 later \xef\xbf\xbd\n");
    vmc_test_rm_rf(dir);
}

/* --forward on xml, up and run: the forwards join the user NIC; a bad
 * spec, a config without a user NIC, slirp and a host without passt are
 * refused with status 3 and the reason. */
static void
test_forward(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmc-cli-XXXXXX", NULL);
    g_autofree char *kernel = g_build_filename(dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(dir, "initrd.img", NULL);
    g_autofree char *user = g_build_filename(dir, "user.json", NULL);
    g_autofree char *bridge = g_build_filename(dir, "bridge.json", NULL);
    g_autofree char *user_json = NULL;
    g_autofree char *bridge_json = NULL;
    g_auto(VmcTestRun) passt = { 0 };
    g_auto(VmcTestRun) slirp = { 0 };
    g_auto(VmcTestRun) bad = { 0 };
    g_auto(VmcTestRun) clash = { 0 };
    g_auto(VmcTestRun) none = { 0 };
    g_auto(VmcTestRun) up = { 0 };
    g_auto(VmcTestRun) run = { 0 };

    g_assert_true(g_file_set_contents(kernel, "k", -1, NULL));
    g_assert_true(g_file_set_contents(initrd, "i", -1, NULL));
    user_json = g_strdup_printf(
        "{\"name\": \"fwd\", \"kernel\": \"%s\", \"initramfs\": \"%s\", \"cpus\": 1,"
        " \"memory_mb\": 64, \"serial_log\": \"%s/fwd.serial\", \"networks\": ["
        " {\"type\": \"network\", \"network\": \"default\"},"
        " {\"type\": \"user\", \"forwards\": [{\"host_port\": 8080, \"guest_port\": 80}]}]}",
        kernel, initrd, dir);
    g_assert_true(g_file_set_contents(user, user_json, -1, NULL));
    bridge_json = g_strdup_printf(
        "{\"name\": \"fwd\", \"kernel\": \"%s\", \"initramfs\": \"%s\", \"cpus\": 1,"
        " \"memory_mb\": 64, \"serial_log\": \"%s/fwd.serial\","
        " \"networks\": [{\"type\": \"bridge\", \"bridge\": \"br0\"}]}",
        kernel, initrd, dir);
    g_assert_true(g_file_set_contents(bridge, bridge_json, -1, NULL));

    /* The spec's forwards follow the config's own on its first user NIC. */
    run_cli(&passt, "--accel", "qemu", "xml", "--remote-paths", "--user-backend", "passt",
            "--forward", "127.0.0.1:2222:22", "--forward", "[::1]:5353:53/udp", user, NULL);
    g_assert_cmpint(passt.status, ==, 0);
    g_assert_nonnull(strstr(passt.out, "<backend type=\"passt\"/>"));
    g_assert_nonnull(strstr(passt.out, "<range start=\"8080\" to=\"80\"/>"));
    g_assert_nonnull(strstr(strstr(passt.out, "start=\"8080\""),
                            "<portForward proto=\"tcp\" address=\"127.0.0.1\">"));
    g_assert_nonnull(strstr(passt.out, "<portForward proto=\"udp\" address=\"::1\">"));
    g_assert_nonnull(strstr(passt.out, "<range start=\"5353\" to=\"53\"/>"));

    run_cli(&slirp, "--accel", "qemu", "xml", "--remote-paths", user, NULL);
    g_assert_cmpint(slirp.status, ==, 3);
    g_assert_nonnull(strstr(slirp.err, "networks[1].forwards need the passt backend"));
    g_assert_cmpstr(slirp.out, ==, "");

    run_cli(&bad, "xml", "--remote-paths", "--forward", "2222", user, NULL);
    g_assert_cmpint(bad.status, ==, 3);
    g_assert_nonnull(strstr(bad.err, "VM 'fwd': --forward: forward '2222' is not"));

    run_cli(&clash, "xml", "--remote-paths", "--user-backend", "passt", "--forward", "8080:81",
            user, NULL);
    g_assert_cmpint(clash.status, ==, 3);
    g_assert_nonnull(strstr(clash.err, "host port 8080/tcp is already forwarded"));

    run_cli(&none, "xml", "--remote-paths", "--forward", "2222:22", bridge, NULL);
    g_assert_cmpint(none.status, ==, 3);
    g_assert_nonnull(strstr(none.err, "--forward needs a 'user' NIC in the config"));

    /* libvirt's test driver runs no passt: refused, nothing defined. */
    run_cli(&up, "-c", "test:///default", "up", "--forward", "2222:22", bridge, NULL);
    g_assert_cmpint(up.status, ==, 3);
    g_assert_nonnull(strstr(up.err, "--forward needs a 'user' NIC"));
    run_cli(&run, "-c", "test:///default", "run", user, NULL);
    g_assert_cmpint(run.status, ==, 3);
    g_assert_nonnull(strstr(run.err, "VM 'fwd': networks[1].forwards: the host of test:///default "
                                     "cannot forward ports to a user NIC"));
    g_assert_nonnull(strstr(run.err, "Nothing was defined"));
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
    g_test_add_func("/cli/forward", test_forward);
    g_test_add_func("/cli/json-errors", test_json_errors);
    g_test_add_func("/cli/json-output", test_json_output);
    g_test_add_func("/cli/json-everywhere", test_json_everywhere);
    g_test_add_func("/cli/console-errors", test_console_errors);
    g_test_add_func("/cli/console-follow", test_console_follow);
    g_test_add_func("/cli/test-driver-never-ready-from-file",
                    test_test_driver_never_ready_from_file);
    return g_test_run();
}
