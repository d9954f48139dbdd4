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

/* The file a domain's first serial port writes to: the log of a pty port
 * (what the render makes: a console stream and a log on the host), or the
 * file of a file port (what earlier versions rendered); NULL for none. */
char *
vmc_xml_serial_log(xmlXPathContext *ctxt)
{
    xmlNode *serial = vmc_xml_find(ctxt, "/domain/devices/serial");
    g_autofree char *type = vmc_xml_prop(serial, "type");
    char *log = NULL;

    for (xmlNode *c = serial ? serial->children : NULL; c && !log; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrEqual(c->name, (const xmlChar *) "log"))
            log = vmc_xml_prop(c, "file");
        else if (xmlStrEqual(c->name, (const xmlChar *) "source") &&
                 g_strcmp0(type, "file") == 0)
            log = vmc_xml_prop(c, "path");
    }
    return log;
}

/* A document type declaration is where entities are declared; libvirt
 * never writes one. The parser stops at its first token, before any
 * entity is read, let alone expanded. */
static void
vmc_xml_refuse_dtd(void *data, const xmlChar *name, const xmlChar *external_id,
                   const xmlChar *system_id)
{
    xmlParserCtxt *ctxt = data;

    *(gboolean *) ctxt->_private = TRUE;
    xmlStopParser(ctxt);
}

xmlDoc *
vmc_xml_parse(const char *xml, gssize len, GError **error)
{
    xmlParserCtxt *ctxt;
    xmlDoc *doc;
    const char *nul;
    gboolean dtd = FALSE;

    if (len < 0)
        len = strlen(xml);
    if (len > VMC_XML_MAX_BYTES) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML is %" G_GSSIZE_FORMAT " bytes long: at most %d (4 MiB) are read",
                    len, VMC_XML_MAX_BYTES);
        return NULL;
    }
    nul = memchr(xml, '\0', len);
    if (nul) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML has a NUL byte at offset %td: XML holds no NUL", nul - xml);
        return NULL;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_IO, "out of memory reading domain XML");
        return NULL;
    }
    ctxt->sax->internalSubset = vmc_xml_refuse_dtd;
    ctxt->_private = &dtd;
    doc = xmlCtxtReadMemory(ctxt, xml, (int) len, "domain.xml", "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    if (dtd) {
        g_clear_pointer(&doc, xmlFreeDoc);
        g_set_error_literal(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                            "domain XML has a document type declaration (<!DOCTYPE ...>): "
                            "libvirt never writes one, and its entities are not read");
    } else if (!doc || !ctxt->wellFormed) {
        const xmlError *err = xmlCtxtGetLastError(ctxt);
        g_autofree char *raw = g_strdup(err && err->message ? err->message : "parse error");
        g_autofree char *msg = vmc_escape_text(g_strchomp(raw));

        g_clear_pointer(&doc, xmlFreeDoc);
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "domain XML is not well-formed: line %d: %s", err ? err->line : 0, msg);
    }
    xmlFreeParserCtxt(ctxt);
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
