/*
 * vmc-xml-private.h: libxml2 ownership and lookup helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlNode, xmlFreeNode)

/* User aliases of our disks: "ua-" + role, e.g. "ua-vmc-root-disk". */
#define VMC_DISK_ALIAS_PREFIX "ua-vmc-"

/* The first node @xpath finds below @ctxt's node, or NULL. */
xmlNode *vmc_xml_find(xmlXPathContext *ctxt, const char *xpath);

/* Every node @xpath finds, in document order; free with g_ptr_array_unref. */
GPtrArray *vmc_xml_find_all(xmlXPathContext *ctxt, const char *xpath);

/* A copy of @node's text, or of its attribute @name; NULL when absent. */
char *vmc_xml_text(xmlNode *node);
char *vmc_xml_prop(xmlNode *node, const char *name);
char *vmc_xml_serial_log(xmlXPathContext *ctxt);

/* @doc as text (with its XML declaration), for libvirt calls that take XML. */
char *vmc_xml_dump(xmlDoc *doc);

/* Parses XML that may come from anyone: at most VMC_XML_MAX_BYTES, no
 * NUL, no document type declaration (so no entities), no network. */
#define VMC_XML_MAX_BYTES (4 * 1024 * 1024)
xmlDoc *vmc_xml_parse(const char *xml, gssize len, GError **error);
