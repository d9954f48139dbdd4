/*
 * vmc-json.c: the JSON form of VmcConfig (DESIGN.md §3)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
    GHashTable *seen;       /* "object-pointer/member" of every member parsed */
    char *duplicate;        /* first duplicate key, with its line */
} VmcDuplicateCheck;

static void
vmc_on_object_member(JsonParser *parser, JsonObject *object, const char *member, gpointer data)
{
    VmcDuplicateCheck *check = data;
    char *key = g_strdup_printf("%p/%s", (void *) object, member);

    if (!g_hash_table_add(check->seen, key) && !check->duplicate) {
        g_autofree char *q = vmc_quote_value(member);
        check->duplicate = g_strdup_printf("%u: key %s appears twice in one object",
                                           json_parser_get_current_line(parser), q);
    }
}

static gboolean G_GNUC_PRINTF(4, 5)
vmc_json_fail(GError **error, const char *origin, const char *path, const char *fmt, ...)
{
    g_autofree char *detail = NULL;
    g_autofree char *safe_path = NULL;
    va_list args;

    va_start(args, fmt);
    detail = g_strdup_vprintf(fmt, args);
    va_end(args);
    safe_path = vmc_escape_text(path);
    g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "%s: %s: %s", origin, safe_path,
                detail);
    return FALSE;
}

static const char *
vmc_json_type_name(JsonNode *node)
{
    if (JSON_NODE_HOLDS_NULL(node))
        return "null";
    if (JSON_NODE_HOLDS_OBJECT(node))
        return "an object";
    if (JSON_NODE_HOLDS_ARRAY(node))
        return "an array";
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return "a string";
    case G_TYPE_BOOLEAN:
        return "a boolean";
    case G_TYPE_DOUBLE:
        return "a number with a fraction";
    default:
        return "a number";
    }
}

