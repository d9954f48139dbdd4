/*
 * test-validate.c: every validation rule, one passing and one failing case
 *
 * Each row patches a valid base config (top-level keys replaced, or a
 * dotted path into a list item) and says what the failure must say.
 */
#include "vmc-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *base_json =
    "{"
    "  \"name\": \"web-1\", \"namespace\": \"shop\","
    "  \"kernel\": \"/vms/vmlinuz\", \"initramfs\": \"/vms/initrd.img\","
    "  \"cpus\": 2, \"memory_mb\": 512,"
    "  \"networks\": [ {\"type\": \"bridge\", \"bridge\": \"br0\"},"
    "                  {\"type\": \"tap\", \"name\": \"tap-web1\", \"mac\": \"52:54:00:12:34:56\"} ],"
    "  \"shared_dirs\": [ {\"host_path\": \"/srv/web-1/config\", \"tag\": \"vm-config\", \"read_only\": true} ],"
    "  \"serial_log\": \"/var/log/vms/web-1.serial\""
    "}";

typedef struct {
    const char *rule;
    const char *pass;      /* JSON object of keys to replace in the base */
    const char *fail;
    const char *fragment;  /* the failure's message must contain it */
} Rule;

/* "$REPEAT(c,N)" in a patch stands for N copies of c. */
static const Rule rules[] = {
    /* vm-rs's seven rules, with its messages */
    { "name-empty", "{\"name\": \"a\"}", "{\"name\": \"\"}", "VM name must not be empty" },
    { "name-length", "{\"name\": \"$REPEAT(a,128)\"}", "{\"name\": \"$REPEAT(a,129)\"}",
      "VM name must be 128 characters or fewer" },
    { "name-charset", "{\"name\": \"Web_1.a-b\"}", "{\"name\": \"web 1\"}",
      "VM name must contain only alphanumeric characters, hyphens, underscores, and dots" },
    { "name-charset-slash", "{\"name\": \"web-1\"}", "{\"name\": \"web/1\"}",
      "only alphanumeric" },
    { "name-start-dot", "{\"name\": \"a.\"}", "{\"name\": \".a\"}",
      "VM name must not start with '.' or '-'" },
    { "name-start-dash", "{\"name\": \"a-\"}", "{\"name\": \"-a\"}", "must not start with" },
    { "cpus-min", "{\"cpus\": 1}", "{\"cpus\": 0}", "cpus must be at least 1" },
    { "memory-min", "{\"memory_mb\": 1}", "{\"memory_mb\": 0}", "memory_mb must be at least 1" },
    { "kernel-empty", "{\"kernel\": \"/k\"}", "{\"kernel\": \"\"}", "kernel path must not be empty" },
    /* ours */
    { "cpus-max", "{\"cpus\": 512}", "{\"cpus\": 513}", "cpus must be at most 512 (got 513)" },
    { "memory-max", "{\"memory_mb\": 16777216}", "{\"memory_mb\": 16777217}",
      "memory_mb must be at most 16777216" },
    { "namespace-charset", "{\"namespace\": \"\"}", "{\"namespace\": \"shop/1\"}",
      "namespace 'shop/1' is not valid" },
    { "namespace-length", "{\"namespace\": \"$REPEAT(n,128)\"}", "{\"namespace\": \"$REPEAT(n,129)\"}",
      "namespace" },
    { "serial-log-required", "{\"serial_log\": \"/s\"}", "{\"serial_log\": \"\"}",
      "serial_log must not be empty" },
    { "kernel-absolute", "{\"kernel\": \"/vmlinuz\"}", "{\"kernel\": \"vmlinuz\"}",
      "kernel must be an absolute path (got 'vmlinuz')" },
    { "kernel-control", "{\"kernel\": \"/a b\"}", "{\"kernel\": \"/a\\nb\"}",
      "kernel must not contain control characters" },
    { "initramfs-absolute", "{\"initramfs\": \"/i\"}", "{\"initramfs\": \"./i\"}",
      "initramfs must be an absolute path" },
    { "initramfs-empty", "{\"initramfs\": \"/i\"}", "{\"initramfs\": \"\"}", "initramfs is empty" },
    { "root-disk-absolute", "{\"root_disk\": \"/r.img\"}", "{\"root_disk\": \"r.img\"}",
      "root_disk must be an absolute path" },
    { "data-disk-absolute", "{\"data_disk\": \"/d.img\"}", "{\"data_disk\": \"d.img\"}",
      "data_disk must be an absolute path" },
    { "seed-iso-absolute", "{\"seed_iso\": \"/s.iso\"}", "{\"seed_iso\": \"s.iso\"}",
      "seed_iso must be an absolute path" },
    { "serial-log-absolute", "{\"serial_log\": \"/l\"}", "{\"serial_log\": \"l\"}",
      "serial_log must be an absolute path" },
    { "efi-store-absolute", "{\"efi_variable_store\": \"/v.fd\"}",
      "{\"efi_variable_store\": \"v.fd\"}", "efi_variable_store must be an absolute path" },
    { "initramfs-needed", "{\"initramfs\": null, \"root_disk\": \"/r.img\"}",
      "{\"initramfs\": null}", "initramfs is required when there is no root_disk" },
    { "cmdline-control", "{\"cmdline\": \"console=ttyS0 quiet\"}",
      "{\"cmdline\": \"console=ttyS0\\u0007 quiet\"}",
      "cmdline must not contain control characters (found \\x07 at byte 13" },
    { "cmdline-newline", "{\"cmdline\": \"a b\"}", "{\"cmdline\": \"a\\nb\"}",
      "cmdline must not contain control characters" },
    { "cmdline-length", "{\"cmdline\": \"$REPEAT(x,2047)\"}", "{\"cmdline\": \"$REPEAT(x,2048)\"}",
      "cmdline is 2048 bytes long: the kernel takes at most 2047" },
    { "tag-length", "{\"shared_dirs.0.tag\": \"$REPEAT(t,36)\"}",
      "{\"shared_dirs.0.tag\": \"$REPEAT(t,37)\"}", "shared_dirs[0].tag" },
    { "tag-empty", "{\"shared_dirs.0.tag\": \"t\"}", "{\"shared_dirs.0.tag\": \"\"}",
      "is not a valid virtiofs tag" },
    { "tag-charset", "{\"shared_dirs.0.tag\": \"a.b_c-D9\"}", "{\"shared_dirs.0.tag\": \"a b\"}",
      "shared_dirs[0].tag 'a b' is not a valid virtiofs tag" },
    { "tag-unique",
      "{\"shared_dirs\": [{\"host_path\": \"/a\", \"tag\": \"a\"}, {\"host_path\": \"/b\", \"tag\": \"b\"}]}",
      "{\"shared_dirs\": [{\"host_path\": \"/a\", \"tag\": \"a\"}, {\"host_path\": \"/b\", \"tag\": \"a\"}]}",
      "shared_dirs[1].tag 'a' is already used by shared_dirs[0]" },
    { "share-path-absolute", "{\"shared_dirs.0.host_path\": \"/srv\"}",
      "{\"shared_dirs.0.host_path\": \"srv\"}", "shared_dirs[0].host_path must be an absolute path" },
    { "tap-unique",
      "{\"networks\": [{\"type\": \"tap\", \"name\": \"t0\"}, {\"type\": \"tap\", \"name\": \"t1\"}]}",
      "{\"networks\": [{\"type\": \"tap\", \"name\": \"t0\"}, {\"type\": \"tap\", \"name\": \"t0\"}]}",
      "networks[1].name: TAP device 't0' is already used by networks[0]" },
    { "tap-name-length", "{\"networks.1.name\": \"$REPEAT(t,15)\"}",
      "{\"networks.1.name\": \"$REPEAT(t,16)\"}", "is not a valid TAP device name" },
    { "tap-name-charset", "{\"networks.1.name\": \"tap_0.a-b\"}", "{\"networks.1.name\": \"tap:0\"}",
      "networks[1].name 'tap:0' is not a valid TAP device name" },
    { "tap-name-dots", "{\"networks.1.name\": \"...\"}", "{\"networks.1.name\": \"..\"}",
      "is not a valid TAP device name" },
    { "bridge-name", "{\"networks.0.bridge\": \"virbr0\"}", "{\"networks.0.bridge\": \"br 0\"}",
      "networks[0].bridge 'br 0' is not a valid bridge name" },
    { "bridge-name-length", "{\"networks.0.bridge\": \"$REPEAT(b,15)\"}",
      "{\"networks.0.bridge\": \"$REPEAT(b,16)\"}", "is not a valid bridge name" },
    { "bridge-name-empty", "{\"networks.0.bridge\": \"b\"}", "{\"networks.0.bridge\": \"\"}",
      "networks[0].bridge must name the bridge" },
    { "network-name", "{\"networks\": [{\"type\": \"network\", \"network\": \"default\"}]}",
      "{\"networks\": [{\"type\": \"network\", \"network\": \"a/b\"}]}",
      "networks[0].network 'a/b' must not contain '/'" },
    { "network-name-empty", "{\"networks\": [{\"type\": \"network\", \"network\": \"n\"}]}",
      "{\"networks\": [{\"type\": \"network\", \"network\": \"\"}]}",
      "networks[0].network must name a libvirt network" },
    { "mac-syntax", "{\"networks.1.mac\": \"52:54:00:AB:cd:EF\"}",
      "{\"networks.1.mac\": \"52:54:00:12:34\"}", "networks[1].mac '52:54:00:12:34' is not a MAC address" },
    { "mac-syntax-separator", "{\"networks.1.mac\": \"02:00:00:00:00:01\"}",
      "{\"networks.1.mac\": \"52-54-00-12-34-56\"}", "is not a MAC address" },
    { "mac-syntax-hex", "{\"networks.1.mac\": \"fe:ff:ff:ff:ff:ff\"}",
      "{\"networks.1.mac\": \"52:54:00:12:34:5g\"}", "is not a MAC address" },
    { "mac-unicast", "{\"networks.1.mac\": \"00:00:5e:00:00:01\"}",
      "{\"networks.1.mac\": \"01:00:5e:00:00:01\"}", "is a multicast address" },
    { "mac-broadcast", "{\"networks.1.mac\": \"52:54:00:00:00:01\"}",
      "{\"networks.1.mac\": \"ff:ff:ff:ff:ff:ff\"}", "is a multicast address" },
    { "mac-zero", "{\"networks.1.mac\": \"00:00:00:00:00:01\"}",
      "{\"networks.1.mac\": \"00:00:00:00:00:00\"}", "is all zeros" },
    { "mac-unique",
      "{\"networks\": [{\"type\": \"user\", \"mac\": \"52:54:00:00:00:01\"}, {\"type\": \"user\", \"mac\": \"52:54:00:00:00:02\"}]}",
      "{\"networks\": [{\"type\": \"user\", \"mac\": \"52:54:00:00:00:01\"}, {\"type\": \"user\", \"mac\": \"52:54:00:00:00:01\"}]}",
      "networks[1].mac '52:54:00:00:00:01' is already used by networks[0]" },
    { "forward-host-port-min",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 1, \"guest_port\": 22}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 0, \"guest_port\": 22}]}]}",
      "networks[0].forwards[0].host_port 0 is not a port: use 1-65535" },
    { "forward-host-port-max",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 65535, \"guest_port\": 22}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 65536, \"guest_port\": 22}]}]}",
      "host_port 65536 is not a port" },
    { "forward-guest-port-min",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 1}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 0}]}]}",
      "networks[0].forwards[0].guest_port 0 is not a port" },
    { "forward-guest-port-max",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 65535}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 70000}]}]}",
      "guest_port 70000 is not a port" },
    { "forward-host-address",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"::1\", \"host_port\": 2222, \"guest_port\": 22}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"localhost\", \"host_port\": 2222, \"guest_port\": 22}]}]}",
      "networks[0].forwards[0].host_address 'localhost' is not an IPv4 or IPv6 address" },
    { "forward-host-address-v4",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"127.0.0.1\", \"host_port\": 2222, \"guest_port\": 22}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"127.0.0.256\", \"host_port\": 2222, \"guest_port\": 22}]}]}",
      "is not an IPv4 or IPv6 address" },
    { "forward-unique",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 22}, {\"proto\": \"udp\", \"host_port\": 2222, \"guest_port\": 53}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 22}, {\"host_port\": 2222, \"guest_port\": 23}]}]}",
      "networks[0].forwards[1]: host port 2222/tcp is already forwarded by networks[0].forwards[0]" },
    { "forward-unique-address",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"127.0.0.1\", \"host_port\": 2222, \"guest_port\": 22}, {\"host_address\": \"127.0.0.2\", \"host_port\": 2222, \"guest_port\": 23}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_address\": \"127.0.0.1\", \"host_port\": 2222, \"guest_port\": 22}, {\"host_port\": 2222, \"guest_port\": 23}]}]}",
      "host port 2222/tcp is already forwarded" },
    { "forward-unique-nics",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 22}]}, {\"type\": \"user\", \"forwards\": [{\"host_port\": 2223, \"guest_port\": 22}]}]}",
      "{\"networks\": [{\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 22}]}, {\"type\": \"user\", \"forwards\": [{\"host_port\": 2222, \"guest_port\": 22}]}]}",
      "networks[1].forwards[0]: host port 2222/tcp is already forwarded by networks[0].forwards[0]" },
    { "machine-id-length", "{\"machine_id\": \"4c4c4544-0032-3510-8051-b4c04f4e3632\"}",
      "{\"machine_id\": \"4c4c4544\"}", "machine_id is 4 bytes long: it must be exactly 16 bytes" },
    { "machine-id-too-long", "{\"machine_id\": \"00112233445566778899aabbccddeeff\"}",
      "{\"machine_id\": \"00112233445566778899aabbccddeeff00\"}", "machine_id is 17 bytes long" },
    { "rosetta", "{\"rosetta\": false}", "{\"rosetta\": true}",
      "Rosetta is Apple's x86 translation for Apple Silicon and no libvirt host can provide it" },
    { "netns-name", "{\"netns\": \"blue-1\"}", "{\"netns\": \"a/b\"}",
      "netns 'a/b' is not a valid network namespace name" },
    { "netns-empty", "{\"netns\": null}", "{\"netns\": \"\"}", "netns '' is not a valid" },
};

