/*
 * vmc-libvirt-error.c: libvirt's errors as VMC_ERROR errors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-libvirt-private.h"

#define ANY_DOMAIN (-1)
#define ANY_OP ((VmcOperation) -1)
/* The failure of one operation on one VM: the operation's own code. */
#define OWN_CODE ((VmcError) -1)

typedef struct {
    int code;           /* virErrorNumber */
    int domain;         /* virErrorDomain or ANY_DOMAIN */
    VmcOperation op;    /* or ANY_OP */
    VmcError result;    /* or OWN_CODE */
} VmcLibvirtErrorRow;

/* Consulted in order, first match wins, so a row that names a domain or an
 * operation comes before the wider row for the same code. Codes with no row
 * get the operation's own code too; the OWN_CODE rows name the codes that
 * libvirt is known to report to us, so that each is decided here rather
 * than by accident. */
static const VmcLibvirtErrorRow vmc_libvirt_error_rows[] = {
    /* A missing domain, whatever we were doing with it. */
    { VIR_ERR_NO_DOMAIN, ANY_DOMAIN, ANY_OP, VMC_ERROR_NOT_FOUND },

    /* Refused before the VM was touched: only the definition carries the
     * config. Once it is stored, the same codes come from a start that the
     * host cannot serve (no /dev/vhost-vsock is CONFIG_UNSUPPORTED from the
     * QEMU driver), from bad flags, or from our own metadata, and are that
     * operation failing. */
    { VIR_ERR_XML_ERROR, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_XML_ERROR, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_XML_DETAIL, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_XML_DETAIL, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_XML_INVALID_SCHEMA, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_XML_INVALID_SCHEMA, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_CONFIG_UNSUPPORTED, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_CONFIG_UNSUPPORTED, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_INVALID_ARG, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_INVALID_ARG, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_OPERATION_UNSUPPORTED, ANY_DOMAIN, VMC_OP_DEFINE, VMC_ERROR_INVALID_CONFIG },
    { VIR_ERR_OPERATION_UNSUPPORTED, ANY_DOMAIN, ANY_OP, OWN_CODE },

    /* The connection, its authentication, or the daemon. */
    { VIR_ERR_NO_CONNECT, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_INVALID_CONN, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_AUTH_FAILED, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_AUTH_CANCELLED, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_AUTH_UNAVAILABLE, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    /* Write on a read-only connection. */
    { VIR_ERR_OPERATION_DENIED, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_ACCESS_DENIED, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_NO_MEMORY, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_RPC, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_NO_SUPPORT, ANY_DOMAIN, ANY_OP, VMC_ERROR_HYPERVISOR },
    /* A missing or refusing socket is a system error of the RPC layer, not
     * NO_CONNECT; the same code from a driver (QEMU failing to open a
     * file, say) is the operation failing. */
    { VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE, ANY_OP, VMC_ERROR_HYPERVISOR },
    { VIR_ERR_SYSTEM_ERROR, ANY_DOMAIN, ANY_OP, OWN_CODE },

    /* The operation failing on this VM. QEMU dying at start and the test
     * driver's double start are INTERNAL_ERROR; OPERATION_INVALID is, for
     * example, destroying a shut-off domain; a define of an existing name
     * with another UUID is OPERATION_FAILED, not DOM_EXIST. */
    { VIR_ERR_INTERNAL_ERROR, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_OPERATION_INVALID, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_OPERATION_FAILED, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_DOM_EXIST, ANY_DOMAIN, ANY_OP, OWN_CODE },
    /* Another job holds the domain's state change lock. */
    { VIR_ERR_OPERATION_TIMEOUT, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_NO_DOMAIN_METADATA, ANY_DOMAIN, ANY_OP, OWN_CODE },
    { VIR_ERR_AGENT_UNRESPONSIVE, ANY_DOMAIN, ANY_OP, OWN_CODE },
};

static VmcError
vmc_operation_code(VmcOperation op)
{
    switch (op) {
    case VMC_OP_CONNECT:
        return VMC_ERROR_HYPERVISOR;
    case VMC_OP_DEFINE:
    case VMC_OP_START:
        return VMC_ERROR_BOOT_FAILED;
    case VMC_OP_STOP:
    case VMC_OP_KILL:
        return VMC_ERROR_STOP_FAILED;
    case VMC_OP_STATE:
    case VMC_OP_PAUSE:
    case VMC_OP_RESUME:
    case VMC_OP_DELETE:
    case VMC_OP_LOOKUP:
    case VMC_OP_LIST:
        return VMC_ERROR_STATE_FAILED;
    }
    g_return_val_if_reached(VMC_ERROR_STATE_FAILED);
}

VmcError
vmc_libvirt_error_code(VmcOperation op, int code, int domain)
{
    for (gsize i = 0; i < G_N_ELEMENTS(vmc_libvirt_error_rows); i++) {
        const VmcLibvirtErrorRow *row = &vmc_libvirt_error_rows[i];

        if (row->code != code)
            continue;
        if (row->domain != ANY_DOMAIN && row->domain != domain)
            continue;
        if (row->op != ANY_OP && row->op != op)
            continue;
        return row->result == OWN_CODE ? vmc_operation_code(op) : row->result;
    }
    return vmc_operation_code(op);
}

gboolean
vmc_libvirt_error_is_connection_lost(int code, int domain)
{
    switch (code) {
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_AUTH_CANCELLED:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_NO_MEMORY:
        return TRUE;
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_RPC:
        return domain == VIR_FROM_RPC || domain == VIR_FROM_REMOTE;
    default:
        /* INTERNAL_ERROR only means a lost connection together with a
         * dead virConnectIsAlive(), which the caller has to ask. */
        return FALSE;
    }
}

static gboolean G_GNUC_PRINTF(4, 0)
vmc_libvirt_error_valist(GError **error, VmcOperation op, const virError *err,
                         const char *fmt, va_list args)
{
    g_autofree char *raw = g_strdup_vprintf(fmt, args);
    g_autofree char *what = vmc_escape_text(raw);
    GError *local;

    if (!err || err->code == VIR_ERR_OK) {
        local = g_error_new(VMC_ERROR, vmc_operation_code(op), "%s: unknown libvirt error",
                            what);
    } else {
        const char *hint = "";
        /* libvirt's message may repeat a value of anyone's, or QEMU's stderr */
        g_autofree char *message = vmc_escape_text(err->message ? err->message
                                                                : "unknown libvirt error");

        if (err->code == VIR_ERR_OPERATION_TIMEOUT)
            hint = " (the operation timed out and can be retried)";
        local = g_error_new(VMC_ERROR, vmc_libvirt_error_code(op, err->code, err->domain),
                            "%s: %s%s", what, message, hint);
        vmc_error_set_libvirt_origin(local, err->code, err->domain);
    }
    g_propagate_error(error, local);
    return FALSE;
}

gboolean
vmc_libvirt_error(GError **error, VmcOperation op, const char *fmt, ...)
{
    virError err = { 0 };
    va_list args;

    /* The error is per thread and the next libvirt call overwrites it. */
    virCopyLastError(&err);
    virResetLastError();

    va_start(args, fmt);
    vmc_libvirt_error_valist(error, op, &err, fmt, args);
    va_end(args);
    virResetError(&err);
    return FALSE;
}

gboolean
vmc_libvirt_error_from(GError **error, VmcOperation op, const virError *err,
                       const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vmc_libvirt_error_valist(error, op, err, fmt, args);
    va_end(args);
    return FALSE;
}

gboolean G_GNUC_PRINTF(3, 4)
vmc_fail(GError **error, VmcError code, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    if (error) {
        g_assert(*error == NULL);
        *error = g_error_new_valist(VMC_ERROR, code, fmt, args);
    }
    va_end(args);
    return FALSE;
}