static gboolean
vmc_json_get_string(JsonNode *node, const char *origin, const char *path, gboolean nullable,
                    char **out, GError **error)
{
    if (nullable && JSON_NODE_HOLDS_NULL(node)) {
        *out = NULL;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return vmc_json_fail(error, origin, path, "expected a string%s, got %s",
                             nullable ? " or null" : "", vmc_json_type_name(node));
    *out = g_strdup(json_node_get_string(node));
    return TRUE;
}

static gboolean
vmc_json_get_bool(JsonNode *node, const char *origin, const char *path, gboolean *out,
                  GError **error)
{
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return vmc_json_fail(error, origin, path, "expected true or false, got %s",
                             vmc_json_type_name(node));
    *out = json_node_get_boolean(node);
    return TRUE;
}

static gboolean
vmc_json_get_uint(JsonNode *node, const char *origin, const char *path, guint *out,
                  GError **error)
{
    gint64 v;

    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return vmc_json_fail(error, origin, path, "expected a whole number, got %s",
                             vmc_json_type_name(node));
    v = json_node_get_int(node);
    if (v < 0 || v > G_MAXUINT)
        return vmc_json_fail(error, origin, path,
                             "%" G_GINT64_FORMAT " is out of range (0 to %u)", v, G_MAXUINT);
    *out = (guint) v;
    return TRUE;
}

/* Edit distance, to suggest the key a typo meant. */
static guint
vmc_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    g_autofree guint *row = g_new(guint, lb + 1);

    for (gsize j = 0; j <= lb; j++)
        row[j] = j;
    for (gsize i = 1; i <= la; i++) {
        guint diag = row[0];
        row[0] = i;
        for (gsize j = 1; j <= lb; j++) {
            guint up = row[j];
            guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

static char *
vmc_path_join(const char *parent, const char *key)
{
    return *parent ? g_strdup_printf("%s.%s", parent, key) : g_strdup(key);
}

/* Every member of @obj must be one of @allowed; a typo gets a suggestion. */
static gboolean
vmc_json_check_keys(JsonObject *obj, const char *const *allowed, const char *what,
                    const char *origin, const char *path, GError **error)
{
    g_autoptr(GList) members = json_object_get_members(obj);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        const char *best = NULL;
        guint best_distance = 3;
        g_autofree char *key_path = NULL;
        g_autofree char *list = NULL;

        if (g_strv_contains(allowed, key))
            continue;
        for (const char *const *a = allowed; *a; a++) {
            guint d = vmc_distance(key, *a);

            /* "memory" for "memory_mb": a cut-short name counts as close */
            if (strlen(key) >= 3 && (g_str_has_prefix(*a, key) || g_str_has_prefix(key, *a)))
                d = MIN(d, 2);
            if (d < best_distance) {
                best_distance = d;
                best = *a;
            }
        }
        key_path = vmc_path_join(path, key);
        if (best)
            return vmc_json_fail(error, origin, key_path,
                                 "unknown key in %s (did you mean '%s'?)", what, best);
        list = g_strjoinv(", ", (char **) allowed);
        return vmc_json_fail(error, origin, key_path, "unknown key in %s (its keys: %s)",
                             what, list);
    }
    return TRUE;
}

/* One entry of a user NIC's forwards: {"proto": "tcp", "host_address":
 * "127.0.0.1", "host_port": 2222, "guest_port": 22}; proto and
 * host_address may be left out (TCP, every host address). */
static VmcPortForward *
vmc_json_read_forward(JsonNode *node, const char *origin, const char *path, GError **error)
{
    static const char *const allowed[] = { "proto", "host_address", "host_port", "guest_port",
                                           NULL };
    JsonObject *obj;
    JsonNode *member;
    g_autofree char *proto_name = NULL;
    g_autofree char *address = NULL;
    VmcForwardProto proto = VMC_FORWARD_TCP;
    guint ports[2] = { 0, 0 };

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        vmc_json_fail(error, origin, path, "expected an object, got %s", vmc_json_type_name(node));
        return NULL;
    }
    obj = json_node_get_object(node);
    if (!vmc_json_check_keys(obj, allowed, "a port forward", origin, path, error))
        return NULL;
    member = json_object_get_member(obj, "proto");
    if (member) {
        g_autofree char *proto_path = vmc_path_join(path, "proto");

        if (!vmc_json_get_string(member, origin, proto_path, FALSE, &proto_name, error))
            return NULL;
        if (!vmc_forward_proto_from_string(proto_name, &proto)) {
            g_autofree char *q = vmc_quote_value(proto_name);
            vmc_json_fail(error, origin, proto_path, "unknown protocol %s (tcp or udp)", q);
            return NULL;
        }
    }
    member = json_object_get_member(obj, "host_address");
    if (member) {
        g_autofree char *address_path = vmc_path_join(path, "host_address");
        if (!vmc_json_get_string(member, origin, address_path, TRUE, &address, error))
            return NULL;
    }
    for (int i = 0; i < 2; i++) {
        const char *key = allowed[2 + i];
        g_autofree char *key_path = vmc_path_join(path, key);

        member = json_object_get_member(obj, key);
        if (!member) {
            vmc_json_fail(error, origin, key_path,
                          "missing; a port forward needs host_port and guest_port");
            return NULL;
        }
        if (!vmc_json_get_uint(member, origin, key_path, &ports[i], error))
            return NULL;
    }
    return vmc_port_forward_new(proto, address, ports[0], ports[1]);
}

static VmcNetworkAttachment *
vmc_json_read_network(JsonNode *node, const char *origin, const char *path, GError **error)
{
    static const char *const source_keys[] = {
        [VMC_NETWORK_TAP] = "name",
        [VMC_NETWORK_BRIDGE] = "bridge",
        [VMC_NETWORK_NETWORK] = "network",
        [VMC_NETWORK_USER] = NULL,
    };
    JsonObject *obj;
    JsonNode *member;
    g_autofree char *type = NULL;
    g_autofree char *source = NULL;
    g_autofree char *mac = NULL;
    g_autofree char *type_path = vmc_path_join(path, "type");
    g_autofree char *what = NULL;
    VmcNetworkKind kind;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        vmc_json_fail(error, origin, path, "expected an object, got %s", vmc_json_type_name(node));
        return NULL;
    }
    obj = json_node_get_object(node);
    member = json_object_get_member(obj, "type");
    if (!member) {
        vmc_json_fail(error, origin, type_path,
                      "missing; say what the NIC is plugged into: tap, bridge, network or user");
        return NULL;
    }
    if (!vmc_json_get_string(member, origin, type_path, FALSE, &type, error))
        return NULL;
    if (!vmc_network_kind_from_string(type, &kind)) {
        g_autofree char *q = vmc_quote_value(type);
        vmc_json_fail(error, origin, type_path,
                      "unknown network type %s (known types: tap, bridge, network, user)", q);
        return NULL;
    }

    {
        /* Only a user NIC forwards ports (passt does it). */
        const char *allowed[] = { "type", "mac",
                                  kind == VMC_NETWORK_USER ? "forwards" : source_keys[kind],
                                  NULL };
        what = g_strdup_printf("a '%s' network", vmc_network_kind_to_string(kind));
        if (!vmc_json_check_keys(obj, allowed, what, origin, path, error))
            return NULL;
    }

    member = json_object_get_member(obj, "mac");
    if (member) {
        g_autofree char *mac_path = vmc_path_join(path, "mac");
        if (!vmc_json_get_string(member, origin, mac_path, TRUE, &mac, error))
            return NULL;
    }
    if (source_keys[kind]) {
        g_autofree char *source_path = vmc_path_join(path, source_keys[kind]);

        member = json_object_get_member(obj, source_keys[kind]);
        if (!member) {
            vmc_json_fail(error, origin, source_path, "missing; %s needs it", what);
            return NULL;
        }
        if (!vmc_json_get_string(member, origin, source_path, FALSE, &source, error))
            return NULL;
    }
    member = json_object_get_member(obj, "forwards");
    if (kind == VMC_NETWORK_USER && member && !JSON_NODE_HOLDS_NULL(member)) {
        g_autofree char *forwards_path = vmc_path_join(path, "forwards");
        g_autoptr(GPtrArray) forwards = NULL;
        JsonArray *array;

        if (!JSON_NODE_HOLDS_ARRAY(member)) {
            vmc_json_fail(error, origin, forwards_path, "expected an array, got %s",
                          vmc_json_type_name(member));
            return NULL;
        }
        array = json_node_get_array(member);
        forwards = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_port_forward_free);
        for (guint i = 0; i < json_array_get_length(array); i++) {
            g_autofree char *item_path = g_strdup_printf("%s[%u]", forwards_path, i);
            VmcPortForward *fwd = vmc_json_read_forward(json_array_get_element(array, i),
                                                        origin, item_path, error);
            if (!fwd)
                return NULL;
            g_ptr_array_add(forwards, fwd);
        }
        return vmc_network_attachment_new_with_forwards(
            kind, source, mac, (const VmcPortForward *const *) forwards->pdata, forwards->len);
    }
    return vmc_network_attachment_new(kind, source, mac);
}

