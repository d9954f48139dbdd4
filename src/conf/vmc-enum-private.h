/*
 * vmc-enum-private.h: enum <-> string vocabularies, each written once
 *
 * In the style of libvirt's VIR_ENUM_IMPL: one list of strings, in the
 * enum's order, checked against the enum's size at compile time, gives
 *
 *   static const char *NAME_to_str(int value);     NULL when out of range
 *   static int NAME_from_str(const char *str);     -1 when unknown
 *
 * which the public *_to_string() / *_from_string() functions wrap.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#define VMC_ENUM_IMPL(name, last, ...)                                                  \
    static const char *const name##_strings[] = { __VA_ARGS__ };                       \
    G_STATIC_ASSERT(G_N_ELEMENTS(name##_strings) == (gsize) (last));                   \
    G_GNUC_UNUSED static const char *                                                  \
    name##_to_str(int value)                                                           \
    {                                                                                  \
        if (value < 0 || (gsize) value >= G_N_ELEMENTS(name##_strings))                \
            return NULL;                                                               \
        return name##_strings[value];                                                  \
    }                                                                                  \
    G_GNUC_UNUSED static int                                                           \
    name##_from_str(const char *str)                                                   \
    {                                                                                  \
        for (gsize i = 0; str && i < G_N_ELEMENTS(name##_strings); i++) {              \
            if (g_str_equal(str, name##_strings[i]))                                   \
                return (int) i;                                                        \
        }                                                                              \
        return -1;                                                                     \
    }
