/*
 * vmc-error.c: the VMC_ERROR domain, carrying libvirt's own code
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

typedef struct {
    int libvirt_code;
    int libvirt_domain;
} VmcErrorPrivate;

static void
vmc_error_private_init(VmcErrorPrivate *priv)
{
    priv->libvirt_code = 0;
    priv->libvirt_domain = 0;
}

static void
vmc_error_private_copy(const VmcErrorPrivate *src, VmcErrorPrivate *dest)
{
    *dest = *src;
}

static void
vmc_error_private_clear(VmcErrorPrivate *priv)
{
}

G_DEFINE_EXTENDED_ERROR(VmcError, vmc_error)

static const char *const vmc_error_names[] = {
    [VMC_ERROR_BOOT_FAILED] = "BOOT_FAILED",
    [VMC_ERROR_NOT_FOUND] = "NOT_FOUND",
    [VMC_ERROR_STOP_FAILED] = "STOP_FAILED",
    [VMC_ERROR_STATE_FAILED] = "STATE_FAILED",
    [VMC_ERROR_HYPERVISOR] = "HYPERVISOR",
    [VMC_ERROR_IO] = "IO",
    [VMC_ERROR_INVALID_CONFIG] = "INVALID_CONFIG",
};

/**
 * vmc_error_code_to_string:
 * @code: a #VmcError
 *
 * Returns: the code's name without prefix (e.g. "NOT_FOUND"), or "UNKNOWN".
 */
const char *
vmc_error_code_to_string(VmcError code)
{
    if ((guint) code >= G_N_ELEMENTS(vmc_error_names))
        return "UNKNOWN";
    return vmc_error_names[code];
}

/**
 * vmc_error_code_from_string:
 * @str: a code name as vmc_error_code_to_string() returns it
 * @code: (out): where to store the code
 *
 * Returns: %TRUE if @str names a code.
 */
gboolean
vmc_error_code_from_string(const char *str, VmcError *code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(vmc_error_names); i++) {
        if (g_strcmp0(str, vmc_error_names[i]) == 0) {
            *code = (VmcError) i;
            return TRUE;
        }
    }
    return FALSE;
}

/**
 * vmc_error_get_libvirt_code:
 * @error: a #GError of the %VMC_ERROR domain
 *
 * Returns: libvirt's virErrorNumber behind @error, or 0 when libvirt did
 * not produce it.
 */
int
vmc_error_get_libvirt_code(const GError *error)
{
    VmcErrorPrivate *priv;

    if (!error || error->domain != VMC_ERROR)
        return 0;
    priv = vmc_error_get_private(error);
    return priv ? priv->libvirt_code : 0;
}

/**
 * vmc_error_get_libvirt_domain:
 * @error: a #GError of the %VMC_ERROR domain
 *
 * Returns: libvirt's virErrorDomain behind @error, or 0 when libvirt did
 * not produce it.
 */
int
vmc_error_get_libvirt_domain(const GError *error)
{
    VmcErrorPrivate *priv;

    if (!error || error->domain != VMC_ERROR)
        return 0;
    priv = vmc_error_get_private(error);
    return priv ? priv->libvirt_domain : 0;
}

void
vmc_error_set_libvirt_origin(GError *error, int libvirt_code, int libvirt_domain)
{
    VmcErrorPrivate *priv;

    g_return_if_fail(error && error->domain == VMC_ERROR);
    priv = vmc_error_get_private(error);
    priv->libvirt_code = libvirt_code;
    priv->libvirt_domain = libvirt_domain;
}
