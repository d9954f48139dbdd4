/*
 * test-json.c: the JSON form: every field round trips, errors name the key
 */
#include "vmc-private.h"

#include <glib/gstdio.h>
#include <string.h>

static VmcConfig *
full_config(void)
{
    static const guint8 id[16] = { 0x4c, 0x4c, 0x45, 0x44, 0x00, 0x32, 0x35, 0x10,
                                   0x80, 0x51, 0xb4, 0xc0, 0x4f, 0x4e, 0x36, 0x32 };
    VmcConfig *cfg = vmc_config_new("web-1");

    vmc_config_set_namespace(cfg, "shop");
    vmc_config_set_kernel(cfg, "/vms/vmlinuz");
    vmc_config_set_initramfs(cfg, "/vms/initrd.img");
    vmc_config_set_root_disk(cfg, "/vms/root.qcow2");
    vmc_config_set_data_disk(cfg, "/vms/data.img");
    vmc_config_set_seed_iso(cfg, "/vms/seed.iso");
    vmc_config_set_cpus(cfg, 4);
    vmc_config_set_memory_mb(cfg, 2048);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_TAP, "tap0", "52:54:00:AA:BB:CC"));
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_BRIDGE, "br0", NULL));
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_NETWORK, "default", "52:54:00:00:00:01"));
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL, NULL));
    {
        g_autoptr(VmcPortForward) ssh = vmc_port_forward_new(VMC_FORWARD_TCP, "127.0.0.1", 2222, 22);
        g_autoptr(VmcPortForward) dns = vmc_port_forward_new(VMC_FORWARD_UDP, NULL, 5353, 53);
        const VmcPortForward *forwards[] = { ssh, dns };

        vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(
                                        VMC_NETWORK_USER, NULL, "52:54:00:00:00:02", forwards, 2));
    }
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new("/srv/config", "vm-config", TRUE));
    vmc_config_add_shared_dir(cfg, vmc_shared_dir_new("/srv/data", "data", FALSE));
    vmc_config_set_serial_log(cfg, "/var/log/vms/web-1.serial");
    vmc_config_set_cmdline(cfg, "console=ttyS0 quiet \"quoted\" <x> & é");
    vmc_config_set_netns(cfg, "blue");
    vmc_config_set_vsock(cfg, TRUE);
    vmc_config_set_machine_id(cfg, id, sizeof(id));
    vmc_config_set_efi_variable_store(cfg, "/vms/web-1_VARS.fd");
    vmc_config_set_rosetta(cfg, FALSE);
    return cfg;
}

static void
test_round_trip_every_field(void)
{
    g_autoptr(VmcConfig) cfg = full_config();
    g_autoptr(VmcConfig) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *json = vmc_config_to_json(cfg);
    g_autofree char *again = NULL;

    back = vmc_config_load_data(json, -1, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_config_equal(cfg, back));
    again = vmc_config_to_json(back);
    g_assert_cmpstr(json, ==, again);

    /* Every one of the 18 fields is written by name. */
    g_assert_cmpuint(vmc_config_n_fields, ==, 18);
    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        g_autofree char *key = g_strdup_printf("\"%s\" :", vmc_config_fields[i].name);
        g_assert_nonnull(strstr(json, key));
    }
    g_assert_nonnull(strstr(json, "\"machine_id\" : \"4c4c4544-0032-3510-8051-b4c04f4e3632\""));
    g_assert_nonnull(strstr(json, "\"mac\" : \"52:54:00:aa:bb:cc\""));
    g_assert_cmpuint(vmc_network_attachment_get_n_forwards(vmc_config_get_network(back, 4)), ==, 2);
    {
        const VmcPortForward *dns = vmc_network_attachment_get_forward(vmc_config_get_network(back, 4), 1);

        g_assert_cmpint(vmc_port_forward_get_proto(dns), ==, VMC_FORWARD_UDP);
        g_assert_null(vmc_port_forward_get_host_address(dns));
        g_assert_cmpuint(vmc_port_forward_get_host_port(dns), ==, 5353);
        g_assert_cmpuint(vmc_port_forward_get_guest_port(dns), ==, 53);
    }
}

/* The JSON form of forwards, as DESIGN.md gives it: proto and
 * host_address may be left out, and a NIC without forwards writes none. */
