/*
 * vmc-meta.c: our metadata element, read and written in one place (see
 * vmc-meta-private.h for its form)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-meta-private.h"

#include <vmconfig/vmconfig.h>

static void
vmc_meta_share_free(gpointer data)
{
    VmcMetaShare *share = data;

    g_free(share->tag);
    g_free(share->host_path);
    g_free(share);
}

VmcMeta *
vmc_meta_new(const char *ns)
{
    VmcMeta *meta = g_new0(VmcMeta, 1);

    meta->ns = g_strdup(ns ? ns : "");
    meta->shares = g_ptr_array_new_with_free_func(vmc_meta_share_free);
    meta->owned_taps = g_ptr_array_new_with_free_func(g_free);
    return meta;
}

void
vmc_meta_free(VmcMeta *meta)
{
    if (!meta)
        return;
    g_free(meta->ns);
    g_free(meta->netns);
    g_free(meta->serial_log);
    g_free(meta->generated_macs);
    g_ptr_array_unref(meta->shares);
    g_ptr_array_unref(meta->owned_taps);
    g_free(meta);
}

void
vmc_meta_add_share(VmcMeta *meta, const char *tag, const char *host_path)
{
    VmcMetaShare *share = g_new0(VmcMetaShare, 1);

    share->tag = g_strdup(tag);
    share->host_path = g_strdup(host_path);
    g_ptr_array_add(meta->shares, share);
}

void
vmc_meta_add_owned_tap(VmcMeta *meta, const char *dev)
{
    g_ptr_array_add(meta->owned_taps, g_strdup(dev));
}

GStrv
vmc_meta_dup_owned_taps(const VmcMeta *meta)
{
    GStrv taps = g_new0(char *, meta->owned_taps->len + 1);

    for (guint i = 0; i < meta->owned_taps->len; i++)
        taps[i] = g_strdup(g_ptr_array_index(meta->owned_taps, i));
    return taps;
}

static gboolean
vmc_meta_is(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, (const xmlChar *) name);
}

xmlNode *
vmc_meta_find(xmlDoc *doc)
{
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

    for (xmlNode *m = root ? root->children : NULL; m; m = m->next) {
        if (!vmc_meta_is(m, "metadata"))
            continue;
        for (xmlNode *vm = m->children; vm; vm = vm->next) {
            if (vmc_meta_is(vm, "vm") && vm->ns &&
                xmlStrEqual(vm->ns->href, (const xmlChar *) VMC_XML_NAMESPACE))
                return vm;
        }
    }
    return NULL;
}

VmcMeta *
vmc_meta_read(xmlNode *vm)
{
    g_autofree char *ns = vmc_xml_prop(vm, "namespace");
    g_autofree char *adopted = vmc_xml_prop(vm, "adopted");
    VmcMeta *meta = vmc_meta_new(ns);

    gboolean generated = FALSE;

    meta->adopted = g_strcmp0(adopted, "yes") == 0;
    for (xmlNode *n = vm->children; n; n = n->next) {
        if (vmc_meta_is(n, "netns") && !meta->netns) {
            meta->netns = vmc_xml_text(n);
        } else if (vmc_meta_is(n, "serial-log") && !meta->serial_log) {
            meta->serial_log = vmc_xml_prop(n, "path");
        } else if (vmc_meta_is(n, "generated") && !generated) {
            g_autofree char *uuid = vmc_xml_prop(n, "uuid");
            g_autofree char *cmdline = vmc_xml_prop(n, "cmdline");

            generated = TRUE;
            meta->generated_uuid = g_strcmp0(uuid, "yes") == 0;
            meta->generated_cmdline = g_strcmp0(cmdline, "yes") == 0;
            meta->generated_macs = vmc_xml_prop(n, "macs");
        } else if (vmc_meta_is(n, "share")) {
            g_autofree char *tag = vmc_xml_prop(n, "tag");
            g_autofree char *host_path = vmc_xml_prop(n, "host-path");

            if (tag && host_path)
                vmc_meta_add_share(meta, tag, host_path);
        } else if (vmc_meta_is(n, "owned-tap")) {
            g_autofree char *dev = vmc_xml_prop(n, "dev");

            if (dev)
                vmc_meta_add_owned_tap(meta, dev);
        }
    }
    return meta;
}

VmcMeta *
vmc_meta_parse(const char *element)
{
    g_autoptr(xmlDoc) doc = element ? vmc_xml_parse(element, -1, NULL) : NULL;
    xmlNode *vm = doc ? xmlDocGetRootElement(doc) : NULL;

    if (!vm || !vmc_meta_is(vm, "vm"))
        return NULL;
    return vmc_meta_read(vm);
}

static xmlNode *
vmc_meta_child(xmlNode *parent, const char *name)
{
    return xmlNewChild(parent, parent->ns, (const xmlChar *) name, NULL);
}

static void
vmc_meta_prop(xmlNode *node, const char *name, const char *value)
{
    xmlSetProp(node, (const xmlChar *) name, (const xmlChar *) value);
}

/* The element's content, below @vm. */
static void
vmc_meta_write_into(const VmcMeta *meta, xmlNode *vm)
{
    vmc_meta_prop(vm, "namespace", meta->ns);
    if (meta->adopted)
        vmc_meta_prop(vm, "adopted", "yes");
    if (meta->netns)
        xmlNodeAddContent(vmc_meta_child(vm, "netns"), (const xmlChar *) meta->netns);
    if (meta->serial_log)
        vmc_meta_prop(vmc_meta_child(vm, "serial-log"), "path", meta->serial_log);
    if (meta->generated_uuid || meta->generated_cmdline || meta->generated_macs) {
        xmlNode *generated = vmc_meta_child(vm, "generated");

        if (meta->generated_uuid)
            vmc_meta_prop(generated, "uuid", "yes");
        if (meta->generated_cmdline)
            vmc_meta_prop(generated, "cmdline", "yes");
        if (meta->generated_macs)
            vmc_meta_prop(generated, "macs", meta->generated_macs);
    }
    for (guint i = 0; i < meta->shares->len; i++) {
        const VmcMetaShare *share = g_ptr_array_index(meta->shares, i);
        xmlNode *node = vmc_meta_child(vm, "share");

        vmc_meta_prop(node, "tag", share->tag);
        vmc_meta_prop(node, "host-path", share->host_path);
        vmc_meta_prop(node, "read-only-by", "bind-mount");
    }
    for (guint i = 0; i < meta->owned_taps->len; i++)
        vmc_meta_prop(vmc_meta_child(vm, "owned-tap"), "dev",
                      g_ptr_array_index(meta->owned_taps, i));
}

