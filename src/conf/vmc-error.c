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

/**
 * vmc_error_quark:
 *
 * Returns: the #GQuark of the %VMC_ERROR domain.
 *
 * Since: 0.1
 */
G_DEFINE_EXTENDED_ERROR(VmcError, vmc_error)

VMC_ENUM_IMPL(vmc_error_code, VMC_ERROR_INVALID_CONFIG + 1,
              "BOOT_FAILED", "NOT_FOUND", "STOP_FAILED", "STATE_FAILED", "HYPERVISOR", "IO",
              "INVALID_CONFIG")

/**
 * vmc_error_code_to_string:
 * @code: a #VmcError
 *
 * Returns: the code's name without prefix (e.g. "NOT_FOUND"), or "UNKNOWN".
 *
 * Since: 0.1
 */
const char *
vmc_error_code_to_string(VmcError code)
{
    const char *name = vmc_error_code_to_str((int) code);

    return name ? name : "UNKNOWN";
}

/**
 * vmc_error_code_from_string:
 * @str: a code name as vmc_error_code_to_string() returns it
 * @code: (out): where to store the code
 *
 * Returns: %TRUE if @str names a code.
 *
 * Since: 0.1
 */
gboolean
vmc_error_code_from_string(const char *str, VmcError *code)
{
    int value = vmc_error_code_from_str(str);

    if (value < 0)
        return FALSE;
    *code = (VmcError) value;
    return TRUE;
}

/**
 * vmc_error_get_libvirt_code:
 * @error: a #GError of the %VMC_ERROR domain
 *
 * Returns: libvirt's virErrorNumber behind @error, or 0 when libvirt did
 * not produce it.
 *
 * Since: 0.1
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
 *
 * Since: 0.1
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

/**
 * vmc_error_set_libvirt_origin:
 * @error: a #GError of the %VMC_ERROR domain
 * @libvirt_code: libvirt's virErrorNumber
 * @libvirt_domain: libvirt's virErrorDomain
 *
 * For driver modules: records the hypervisor's own error behind @error,
 * for vmc_error_get_libvirt_code() and vmc_error_get_libvirt_domain().
 * Any thread.
 *
 * Since: 0.1
 */
void
vmc_error_set_libvirt_origin(GError *error, int libvirt_code, int libvirt_domain)
{
    VmcErrorPrivate *priv;

    g_return_if_fail(error && error->domain == VMC_ERROR);
    priv = vmc_error_get_private(error);
    priv->libvirt_code = libvirt_code;
    priv->libvirt_domain = libvirt_domain;
}