static char *
expand_repeats(const char *patch)
{
    g_autoptr(GString) out = g_string_new(NULL);
    const char *p = patch;
    const char *m;

    while ((m = strstr(p, "$REPEAT("))) {
        char c = m[8];
        char *end = NULL;
        guint64 n = g_ascii_strtoull(m + 10, &end, 10);

        g_assert_cmpint(m[9], ==, ',');
        g_assert_cmpint(*end, ==, ')');
        g_string_append_len(out, p, m - p);
        for (guint64 i = 0; i < n; i++)
            g_string_append_c(out, c);
        p = end + 1;
    }
    g_string_append(out, p);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* The base config with @patch applied; "list.N.key" reaches into list items. */
static VmcConfig *
patched_config(const char *patch)
{
    g_autoptr(JsonParser) base = json_parser_new();
    g_autoptr(JsonParser) changes = json_parser_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *expanded = expand_repeats(patch);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GList) members = NULL;
    JsonObject *root;
    JsonObject *obj;
    VmcConfig *cfg;

    g_assert_true(json_parser_load_from_data(base, base_json, -1, NULL));
    g_assert_true(json_parser_load_from_data(changes, expanded, -1, NULL));
    root = json_node_get_object(json_parser_get_root(base));
    obj = json_node_get_object(json_parser_get_root(changes));
    members = json_object_get_members(obj);
    for (GList *l = members; l; l = l->next) {
        g_auto(GStrv) parts = g_strsplit(l->data, ".", 3);
        JsonNode *value = json_node_copy(json_object_get_member(obj, l->data));

        if (!parts[1]) {
            json_object_set_member(root, parts[0], value);
        } else {
            JsonArray *array = json_object_get_array_member(root, parts[0]);
            JsonObject *item = json_array_get_object_element(array, atoi(parts[1]));
            json_object_set_member(item, parts[2], value);
        }
    }
    json_generator_set_root(gen, json_parser_get_root(base));
    text = json_generator_to_data(gen, NULL);
    cfg = vmc_config_load_data(text, -1, &error);
    g_assert_no_error(error);
    return cfg;
}

