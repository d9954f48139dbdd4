/*
 * vmc-quote.c: user-supplied values made safe for messages
 *
 * A value that came from a config, a domain XML, a file name or libvirt
 * may hold anything: terminal escape sequences, a newline that starts a
 * forged line of a log, C1 controls some terminals obey, or bidirectional
 * overrides that make text read differently than it is. Every message
 * that carries such a value carries it through here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-quote-private.h"

#include <string.h>

/* Shown as they are: everything but controls (C0, DEL, C1), format
 * characters (bidi embeddings, overrides and isolates, zero-width
 * characters, the BOM), the line and paragraph separators and the
 * noncharacters. */
gboolean
vmc_char_is_inert(gunichar c)
{
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        return FALSE;
    /* Noncharacters: U+FFFE and U+FFFF are not even XML characters. */
    if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
        return FALSE;
    switch (g_unichar_type(c)) {
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_CONTROL:
        return FALSE;
    default:
        return TRUE;
    }
}

/* Appends @text escaped, at most @max_chars characters of it (0: all);
 * with @quote, the quote and the backslash are escaped too. */
static void
vmc_escape_append(GString *out, const char *text, gsize max_chars, gboolean quote)
{
    gsize chars = 0;
    const char *p = text;

    while (*p) {
        gunichar c = g_utf8_get_char_validated(p, -1);

        if (max_chars && ++chars > max_chars) {
            g_string_append(out, "...");
            return;
        }
        if (c == (gunichar) -1 || c == (gunichar) -2) {
            /* not UTF-8: the byte itself, in hex */
            g_string_append_printf(out, "\\x%02x", (guchar) *p);
            p++;
            continue;
        }
        if (c < 0x80 && !vmc_char_is_inert(c))
            g_string_append_printf(out, "\\x%02x", c);
        else if (!vmc_char_is_inert(c))
            g_string_append_printf(out, "\\u%04x", c);
        else if (quote && (c == '\\' || c == '\''))
            g_string_append_printf(out, "\\%c", (char) c);
        else
            g_string_append_unichar(out, c);
        p = g_utf8_next_char(p);
    }
}

/*
 * vmc_quote_value:
 * @value: (nullable): a value from a user, a file or a host
 *
 * Quotes @value for a message or a warning: in single quotes, with the
 * quote and backslash escaped, control characters (C0, DEL and C1),
 * Unicode format characters (bidi overrides and isolates, zero-width
 * characters) and line separators written as `\xNN` or `\uNNNN`, bytes
 * that are not UTF-8 as `\xNN`, and cut after 64 characters with "...".
 * The result cannot move a terminal's cursor, change its colours, start a
 * line of its own in a log, or reorder the text around it.
 *
 * Returns: (transfer full): the quoted value, or "(none)" for %NULL
 */
char *
vmc_quote_value(const char *value)
{
    GString *out;

    if (!value)
        return g_strdup("(none)");
    out = g_string_new("'");
    vmc_escape_append(out, value, 64, TRUE);
    g_string_append_c(out, '\'');
    return g_string_free(out, FALSE);
}

/*
 * vmc_escape_text:
 * @text: (nullable): text that may hold values from others, such as a
 *   message of libvirt's or a file name
 *
 * Escapes in @text what vmc_quote_value() escapes, without quoting it
 * and without shortening it.
 *
 * Returns: (transfer full): the escaped text ("" for %NULL)
 */
char *
vmc_escape_text(const char *text)
{
    GString *out = g_string_new(NULL);

    if (text)
        vmc_escape_append(out, text, 0, FALSE);
    return g_string_free(out, FALSE);
}