static void
test_forwards_json(void)
{
    static const char json[] =
        "{\"name\": \"f\", \"kernel\": \"/k\", \"initramfs\": \"/i\", \"serial_log\": \"/s\", \"cpus\": 1, \"memory_mb\": 64, \"networks\": ["
        " {\"type\": \"user\", \"forwards\": [{\"host_port\": 8080, \"guest_port\": 80},"
        "   {\"proto\": \"udp\", \"host_address\": \"::1\", \"host_port\": 5353, \"guest_port\": 53}]},"
        " {\"type\": \"user\", \"forwards\": null}, {\"type\": \"user\", \"forwards\": []}]}";
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_load_data(json, -1, &error);
    g_autofree char *out = NULL;
    const VmcNetworkAttachment *net;
    const VmcPortForward *fwd;

    g_assert_no_error(error);
    net = vmc_config_get_network(cfg, 0);
    g_assert_cmpuint(vmc_network_attachment_get_n_forwards(net), ==, 2);
    fwd = vmc_network_attachment_get_forward(net, 0);
    g_assert_cmpint(vmc_port_forward_get_proto(fwd), ==, VMC_FORWARD_TCP);
    g_assert_null(vmc_port_forward_get_host_address(fwd));
    fwd = vmc_network_attachment_get_forward(net, 1);
    g_assert_cmpstr(vmc_port_forward_get_host_address(fwd), ==, "::1");
    g_assert_cmpuint(vmc_network_attachment_get_n_forwards(vmc_config_get_network(cfg, 1)), ==, 0);
    g_assert_cmpuint(vmc_network_attachment_get_n_forwards(vmc_config_get_network(cfg, 2)), ==, 0);
    if (!vmc_config_validate(cfg, &error))
        g_error("%s", error->message);
    out = vmc_config_to_json(cfg);
    g_assert_nonnull(strstr(out, "\"host_port\" : 8080"));
    g_assert_nonnull(strstr(out, "\"proto\" : \"udp\""));
    /* forwards is written once: the two NICs that have none write none */
    g_assert_nonnull(strstr(out, "\"forwards\""));
    g_assert_null(strstr(strstr(out, "\"forwards\"") + 1, "\"forwards\""));
}

static void
test_round_trip_empty_optionals(void)
{
    g_autoptr(VmcConfig) cfg = vmc_config_new("min");
    g_autoptr(VmcConfig) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *json = NULL;

    vmc_config_set_kernel(cfg, "/k");
    vmc_config_set_cmdline(cfg, "");   /* set but empty is not the same as unset */
    json = vmc_config_to_json(cfg);
    back = vmc_config_load_data(json, -1, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_config_equal(cfg, back));
    g_assert_cmpstr(vmc_config_get_cmdline(back), ==, "");
    g_assert_null(vmc_config_get_initramfs(back));
    g_assert_null(vmc_config_get_machine_id(back, NULL));
}

/* Changing any one field makes configs unequal, and copy keeps them equal. */
static void
test_equal_sees_every_field(void)
{
    g_autoptr(VmcConfig) cfg = full_config();

    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        g_autoptr(VmcConfig) copy = vmc_config_copy(cfg);
        gpointer p = VMC_FIELD_PTR(copy, f);

        g_assert_true(vmc_config_equal(cfg, copy));
        switch (f->type) {
        case VMC_FIELD_STRING:
        case VMC_FIELD_OPT_STRING:
            g_free(*(char **) p);
            *(char **) p = g_strdup("/changed");
            break;
        case VMC_FIELD_UINT:
            (*(guint *) p)++;
            break;
        case VMC_FIELD_BOOL:
            *(gboolean *) p = !*(gboolean *) p;
            break;
        case VMC_FIELD_BYTES:
            g_clear_pointer((GBytes **) p, g_bytes_unref);
            break;
        case VMC_FIELD_NETWORKS:
        case VMC_FIELD_SHARED_DIRS:
            g_ptr_array_remove_index(*(GPtrArray **) p, 0);
            break;
        }
        if (vmc_config_equal(cfg, copy))
            g_error("changing field %s left the configs equal", f->name);
    }
}