static void
test_rule(gconstpointer data)
{
    const Rule *rule = data;
    g_autoptr(VmcConfig) good = patched_config(rule->pass);
    g_autoptr(VmcConfig) bad = patched_config(rule->fail);
    g_autoptr(GError) error = NULL;

    g_assert_true(vmc_config_validate(good, &error));
    g_assert_no_error(error);

    g_assert_false(vmc_config_validate(bad, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    if (!strstr(error->message, rule->fragment))
        g_error("rule %s: message \"%s\" lacks \"%s\"", rule->rule, error->message, rule->fragment);
    /* The message names the VM whenever its name is usable. */
    if (vmc_config_get_name(bad)[0] && !g_str_has_prefix(rule->rule, "name-"))
        g_assert_true(g_str_has_prefix(error->message, "VM 'web-1': "));
}

static void
test_base_is_valid(void)
{
    g_autoptr(VmcConfig) cfg = patched_config("{}");
    g_autoptr(GError) error = NULL;

    g_assert_true(vmc_config_validate(cfg, &error));
    g_assert_no_error(error);
}

static void
test_non_utf8(void)
{
    g_autoptr(VmcConfig) cfg = patched_config("{}");
    g_autoptr(GError) error = NULL;

    vmc_config_set_cmdline(cfg, "console=ttyS0 \xff\xfe");
    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "cmdline must be valid UTF-8"));
    g_clear_error(&error);

    vmc_config_set_cmdline(cfg, NULL);
    vmc_config_set_kernel(cfg, "/boot/\xc3\x28");
    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_nonnull(strstr(error->message, "kernel must be valid UTF-8"));
}