xmlNode *
vmc_meta_write(const VmcMeta *meta, xmlNode *parent)
{
    xmlNode *vm = xmlNewChild(parent, NULL, (const xmlChar *) "vm", NULL);

    xmlSetNs(vm, xmlNewNs(vm, (const xmlChar *) VMC_XML_NAMESPACE, (const xmlChar *) "vmc"));
    vmc_meta_write_into(meta, vm);
    return vm;
}

char *
vmc_meta_format(const VmcMeta *meta)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNode *vm = xmlNewNode(NULL, (const xmlChar *) "vm");

    xmlDocSetRootElement(doc, vm);
    vmc_meta_write_into(meta, vm);
    return vmc_xml_dump(doc);
}

/* ---- the Ready record ---------------------------------------------------- */

/* A valid address, as the marker scanner takes it. */
static gboolean
vmc_ready_ip_valid(const char *ip)
{
    g_autoptr(GInetAddress) addr = ip ? g_inet_address_new_from_string(ip) : NULL;

    return addr != NULL;
}

static gboolean
vmc_ready_record_read(xmlNode *ready, char **ip, guint *boot)
{
    g_autofree char *address = vmc_xml_prop(ready, "ip");
    g_autofree char *id = vmc_xml_prop(ready, "boot");
    guint64 n;

    if (!vmc_ready_ip_valid(address) || !id ||
        !g_ascii_string_to_unsigned(id, 10, 1, G_MAXUINT, &n, NULL))
        return FALSE;
    *ip = g_steal_pointer(&address);
    *boot = (guint) n;
    return TRUE;
}

char *
vmc_ready_record_format(const char *ip, guint boot, const char *const *stale_leases)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNode *ready = xmlNewNode(NULL, (const xmlChar *) "ready");
    char id[16];

    g_snprintf(id, sizeof(id), "%u", boot);
    xmlDocSetRootElement(doc, ready);
    if (ip)
        vmc_meta_prop(ready, "ip", ip);
    vmc_meta_prop(ready, "boot", id);
    for (const char *const *l = stale_leases; l && *l; l++)
        vmc_meta_prop(xmlNewChild(ready, NULL, (const xmlChar *) "stale-lease", NULL), "id", *l);
    return vmc_xml_dump(doc);
}

/* The record of @boot in the metadata of a domain document, or NULL. */
static xmlNode *
vmc_ready_record_node(xmlDoc *doc, guint boot)
{
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

    for (xmlNode *m = root ? root->children : NULL; m; m = m->next) {
        if (!vmc_meta_is(m, "metadata"))
            continue;
        for (xmlNode *r = m->children; r; r = r->next) {
            g_autofree char *id = NULL;
            guint64 n;

            if (!vmc_meta_is(r, "ready") || !r->ns ||
                !xmlStrEqual(r->ns->href, (const xmlChar *) VMC_READY_NAMESPACE))
                continue;
            id = vmc_xml_prop(r, "boot");
            if (id && g_ascii_string_to_unsigned(id, 10, 1, G_MAXUINT, &n, NULL) && n == boot)
                return r;
        }
    }
    return NULL;
}

GStrv
vmc_ready_record_stale_leases(xmlDoc *doc, guint boot)
{
    xmlNode *ready = vmc_ready_record_node(doc, boot);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    for (xmlNode *n = ready ? ready->children : NULL; n; n = n->next) {
        g_autofree char *id = vmc_meta_is(n, "stale-lease") ? vmc_xml_prop(n, "id") : NULL;

        if (id)
            g_strv_builder_add(b, id);
    }
    return g_strv_builder_end(b);
}

char *
vmc_ready_record_parse(const char *element, guint boot)
{
    g_autoptr(xmlDoc) doc = element ? vmc_xml_parse(element, -1, NULL) : NULL;
    xmlNode *ready = doc ? xmlDocGetRootElement(doc) : NULL;
    g_autofree char *ip = NULL;
    guint of = 0;

    if (!ready || !xmlStrEqual(ready->name, (const xmlChar *) "ready") ||
        !vmc_ready_record_read(ready, &ip, &of) || of != boot)
        return NULL;
    return g_steal_pointer(&ip);
}

char *
vmc_ready_record_find(xmlDoc *doc, guint boot)
{
    xmlNode *ready = vmc_ready_record_node(doc, boot);
    g_autofree char *ip = NULL;
    guint of = 0;

    return ready && vmc_ready_record_read(ready, &ip, &of) ? g_steal_pointer(&ip) : NULL;
}
