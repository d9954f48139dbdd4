/*
 * fuzz-common.h: what the libFuzzer targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A run is quiet: debug, info and message output is dropped. A warning or
 * a critical (a g_return_if_fail() that fired, say) is a bug that the
 * input found, so it is printed and the input counts as a crash. */
static inline GLogWriterOutput
fuzz_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
        return G_LOG_WRITER_HANDLED;
    g_log_writer_standard_streams(level, fields, n_fields, data);
    fprintf(stderr, "fuzz: GLib logged a warning or critical: treating it as a crash\n");
    abort();
}

static inline void
fuzz_init_logging(void)
{
    g_log_set_writer_func(fuzz_log_writer, NULL, NULL);
}

/* Stops the run on a broken invariant, saying which and showing @a and
 * @b (configs, as JSON) and @xml when given. */
static inline G_GNUC_NORETURN void
fuzz_fail(const char *what, const VmcConfig *a, const VmcConfig *b, const char *xml,
          const char *detail)
{
    fprintf(stderr, "fuzz: %s\n", what);
    if (detail)
        fprintf(stderr, "fuzz: %s\n", detail);
    if (a) {
        g_autofree char *json = vmc_config_to_json(a);
        fprintf(stderr, "-- first config --\n%s", json);
    }
    if (b) {
        g_autofree char *json = vmc_config_to_json(b);
        fprintf(stderr, "-- read back --\n%s", json);
    }
    if (xml)
        fprintf(stderr, "-- domain XML --\n%s", xml);
    abort();
}

/* Options that make rendering look at nothing on this host: TCG, and the
 * config's paths taken as another host's (no disk header is read); a user
 * NIC gets @user_backend. */
static inline VmcRenderOptions *
fuzz_render_options(VmcUserBackend user_backend)
{
    VmcRenderOptions *opts = vmc_render_options_new();

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);
    vmc_render_options_set_user_backend(opts, user_backend);
    return opts;
}

static inline gboolean
fuzz_config_has_forwards(const VmcConfig *cfg)
{
    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++)
        if (vmc_network_attachment_get_n_forwards(vmc_config_get_network(cfg, i)))
            return TRUE;
    return FALSE;
}

/* @cfg (valid) rendered with @opts and read back must give @cfg again, with
 * no warnings: the promise of vmc_config_from_domain_xml(). */
static inline void
fuzz_check_round_trip_with(const VmcConfig *cfg, const VmcRenderOptions *opts)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autoptr(VmcConfig) back = NULL;

    xml = vmc_config_to_domain_xml(cfg, opts, &error);
    if (!xml)
        fuzz_fail("a config that validates does not render", cfg, NULL, NULL, error->message);
    back = vmc_config_from_domain_xml(xml, &warnings, &error);
    if (!back)
        fuzz_fail("the rendered domain XML does not read back", cfg, NULL, xml, error->message);
    if (warnings && warnings[0])
        fuzz_fail("reading back our own domain XML warned", cfg, back, xml, warnings[0]);
    if (!vmc_config_equal(cfg, back))
        fuzz_fail("config -> domain XML -> config is not the same config", cfg, back, xml, NULL);
}

/* A valid @cfg renders and reads back with the passt backend; with slirp
 * too, unless it forwards ports, which slirp cannot: then rendering is
 * refused as an invalid config, and nothing else. */
static inline void
fuzz_check_xml_round_trip(const VmcConfig *cfg, const VmcRenderOptions *slirp,
                          const VmcRenderOptions *passt)
{
    fuzz_check_round_trip_with(cfg, passt);
    if (fuzz_config_has_forwards(cfg)) {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = vmc_config_to_domain_xml(cfg, slirp, &error);

        if (xml)
            fuzz_fail("port forwards rendered on a slirp NIC", cfg, NULL, xml, NULL);
        if (error->domain != VMC_ERROR || error->code != VMC_ERROR_INVALID_CONFIG)
            fuzz_fail("port forwards on slirp refused, but not as an invalid config", cfg,
                      NULL, NULL, error->message);
        return;
    }
    fuzz_check_round_trip_with(cfg, slirp);
}