static VmcSharedDir *
vmc_json_read_shared_dir(JsonNode *node, const char *origin, const char *path, GError **error)
{
    static const char *const allowed[] = { "host_path", "tag", "read_only", NULL };
    JsonObject *obj;
    JsonNode *member;
    g_autofree char *host_path = NULL;
    g_autofree char *tag = NULL;
    gboolean read_only = FALSE;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        vmc_json_fail(error, origin, path, "expected an object, got %s", vmc_json_type_name(node));
        return NULL;
    }
    obj = json_node_get_object(node);
    if (!vmc_json_check_keys(obj, allowed, "a shared dir", origin, path, error))
        return NULL;

    for (int i = 0; i < 2; i++) {
        const char *key = allowed[i];
        g_autofree char *key_path = vmc_path_join(path, key);

        member = json_object_get_member(obj, key);
        if (!member) {
            vmc_json_fail(error, origin, key_path, "missing; a shared dir needs host_path and tag");
            return NULL;
        }
        if (!vmc_json_get_string(member, origin, key_path, FALSE, i == 0 ? &host_path : &tag, error))
            return NULL;
    }
    member = json_object_get_member(obj, "read_only");
    if (member) {
        g_autofree char *key_path = vmc_path_join(path, "read_only");
        if (!vmc_json_get_bool(member, origin, key_path, &read_only, error))
            return NULL;
    }
    return vmc_shared_dir_new(host_path, tag, read_only);
}

