/*
 * vmc-json-strict.c: VM config files are RFC 8259 JSON, nothing more, and
 * bounded
 *
 * json-glib takes more than JSON (comments, 010 and 0x10 as numbers,
 * content after the top-level value), cuts a string at a \u0000 escape
 * (so "/boot/vmlinuz\u0000/../x" would become "/boot/vmlinuz"), and
 * recurses without bound on nested arrays (a stack overflow). So the text
 * is checked here first, by a parser of the grammar alone, bounded in size
 * and nesting depth; json-glib then builds the tree.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <string.h>

typedef struct {
    const char *p;
    const char *start;
    const char *end;
    const char *origin;
    GError **error;
} VmcJsonScan;

static gboolean G_GNUC_PRINTF(2, 3)
vmc_scan_fail(VmcJsonScan *s, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    guint line = 1, column = 1;
    va_list args;

    for (const char *c = s->start; c < s->p && c < s->end; c++) {
        if (*c == '\n') {
            line++;
            column = 1;
        } else if (((guchar) *c & 0xc0) != 0x80) {
            column++;
        }
    }
    va_start(args, fmt);
    what = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_set_error(s->error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG, "%s:%u:%u: %s", s->origin, line,
                column, what);
    return FALSE;
}

/* What is wrong where @expected was wanted: a comment says so. */
static gboolean
vmc_scan_unexpected(VmcJsonScan *s, const char *expected)
{
    if (s->p < s->end && *s->p == '/')
        return vmc_scan_fail(s, "a comment: JSON has none");
    return vmc_scan_fail(s, "%s", expected);
}

static void
vmc_scan_space(VmcJsonScan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int
vmc_hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static gboolean
vmc_scan_string(VmcJsonScan *s)
{
    s->p++;   /* the opening quote */
    while (s->p < s->end) {
        guchar c = (guchar) *s->p;

        if (c == '"') {
            s->p++;
            return TRUE;
        }
        if (c < 0x20)
            return vmc_scan_fail(s, "a control character (0x%02x) inside a string; write it as "
                                    "an escape, or leave it out", c);
        if (c != '\\') {
            s->p++;
            continue;
        }
        if (s->p + 1 >= s->end)
            break;
        switch (s->p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            s->p += 2;
            break;
        case 'u': {
            int unit = s->p + 6 <= s->end ? vmc_hex4(s->p + 2) : -1;

            if (unit < 0)
                return vmc_scan_fail(s, "\\u must be followed by four hex digits");
            if (unit == 0)
                return vmc_scan_fail(s, "a NUL character (\\u0000) inside a string: no VM config "
                                        "value may hold one");
            if (unit >= 0xdc00 && unit <= 0xdfff)
                return vmc_scan_fail(s, "a lone low surrogate (\\u%04x) inside a string", unit);
            if (unit >= 0xd800 && unit <= 0xdbff) {
                int low = s->p + 12 <= s->end && s->p[6] == '\\' && s->p[7] == 'u'
                              ? vmc_hex4(s->p + 8)
                              : -1;
                if (low < 0xdc00 || low > 0xdfff)
                    return vmc_scan_fail(s, "a lone high surrogate (\\u%04x) inside a string",
                                         unit);
                s->p += 6;
            }
            s->p += 6;
            break;
        }
        default:
            return vmc_scan_fail(s, "'\\%c' is not a JSON escape", s->p[1]);
        }
    }
    return vmc_scan_fail(s, "a string that does not end");
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static gboolean
vmc_scan_number(VmcJsonScan *s)
{
    const char *p = s->p;

    if (p < s->end && *p == '-')
        p++;
    if (p < s->end && *p == '0') {
        p++;
        if (p < s->end && g_ascii_isalnum(*p) && *p != 'e' && *p != 'E')
            return vmc_scan_fail(s, "a number with a leading zero, or in hex or octal: JSON "
                                    "numbers are decimal");
    } else if (p < s->end && *p >= '1' && *p <= '9') {
        while (p < s->end && g_ascii_isdigit(*p))
            p++;
    } else {
        return vmc_scan_fail(s, "not a JSON value");
    }
    if (p < s->end && *p == '.') {
        if (++p >= s->end || !g_ascii_isdigit(*p))
            return vmc_scan_fail(s, "a number needs digits after its decimal point");
        while (p < s->end && g_ascii_isdigit(*p))
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= s->end || !g_ascii_isdigit(*p))
            return vmc_scan_fail(s, "a number needs digits in its exponent");
        while (p < s->end && g_ascii_isdigit(*p))
            p++;
    }
    if (p < s->end && (g_ascii_isalnum(*p) || *p == '.'))
        return vmc_scan_fail(s, "not a JSON number");
    if (!memchr(s->p, '.', p - s->p) && !memchr(s->p, 'e', p - s->p) &&
        !memchr(s->p, 'E', p - s->p)) {
        /* json-glib reads whole numbers as gint64 and wraps larger ones */
        g_autofree char *digits = g_strndup(s->p, p - s->p);
        gint64 value;

        if (!g_ascii_string_to_signed(digits, 10, G_MININT64, G_MAXINT64, &value, NULL))
            return vmc_scan_fail(s, "the whole number is beyond what JSON readers hold "
                                    "exactly (-2^63 to 2^63-1)");
    }
    s->p = p;
    return TRUE;
}

static gboolean vmc_scan_value(VmcJsonScan *s, guint depth);

static gboolean
vmc_scan_container(VmcJsonScan *s, guint depth)
{
    char close = *s->p == '{' ? '}' : ']';
    gboolean object = close == '}';
    const char *after;

    if (depth >= VMC_JSON_MAX_DEPTH)
        return vmc_scan_fail(s, "nested deeper than %u levels (the most a VM config may have)",
                             VMC_JSON_MAX_DEPTH);
    s->p++;
    vmc_scan_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return TRUE;
    }
    for (;;) {
        if (object) {
            if (s->p >= s->end || *s->p != '"')
                return vmc_scan_unexpected(s, "expected a member name in quotes");
            if (!vmc_scan_string(s))
                return FALSE;
            vmc_scan_space(s);
            if (s->p >= s->end || *s->p != ':')
                return vmc_scan_unexpected(s, "expected ':' after a member name");
            s->p++;
            vmc_scan_space(s);
        }
        if (!vmc_scan_value(s, depth + 1))
            return FALSE;
        after = s->p;
        vmc_scan_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            vmc_scan_space(s);
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return TRUE;
        }
        if (s->p < s->end && *s->p == '/')
            return vmc_scan_unexpected(s, "");
        /* Said where the comma is missing: right after the value. */
        s->p = after;
        return vmc_scan_fail(s, "expected ',' or '%c' after this value", close);
    }
}

