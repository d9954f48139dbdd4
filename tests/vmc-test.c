/*
 * vmc-test.c: helpers the test programs share
 */
#include "vmc-test.h"

#include <string.h>

gboolean
vmc_test_read_expectation(const char *path, VmcTestExpectation *out)
{
    g_autofree char *base = g_str_has_suffix(path, ".json")
                                ? g_strndup(path, strlen(path) - strlen(".json"))
                                : g_strdup(path);
    g_autofree char *expect_path = g_strconcat(base, ".expect", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) parts = NULL;

    if (!g_file_get_contents(expect_path, &text, NULL, NULL))
        return FALSE;
    parts = g_strsplit(g_strstrip(text), " ", 2);
    if (!parts[0] || !parts[1] || !vmc_error_code_from_string(parts[0], &out->code))
        return FALSE;
    out->fragment = g_strdup(parts[1]);
    return TRUE;
}

void
vmc_test_expectation_clear(VmcTestExpectation *exp)
{
    g_clear_pointer(&exp->fragment, g_free);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
vmc_test_list_dir(const char *dir, const char *suffix)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        if (g_str_has_suffix(name, suffix))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, compare_names);
    return names;
}