static gboolean
vmc_json_read_list(JsonNode *node, const VmcFieldInfo *f, GPtrArray *list, const char *origin,
                   GError **error)
{
    JsonArray *array;

    if (JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY(node))
        return vmc_json_fail(error, origin, f->name, "expected an array, got %s",
                             vmc_json_type_name(node));
    array = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        g_autofree char *path = g_strdup_printf("%s[%u]", f->name, i);
        JsonNode *item = json_array_get_element(array, i);
        gpointer value = f->type == VMC_FIELD_NETWORKS
                             ? (gpointer) vmc_json_read_network(item, origin, path, error)
                             : (gpointer) vmc_json_read_shared_dir(item, origin, path, error);
        if (!value)
            return FALSE;
        g_ptr_array_add(list, value);
    }
    return TRUE;
}

static gboolean
vmc_json_read_field(JsonNode *node, const VmcFieldInfo *f, VmcConfig *cfg, const char *origin,
                    GError **error)
{
    gpointer p = VMC_FIELD_PTR(cfg, f);

    switch (f->type) {
    case VMC_FIELD_STRING:
    case VMC_FIELD_OPT_STRING: {
        char *value = NULL;
        /* null unsets any text field; validation says which are required */
        if (!vmc_json_get_string(node, origin, f->name, TRUE, &value, error))
            return FALSE;
        g_free(*(char **) p);
        *(char **) p = value;
        return TRUE;
    }
    case VMC_FIELD_UINT:
        return vmc_json_get_uint(node, origin, f->name, (guint *) p, error);
    case VMC_FIELD_BOOL:
        return vmc_json_get_bool(node, origin, f->name, (gboolean *) p, error);
    case VMC_FIELD_BYTES: {
        g_autofree char *hex = NULL;
        GBytes *bytes;

        if (!vmc_json_get_string(node, origin, f->name, TRUE, &hex, error))
            return FALSE;
        if (!hex)
            return TRUE;
        bytes = vmc_bytes_from_hex(hex);
        if (!bytes) {
            g_autofree char *q = vmc_quote_value(hex);
            return vmc_json_fail(error, origin, f->name,
                                 "%s is not hex: use pairs of hex digits, dashes allowed "
                                 "(a UUID works)", q);
        }
        g_clear_pointer((GBytes **) p, g_bytes_unref);
        *(GBytes **) p = bytes;
        return TRUE;
    }
    case VMC_FIELD_NETWORKS:
    case VMC_FIELD_SHARED_DIRS:
        return vmc_json_read_list(node, f, *(GPtrArray **) p, origin, error);
    }
    g_assert_not_reached();
}

