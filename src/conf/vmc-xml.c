/*
 * vmc-xml.c: libxml2 lookup helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"
#include "vmc-xml-private.h"

#include <string.h>

xmlNode *
vmc_xml_find(xmlXPathContext *ctxt, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression((const xmlChar *) xpath, ctxt);

    if (!obj || obj->type != XPATH_NODESET || !obj->nodesetval || obj->nodesetval->nodeNr == 0)
        return NULL;
    return obj->nodesetval->nodeTab[0];
}

GPtrArray *
vmc_xml_find_all(xmlXPathContext *ctxt, const char *xpath)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression((const xmlChar *) xpath, ctxt);
    GPtrArray *nodes = g_ptr_array_new();

    if (obj && obj->type == XPATH_NODESET && obj->nodesetval) {
        for (int i = 0; i < obj->nodesetval->nodeNr; i++)
            g_ptr_array_add(nodes, obj->nodesetval->nodeTab[i]);
    }
    return nodes;
}

static char *
vmc_xml_steal(xmlChar *value)
{
    char *copy;

    if (!value)
        return NULL;
    copy = g_strdup((const char *) value);
    xmlFree(value);
    return copy;
}

char *
vmc_xml_text(xmlNode *node)
{
    return node ? vmc_xml_steal(xmlNodeGetContent(node)) : NULL;
}

char *
vmc_xml_prop(xmlNode *node, const char *name)
{
    return node ? vmc_xml_steal(xmlGetProp(node, (const xmlChar *) name)) : NULL;
}

xmlDoc *
vmc_xml_parse(const char *xml, gssize len, GError **error)
{
    xmlDoc *doc;

    if (len < 0)
        len = strlen(xml);
    if (len > G_MAXINT) {
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "domain XML is too large");
        return NULL;
    }
    doc = xmlReadMemory(xml, (int) len, "domain.xml", "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *err = xmlGetLastError();
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML is not well-formed: line %d: %s", err ? err->line : 0,
                    err && err->message ? g_strchomp(err->message) : "parse error");
        return NULL;
    }
    return doc;
}

char *
vmc_xml_dump(xmlDoc *doc)
{
    xmlChar *text = NULL;
    int len = 0;
    char *copy;

    xmlDocDumpMemory(doc, &text, &len);
    copy = g_strndup((const char *) text, len);
    xmlFree(text);
    return copy;
}
