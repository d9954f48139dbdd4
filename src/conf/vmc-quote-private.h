/*
 * vmc-quote-private.h: values from users and hosts made safe to print
 * (vmc-quote.c): internal to virt-vmconfig, compiled into the core, the
 * libvirt driver module and the CLI, never exported
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/* FALSE for what vmc_quote_value() escapes: controls, format characters
 * (bidi, zero-width) and line separators. */
gboolean vmc_char_is_inert(gunichar c);

/* @value in double quotes, with what could act on a terminal or forge a
 * line escaped (\xNN, \uNNNN), the quote and backslash too. */
char *vmc_quote_value(const char *value);

/* @text with the same characters escaped, unquoted: for libvirt's and
 * QEMU's own messages. */
char *vmc_escape_text(const char *text);