static VmcConfig *
vmc_config_load_json(const char *data, gssize length, const char *file, GError **error)
{
    g_autofree char *origin = vmc_escape_text(file);
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) parse_error = NULL;
    g_autoptr(VmcConfig) cfg = vmc_config_new(NULL);
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    VmcDuplicateCheck check = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), NULL };
    JsonNode *root;
    JsonObject *obj;
    gboolean parsed;

    if (!vmc_json_check_strict(data, length < 0 ? strlen(data) : (gsize) length, origin, error)) {
        g_hash_table_unref(check.seen);
        return NULL;
    }
    g_signal_connect(parser, "object-member", G_CALLBACK(vmc_on_object_member), &check);
    parsed = json_parser_load_from_data(parser, data, length, &parse_error);
    g_hash_table_unref(check.seen);

    if (!parsed) {
        const char *msg = parse_error->message;
        /* json-glib says "<data>:LINE:COL: ..."; name the real origin instead. */
        if (g_str_has_prefix(msg, "<data>:"))
            msg += strlen("<data>:");
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "%s:%s", origin, msg);
        g_free(check.duplicate);
        return NULL;
    }
    if (check.duplicate) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "%s:%s", origin, check.duplicate);
        g_free(check.duplicate);
        return NULL;
    }

    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "%s: expected a JSON object with the VM's fields, got %s", origin,
                    root ? vmc_json_type_name(root) : "nothing");
        return NULL;
    }
    obj = json_node_get_object(root);

    for (gsize i = 0; i < vmc_config_n_fields; i++)
        g_ptr_array_add(keys, (gpointer) vmc_config_fields[i].name);
    g_ptr_array_add(keys, NULL);
    if (!vmc_json_check_keys(obj, (const char *const *) keys->pdata, "a VM config", origin, "",
                             error))
        return NULL;

    for (gsize i = 0; i < vmc_config_n_fields; i++) {
        const VmcFieldInfo *f = &vmc_config_fields[i];
        JsonNode *node = json_object_get_member(obj, f->name);

        if (node && !vmc_json_read_field(node, f, cfg, origin, error))
            return NULL;
    }
    /* No namespace is the empty one (vmc_config_set_namespace()). */
    if (!cfg->namespace)
        cfg->namespace = g_strdup("");
    return g_steal_pointer(&cfg);
}

/**
 * vmc_config_load_data:
 * @data: the JSON text
 * @length: its length in bytes, or -1 if nul-terminated
 * @error: return location for a #GError, or %NULL
 *
 * Reads a config in the JSON form of DESIGN.md §3. Syntax errors give the
 * line and column; unknown keys, wrong types and wrong enum values name
 * the key path (such as `networks[1].mac`). The config is not validated:
 * call vmc_config_validate().
 *
 * Returns: (transfer full): the config, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG set.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_load_data(const char *data, gssize length, GError **error)
{
    g_return_val_if_fail(data != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_config_load_json(data, length, "<data>", error);
}

/**
 * vmc_config_load_file:
 * @path: a JSON file
 * @error: return location for a #GError, or %NULL
 *
 * Like vmc_config_load_data(), with messages that start with @path.
 *
 * Returns: (transfer full): the config, or %NULL with
 * %VMC_ERROR_INVALID_CONFIG (bad content) or %VMC_ERROR_IO (unreadable
 * file) set.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_config_load_file(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) io_error = NULL;
    gsize length;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!g_file_get_contents(path, &data, &length, &io_error)) {
        g_autofree char *msg = vmc_escape_text(io_error->message);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot read VM config: %s", msg);
        return NULL;
    }
    return vmc_config_load_json(data, (gssize) length, path, error);
}

static void
vmc_json_add_string(JsonBuilder *builder, const char *key, const char *value)
{
    json_builder_set_member_name(builder, key);
    if (value)
        json_builder_add_string_value(builder, value);
    else
        json_builder_add_null_value(builder);
}

static void
vmc_json_write_field(JsonBuilder *builder, const VmcFieldInfo *f, const VmcConfig *cfg)
{
    gconstpointer p = VMC_FIELD_CPTR(cfg, f);

    switch (f->type) {
    case VMC_FIELD_STRING:
    case VMC_FIELD_OPT_STRING:
        vmc_json_add_string(builder, f->name, *(char *const *) p);
        break;
    case VMC_FIELD_UINT:
        json_builder_set_member_name(builder, f->name);
        json_builder_add_int_value(builder, *(const guint *) p);
        break;
    case VMC_FIELD_BOOL:
        json_builder_set_member_name(builder, f->name);
        json_builder_add_boolean_value(builder, *(const gboolean *) p);
        break;
    case VMC_FIELD_BYTES: {
        GBytes *bytes = *(GBytes *const *) p;
        g_autofree char *hex = bytes ? vmc_bytes_to_hex(bytes) : NULL;
        vmc_json_add_string(builder, f->name, hex);
        break;
    }
    case VMC_FIELD_NETWORKS: {
        GPtrArray *list = *(GPtrArray *const *) p;

        json_builder_set_member_name(builder, f->name);
        json_builder_begin_array(builder);
        for (guint i = 0; i < list->len; i++) {
            const VmcNetworkAttachment *net = g_ptr_array_index(list, i);
            static const char *const source_keys[] = { "name", "bridge", "network", NULL };

            json_builder_begin_object(builder);
            vmc_json_add_string(builder, "type", vmc_network_kind_to_string(net->kind));
            if (source_keys[net->kind])
                vmc_json_add_string(builder, source_keys[net->kind], net->source);
            if (net->mac)
                vmc_json_add_string(builder, "mac", net->mac);
            if (vmc_network_attachment_get_n_forwards(net)) {
                json_builder_set_member_name(builder, "forwards");
                json_builder_begin_array(builder);
                for (guint j = 0; j < net->forwards->len; j++) {
                    const VmcPortForward *fwd = g_ptr_array_index(net->forwards, j);

                    json_builder_begin_object(builder);
                    vmc_json_add_string(builder, "proto", vmc_forward_proto_to_string(fwd->proto));
                    if (fwd->host_address)
                        vmc_json_add_string(builder, "host_address", fwd->host_address);
                    json_builder_set_member_name(builder, "host_port");
                    json_builder_add_int_value(builder, fwd->host_port);
                    json_builder_set_member_name(builder, "guest_port");
                    json_builder_add_int_value(builder, fwd->guest_port);
                    json_builder_end_object(builder);
                }
                json_builder_end_array(builder);
            }
            json_builder_end_object(builder);
        }
        json_builder_end_array(builder);
        break;
    }
    case VMC_FIELD_SHARED_DIRS: {
        GPtrArray *list = *(GPtrArray *const *) p;

        json_builder_set_member_name(builder, f->name);
        json_builder_begin_array(builder);
        for (guint i = 0; i < list->len; i++) {
            const VmcSharedDir *dir = g_ptr_array_index(list, i);

            json_builder_begin_object(builder);
            vmc_json_add_string(builder, "host_path", dir->host_path);
            vmc_json_add_string(builder, "tag", dir->tag);
            json_builder_set_member_name(builder, "read_only");
            json_builder_add_boolean_value(builder, dir->read_only);
            json_builder_end_object(builder);
        }
        json_builder_end_array(builder);
        break;
    }
    }
}

/* json-glib (1.6, Debian 12) escapes the control characters below 0x1f
 * only, and writes U+001F raw, which RFC 8259 (and our loader) refuses.
 * Outside strings the generator writes no control character, and in UTF-8
 * the byte 0x1f is never part of another character: each one is the
 * character, inside a string. Returns @text with each as \u001f, and a
 * newline. */