static void
test_user_network_has_no_source(void)
{
    g_autoptr(VmcConfig) cfg = patched_config("{\"networks\": []}");
    g_autoptr(GError) error = NULL;

    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, "br0", NULL));
    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message, "a 'user' network takes no source (got 'br0')"));
}

static void
test_hostile_value_is_escaped(void)
{
    g_autoptr(VmcConfig) cfg = patched_config("{}");
    g_autoptr(GError) error = NULL;

    vmc_config_set_kernel(cfg, "rel/\x1b[31mred'");
    g_assert_false(vmc_config_validate(cfg, &error));
    /* No raw escape sequence reaches a terminal through the message. */
    g_assert_null(strchr(error->message, '\x1b'));
    g_assert_nonnull(strstr(error->message, "\\x1b[31mred\\'"));
}

static void
test_name_missing(void)
{
    g_autoptr(VmcConfig) cfg = vmc_config_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_cmpstr(error->message, ==, "VM name must not be empty");
}

/* A forward on a NIC that is not a user NIC is refused (JSON cannot say
 * it: its "forwards" key is unknown there), and so are more than
 * VMC_CONFIG_FORWARDS_MAX forwards. */
static void
test_forwards_on_api(void)
{
    g_autoptr(VmcConfig) cfg = patched_config("{\"networks\": []}");
    g_autoptr(VmcPortForward) fwd = vmc_port_forward_new(VMC_FORWARD_TCP, NULL, 2222, 22);
    const VmcPortForward *one[] = { fwd };
    g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_port_forward_free);
    g_autoptr(GError) error = NULL;

    vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(VMC_NETWORK_BRIDGE, "br0",
                                                                         NULL, one, 1));
    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
    g_assert_nonnull(strstr(error->message,
                            "networks[0].forwards: only a 'user' NIC forwards ports (this one is "
                            "'bridge')"));
    g_clear_error(&error);

    vmc_config_clear_networks(cfg);
    for (guint i = 0; i < VMC_CONFIG_FORWARDS_MAX; i++)
        g_ptr_array_add(many, vmc_port_forward_new(VMC_FORWARD_TCP, NULL, 1000 + i, 22));
    vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(
                                    VMC_NETWORK_USER, NULL, NULL,
                                    (const VmcPortForward *const *) many->pdata, many->len));
    g_assert_true(vmc_config_validate(cfg, &error));
    g_assert_no_error(error);

    vmc_config_clear_networks(cfg);
    g_ptr_array_add(many, vmc_port_forward_new(VMC_FORWARD_TCP, NULL, 2000, 22));
    vmc_config_add_network(cfg, vmc_network_attachment_new_with_forwards(
                                    VMC_NETWORK_USER, NULL, NULL,
                                    (const VmcPortForward *const *) many->pdata, many->len));
    g_assert_false(vmc_config_validate(cfg, &error));
    g_assert_nonnull(strstr(error->message, "networks[0].forwards has 65 entries: at most 64"));
}