static void
test_load_example(void)
{
    g_autofree char *path = g_build_filename(g_getenv("VMC_EXAMPLES_DIR"), "full-vm.json", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_load_file(path, &error);
    const VmcNetworkAttachment *net;
    const VmcSharedDir *dir;
    gsize len;

    g_assert_no_error(error);
    g_assert_cmpstr(vmc_config_get_name(cfg), ==, "web-1");
    g_assert_cmpstr(vmc_config_get_namespace(cfg), ==, "shop");
    g_assert_cmpuint(vmc_config_get_cpus(cfg), ==, 2);
    g_assert_cmpuint(vmc_config_get_memory_mb(cfg), ==, 512);
    g_assert_null(vmc_config_get_root_disk(cfg));
    g_assert_cmpuint(vmc_config_get_n_networks(cfg), ==, 4);
    net = vmc_config_get_network(cfg, 1);
    g_assert_cmpint(vmc_network_attachment_get_kind(net), ==, VMC_NETWORK_TAP);
    g_assert_cmpstr(vmc_network_attachment_get_source(net), ==, "tap-web1");
    g_assert_cmpstr(vmc_network_attachment_get_mac(net), ==, "52:54:00:12:34:56");
    g_assert_cmpint(vmc_network_attachment_get_kind(vmc_config_get_network(cfg, 3)), ==,
                    VMC_NETWORK_USER);
    g_assert_cmpuint(vmc_config_get_n_shared_dirs(cfg), ==, 2);
    dir = vmc_config_get_shared_dir(cfg, 0);
    g_assert_true(vmc_shared_dir_get_read_only(dir));
    g_assert_false(vmc_shared_dir_get_read_only(vmc_config_get_shared_dir(cfg, 1)));
    g_assert_true(vmc_config_get_vsock(cfg));
    g_assert_nonnull(vmc_config_get_machine_id(cfg, &len));
    g_assert_cmpuint(len, ==, 16);
    g_assert_true(vmc_config_validate(cfg, &error));
}

typedef struct {
    const char *name;
    const char *json;
    const char *fragment;
} BadJson;

static const BadJson bad_json[] = {
    { "syntax-line-column", "{\n  \"name\": \"a\",\n  \"cpus\": }\n", "<data>:3:" },
    { "trailing-garbage", "{\"name\": \"a\"} x", "<data>:1:" },
    { "not-an-object", "[1, 2]", "expected a JSON object with the VM's fields, got an array" },
    { "empty", "", "expected a JSON object" },
    { "unknown-key-typo", "{\"kernal\": \"/k\"}", "kernal: unknown key in a VM config (did you mean 'kernel'?)" },
    { "unknown-key", "{\"color\": \"red\"}", "color: unknown key in a VM config (its keys: name, namespace" },
    { "duplicate-key", "{\"cpus\": 1,\n \"cpus\": 2}", "key 'cpus' appears twice" },
    { "cpus-string", "{\"cpus\": \"2\"}", "cpus: expected a whole number, got a string" },
    { "cpus-fraction", "{\"cpus\": 1.5}", "cpus: expected a whole number, got a number with a fraction" },
    { "cpus-negative", "{\"cpus\": -1}", "cpus: -1 is out of range" },
    { "memory-huge", "{\"memory_mb\": 99999999999}", "memory_mb: 99999999999 is out of range" },
    { "name-number", "{\"name\": 7}", "name: expected a string or null, got a number" },
    { "vsock-string", "{\"vsock\": \"yes\"}", "vsock: expected true or false, got a string" },
    { "networks-object", "{\"networks\": {}}", "networks: expected an array, got an object" },
    { "network-not-object", "{\"networks\": [\"br0\"]}", "networks[0]: expected an object, got a string" },
    { "network-no-type", "{\"networks\": [{\"bridge\": \"br0\"}]}", "networks[0].type: missing" },
    { "network-bad-type", "{\"networks\": [{\"type\": \"user\"}, {\"type\": \"wifi\"}]}",
      "networks[1].type: unknown network type 'wifi' (known types: tap, bridge, network, user)" },
    { "network-mac-type", "{\"networks\": [{\"type\": \"user\"}, {\"type\": \"user\", \"mac\": 5}]}",
      "networks[1].mac: expected a string or null, got a number" },
    { "network-wrong-key", "{\"networks\": [{\"type\": \"tap\", \"bridge\": \"br0\"}]}",
      "networks[0].bridge: unknown key in a 'tap' network (its keys: type, mac, name)" },
    { "network-key-typo", "{\"networks\": [{\"type\": \"bridge\", \"brige\": \"br0\"}]}",
      "networks[0].brige: unknown key in a 'bridge' network (did you mean 'bridge'?)" },
    { "network-missing-source", "{\"networks\": [{\"type\": \"network\"}]}",
      "networks[0].network: missing; a 'network' network needs it" },
    { "forwards-on-bridge", "{\"networks\": [{\"type\": \"bridge\", \"bridge\": \"br0\", \"forwards\": []}]}",
      "networks[0].forwards: unknown key in a 'bridge' network" },
    { "forwards-object", "{\"networks\": [{\"type\": \"user\", \"forwards\": {}}]}",
      "networks[0].forwards: expected an array, got an object" },
    { "forward-not-object", "{\"networks\": [{\"type\": \"user\", \"forwards\": [22]}]}",
      "networks[0].forwards[0]: expected an object, got a number" },
    { "forward-no-guest-port", "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222}]}]}",
      "networks[0].forwards[0].guest_port: missing; a port forward needs host_port and guest_port" },
    { "forward-port-string", "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": \"22\", \"guest_port\": 22}]}]}",
      "networks[0].forwards[0].host_port: expected a whole number, got a string" },
    { "forward-proto", "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"proto\": \"sctp\", \"host_port\": 1, \"guest_port\": 1}]}]}",
      "networks[0].forwards[0].proto: unknown protocol 'sctp' (tcp or udp)" },
    { "forward-key-typo", "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_prot\": 1, \"guest_port\": 1}]}]}",
      "networks[0].forwards[0].host_prot: unknown key in a port forward (did you mean 'host_port'?)" },
    { "share-missing-tag", "{\"shared_dirs\": [{\"host_path\": \"/a\"}]}", "shared_dirs[0].tag: missing" },
    { "share-read-only-type", "{\"shared_dirs\": [{\"host_path\": \"/a\", \"tag\": \"a\", \"read_only\": 1}]}",
      "shared_dirs[0].read_only: expected true or false, got a number" },
    { "share-unknown-key", "{\"shared_dirs\": [{\"host_path\": \"/a\", \"tag\": \"a\", \"ro\": true}]}",
      "shared_dirs[0].ro: unknown key in a shared dir" },
    { "machine-id-not-hex", "{\"machine_id\": \"not-a-uuid\"}", "machine_id: 'not-a-uuid' is not hex" },
    { "machine-id-odd", "{\"machine_id\": \"abc\"}", "machine_id: 'abc' is not hex" },
};

static void
test_bad_json(gconstpointer data)
{
    const BadJson *bad = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_load_data(bad->json, -1, &error);

    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    if (!strstr(error->message, bad->fragment))
        g_error("%s: message \"%s\" lacks \"%s\"", bad->name, error->message, bad->fragment);
}

static void
test_file_errors(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmc-json-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "bad.json", NULL);
    g_autoptr(VmcConfig) cfg = NULL;

    cfg = vmc_config_load_file("/nonexistent/vm.json", &error);
    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "/nonexistent/vm.json"));
    g_clear_error(&error);

    /* Messages about a file's content start with its name. */
    g_assert_true(g_file_set_contents(path, "{\n\n  \"cpus\": x\n}", -1, NULL));
    cfg = vmc_config_load_file(path, &error);
    g_assert_null(cfg);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    {
        g_autofree char *prefix = g_strdup_printf("%s:3:", path);
        g_assert_true(g_str_has_prefix(error->message, prefix));
    }
    g_unlink(path);
    g_rmdir(dir);
}