static gboolean
vmc_scan_literal(VmcJsonScan *s, const char *word)
{
    gsize n = strlen(word);

    if ((gsize) (s->end - s->p) < n || memcmp(s->p, word, n) != 0 ||
        (s->p + n < s->end && g_ascii_isalnum(s->p[n])))
        return vmc_scan_fail(s, "not a JSON value");
    s->p += n;
    return TRUE;
}

static gboolean
vmc_scan_value(VmcJsonScan *s, guint depth)
{
    if (s->p >= s->end)
        return vmc_scan_fail(s, "a value is missing");
    switch (*s->p) {
    case '{':
    case '[':
        return vmc_scan_container(s, depth);
    case '"':
        return vmc_scan_string(s);
    case 't':
        return vmc_scan_literal(s, "true");
    case 'f':
        return vmc_scan_literal(s, "false");
    case 'n':
        return vmc_scan_literal(s, "null");
    case '/':
        return vmc_scan_fail(s, "a comment: JSON has none");
    default:
        return vmc_scan_number(s);
    }
}

/**
 * vmc_json_check_strict:
 * @data: the text
 * @length: its length in bytes
 * @origin: the file name for messages
 * @error: return location for a #GError, or %NULL
 *
 * Whether @data is one RFC 8259 JSON value, in UTF-8, with no NUL (raw or
 * escaped), no lone surrogate, at most %VMC_JSON_MAX_BYTES long and nested
 * at most %VMC_JSON_MAX_DEPTH deep.
 *
 * Returns: %TRUE, or %FALSE with %VMC_ERROR_INVALID_CONFIG saying where and
 *   what.
 */
gboolean
vmc_json_check_strict(const char *data, gsize length, const char *origin, GError **error)
{
    VmcJsonScan s = { data, data, data + length, origin, error };
    const char *bad = NULL;

    if (length > VMC_JSON_MAX_BYTES) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "%s: %" G_GSIZE_FORMAT " bytes; a VM config may have at most %u", origin,
                    length, VMC_JSON_MAX_BYTES);
        return FALSE;
    }
    if (!g_utf8_validate(data, (gssize) length, &bad)) {
        s.p = bad;
        return vmc_scan_fail(&s, bad < s.end && *bad == '\0'
                                     ? "a NUL byte: a VM config is text"
                                     : "not UTF-8 text");
    }
    vmc_scan_space(&s);
    if (s.p == s.end)
        return TRUE;   /* no value at all: the loader says so */
    if (!vmc_scan_value(&s, 0))
        return FALSE;
    vmc_scan_space(&s);
    if (s.p < s.end)
        return vmc_scan_unexpected(&s, "content after the JSON value");
    return TRUE;
}