typedef struct {
    const char *spec;
    const char *canonical;  /* vmc_port_forward_to_string() of it, NULL when refused */
    const char *fragment;   /* the refusal must contain it */
} ForwardSpec;

static const ForwardSpec forward_specs[] = {
    { "2222:22", "2222:22/tcp", NULL },
    { "127.0.0.1:2222:22", "127.0.0.1:2222:22/tcp", NULL },
    { "5353:53/udp", "5353:53/udp", NULL },
    { "8080:80/tcp", "8080:80/tcp", NULL },
    { "[::1]:1:65535", "[::1]:1:65535/tcp", NULL },
    { "[fe80::1]:2222:22/udp", "[fe80::1]:2222:22/udp", NULL },
    { "22", NULL, "is not [ADDRESS:]HOST_PORT:GUEST_PORT[/udp]" },
    { "", NULL, "is not [ADDRESS:]HOST_PORT:GUEST_PORT" },
    { "2222:22/sctp", NULL, "unknown protocol after '/' (tcp or udp)" },
    { "2222:22/", NULL, "unknown protocol" },
    { "0:22", NULL, "the host port must be a number from 1 to 65535" },
    { "2222:65536", NULL, "the guest port must be a number from 1 to 65535" },
    { "2222:", NULL, "the guest port must be a number" },
    { ":22", NULL, "the host port must be a number" },
    { "22a:22", NULL, "the host port must be a number" },
    { "-1:22", NULL, "the host port must be a number" },
    { "::1:2222:22", NULL, "write an IPv6 address in brackets" },
    { "localhost:2222:22", NULL, "the host address is not an IPv4 or IPv6 address" },
    { "[]:2222:22", NULL, "the host address is not" },
    { ":2222:22", NULL, "the host address is not" },
    { "1.2.3.4.5:2222:22", NULL, "the host address is not" },
};