static void
test_mac_is_lower_case(void)
{
    g_autoptr(VmcNetworkAttachment) net =
        vmc_network_attachment_new(VMC_NETWORK_TAP, "t0", "52:54:00:AB:CD:EF");

    g_assert_cmpstr(vmc_network_attachment_get_mac(net), ==, "52:54:00:ab:cd:ef");
}

/* Every control character in a string (an unvalidated config may hold
 * them) is written as an escape, so the JSON loads again: json-glib left
 * U+001F raw (found by fuzz-json). */
static void
test_control_characters_round_trip(void)
{
    for (int c = 1; c < 0x20; c++) {
        g_autofree char *in = g_strdup_printf("{\"name\": \"x\\u%04xy\"}", c);
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcConfig) cfg = vmc_config_load_data(in, -1, &error);
        g_autoptr(VmcConfig) back = NULL;
        g_autofree char *out = NULL;

        g_assert_no_error(error);
        out = vmc_config_to_json(cfg);
        for (const char *p = out; *p; p++)
            g_assert_true(*p == '\n' || (guchar) *p >= 0x20);
        back = vmc_config_load_data(out, -1, &error);
        g_assert_no_error(error);
        g_assert_true(vmc_config_equal(cfg, back));
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/json/round-trip-every-field", test_round_trip_every_field);
    g_test_add_func("/json/round-trip-empty-optionals", test_round_trip_empty_optionals);
    g_test_add_func("/json/equal-sees-every-field", test_equal_sees_every_field);
    g_test_add_func("/json/load-example", test_load_example);
    g_test_add_func("/json/forwards", test_forwards_json);
    g_test_add_func("/json/file-errors", test_file_errors);
    g_test_add_func("/json/mac-is-lower-case", test_mac_is_lower_case);
    g_test_add_func("/json/control-characters-round-trip", test_control_characters_round_trip);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_json); i++) {
        g_autofree char *path = g_strdup_printf("/json/bad/%s", bad_json[i].name);
        g_test_add_data_func(path, &bad_json[i], test_bad_json);
    }
    return g_test_run();
}
