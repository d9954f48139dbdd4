/*
 * fuzz-xml.c: libFuzzer target for reading libvirt domain XML
 *
 * Any input: reading never crashes, hangs nor leaks. A domain that reads
 * into a config that validates renders to domain XML that reads back to
 * an equal config, without warnings (whatever the first read warned).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

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
    g_auto(GStrv) warnings = NULL;
    /* the bytes as a file holds them: a NUL among them is data, not an end */
    g_autoptr(VmcConfig) cfg = vmc_config_from_domain_xml_data((const char *) data, (gssize) size,
                                                               &warnings, &error);

    if (!cfg) {
        if (!error || error->domain != VMC_ERROR || error->code != VMC_ERROR_INVALID_CONFIG)
            fuzz_fail("a domain that does not read gives no INVALID_CONFIG error", NULL, NULL,
                      NULL, error ? error->message : "no error at all");
        return 0;
    }
    if (!warnings)
        fuzz_fail("a domain read back with warnings requested gives no warning list", cfg, NULL,
                  NULL, NULL);
    if (vmc_config_validate(cfg, NULL))
        fuzz_check_xml_round_trip(cfg, slirp, passt);
    return 0;
}
