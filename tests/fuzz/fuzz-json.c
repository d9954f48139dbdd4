/*
 * fuzz-json.c: libFuzzer target for VM configs in JSON
 *
 * Any input: loading never crashes, hangs nor leaks. A config that loads
 * writes to JSON that loads to an equal config; one that also validates
 * renders to domain XML that reads back to an equal config, without
 * warnings. A broken promise aborts, printing both configs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

static VmcRenderOptions *slirp;
static VmcRenderOptions *passt;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_logging();
    slirp = fuzz_render_options(VMC_USER_BACKEND_SLIRP);
    passt = fuzz_render_options(VMC_USER_BACKEND_PASST);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcConfig) again = NULL;
    g_autofree char *json = NULL;

    if (size > G_MAXSSIZE)
        return 0;
    cfg = vmc_config_load_data((const char *) data, (gssize) size, &error);
    if (!cfg) {
        if (!error || error->domain != VMC_ERROR || error->code != VMC_ERROR_INVALID_CONFIG)
            fuzz_fail("a config that does not load gives no INVALID_CONFIG error", NULL, NULL,
                      NULL, error ? error->message : "no error at all");
        return 0;
    }

    json = vmc_config_to_json(cfg);
    again = vmc_config_load_data(json, -1, &error);
    if (!again) {
        g_autofree char *detail = g_strdup_printf("%s\n-- its JSON --\n%s", error->message, json);
        fuzz_fail("a loaded config's JSON does not load again", cfg, NULL, NULL, detail);
    }
    if (!vmc_config_equal(cfg, again))
        fuzz_fail("config -> JSON -> config is not the same config", cfg, again, NULL, NULL);

    g_clear_error(&error);
    if (vmc_config_validate(cfg, &error))
        fuzz_check_xml_round_trip(cfg, slirp, passt);
    return 0;
}