static char *
vmc_json_escape_unit_separator(const char *text)
{
    GString *out = g_string_sized_new(strlen(text) + 2);

    for (const char *p = text; *p; p++) {
        if (*p == '\x1f')
            g_string_append(out, "\\u001f");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

/**
 * vmc_config_to_json:
 * @cfg: a config
 *
 * Writes every field, in the model's order, with null for unset optional
 * fields. vmc_config_load_data() reads the result back to an equal config.
 *
 * Returns: (transfer full): the JSON text, ending in a newline.
 *
 * Since: 0.1
 */
char *
vmc_config_to_json(const VmcConfig *cfg)
{
    g_autoptr(JsonBuilder) builder = json_builder_new_immutable();
    g_autoptr(JsonGenerator) generator = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    g_return_val_if_fail(cfg != NULL, NULL);

    json_builder_begin_object(builder);
    for (gsize i = 0; i < vmc_config_n_fields; i++)
        vmc_json_write_field(builder, &vmc_config_fields[i], cfg);
    json_builder_end_object(builder);

    root = json_builder_get_root(builder);
    json_generator_set_root(generator, root);
    json_generator_set_pretty(generator, TRUE);
    json_generator_set_indent(generator, 2);
    text = json_generator_to_data(generator, NULL);
    return vmc_json_escape_unit_separator(text);
}
