/*
 * vmc-libvirt-private.h: what the libvirt-facing files share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-private.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* What the library was doing when libvirt failed: with libvirt's code and
 * error domain it picks the VmcError (vmc-libvirt-error.c). */
typedef enum {
    VMC_OP_CONNECT,   /* open, capabilities, event registration */
    VMC_OP_DEFINE,    /* define the domain XML */
    VMC_OP_START,     /* start a defined domain */
    VMC_OP_STOP,      /* ACPI shutdown, wait */
    VMC_OP_KILL,      /* destroy */
    VMC_OP_STATE,     /* state, XML, metadata reads */
    VMC_OP_PAUSE,
    VMC_OP_RESUME,
    VMC_OP_DELETE,    /* undefine */
    VMC_OP_LOOKUP,    /* by name or UUID */
    VMC_OP_LIST,
} VmcOperation;

/* The VmcError for libvirt's @code in error domain @domain during @op. */
VmcError vmc_libvirt_error_code(VmcOperation op, int code, int domain);

/* Sets @error from libvirt's last error of this thread (which it then
 * resets): "<what>: <libvirt's message>", with libvirt's code and domain
 * kept (vmc_error_get_libvirt_code). Always returns FALSE. */
gboolean vmc_libvirt_error(GError **error, VmcOperation op, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Same with an error libvirt reported earlier (copied with virCopyLastError). */
gboolean vmc_libvirt_error_from(GError **error, VmcOperation op, const virError *err,
                                const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* True when @code/@domain mean the connection itself is gone. */
gboolean vmc_libvirt_error_is_connection_lost(int code, int domain);

/* Initializes libvirt and registers its event loop once, before any
 * connection is opened, and runs it on a thread of the library's own,
 * unless the application registered an implementation already
 * (vmc-events.c). FALSE with VMC_ERROR_HYPERVISOR when libvirt cannot be
 * initialized. */
gboolean vmc_event_loop_ensure(GError **error);
gboolean vmc_libvirt_init(GError **error);

/* Errors on @conn reach callers as GErrors only: libvirt does not print
 * them. Per connection: the process-wide handler stays the application's. */
void vmc_conn_quiet_errors(virConnectPtr conn);

/* The quiet_process operation: libvirt prints no error of this process. */
void vmc_lv_quiet_process(void);

/* Sets @error to @code with the message, and returns FALSE. */
gboolean vmc_fail(GError **error, VmcError code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* vmc-lv-state.c: libvirt's states and lifecycle events as VM states. */
VmcState *vmc_state_from_libvirt(int state, int reason);
VmcState *vmc_state_from_event(int event, int detail);