/* up --forward's form: what it takes, how it is written back, and what
 * it refuses, with the spec quoted. */
static void
test_forward_parse(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(forward_specs); i++) {
        const ForwardSpec *t = &forward_specs[i];
        g_autoptr(GError) error = NULL;
        g_autoptr(VmcPortForward) fwd = vmc_port_forward_parse(t->spec, &error);

        if (t->canonical) {
            g_autofree char *text = NULL;
            g_autoptr(VmcPortForward) again = NULL;

            if (!fwd)
                g_error("'%s' refused: %s", t->spec, error->message);
            text = vmc_port_forward_to_string(fwd);
            g_assert_cmpstr(text, ==, t->canonical);
            again = vmc_port_forward_parse(text, &error);
            g_assert_no_error(error);
            g_assert_true(vmc_port_forward_equal(fwd, again));
        } else {
            g_autofree char *quoted = g_strdup_printf("'%s'", t->spec);

            if (fwd)
                g_error("'%s' was taken", t->spec);
            g_assert_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG);
            if (!strstr(error->message, t->fragment) || !strstr(error->message, quoted))
                g_error("'%s': message \"%s\" lacks \"%s\" or the spec", t->spec,
                        error->message, t->fragment);
        }
    }
    {
        g_autoptr(VmcPortForward) fwd = vmc_port_forward_parse("127.0.0.1:2222:22/udp", NULL);

        g_assert_cmpint(vmc_port_forward_get_proto(fwd), ==, VMC_FORWARD_UDP);
        g_assert_cmpstr(vmc_port_forward_get_host_address(fwd), ==, "127.0.0.1");
        g_assert_cmpuint(vmc_port_forward_get_host_port(fwd), ==, 2222);
        g_assert_cmpuint(vmc_port_forward_get_guest_port(fwd), ==, 22);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/validate/base-is-valid", test_base_is_valid);
    for (gsize i = 0; i < G_N_ELEMENTS(rules); i++) {
        g_autofree char *path = g_strdup_printf("/validate/rule/%s", rules[i].rule);
        g_test_add_data_func(path, &rules[i], test_rule);
    }
    g_test_add_func("/validate/non-utf8", test_non_utf8);
    g_test_add_func("/validate/user-network-has-no-source", test_user_network_has_no_source);
    g_test_add_func("/validate/hostile-value-is-escaped", test_hostile_value_is_escaped);
    g_test_add_func("/validate/name-missing", test_name_missing);
    g_test_add_func("/validate/forwards-on-api", test_forwards_on_api);
    g_test_add_func("/validate/forward-parse", test_forward_parse);
    return g_test_run();
}
