/*
 * vmc-error.h: the VMC_ERROR domain and its codes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(VMC_INSIDE) && !defined(VMC_COMPILATION)
#error "Only <vmconfig/vmconfig.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * VMC_ERROR:
 *
 * The error domain of every #GError that libvmconfig reports.
 */
#define VMC_ERROR (vmc_error_quark())

/**
 * VmcError:
 * @VMC_ERROR_BOOT_FAILED: the VM could not be defined or started.
 * @VMC_ERROR_NOT_FOUND: no VM (libvirt domain) of that name exists.
 * @VMC_ERROR_STOP_FAILED: the VM did not stop as asked (for example it
 *   had to be forced off after the graceful-stop timeout).
 * @VMC_ERROR_STATE_FAILED: the VM's state could not be read or changed
 *   (pause, resume, wait).
 * @VMC_ERROR_HYPERVISOR: the connection to libvirt failed, was lost, or
 *   was refused (authentication, read-only connection, daemon fault).
 * @VMC_ERROR_IO: the library's own file work failed (reading a config
 *   file, the serial log, ...).
 * @VMC_ERROR_INVALID_CONFIG: the VM description was rejected before any
 *   VM was touched: validation, schema, unsupported feature, missing file.
 *
 * The seven error kinds of the vm-rs model. Where libvirt produced the
 * error, its own code and error domain stay readable with
 * vmc_error_get_libvirt_code() and vmc_error_get_libvirt_domain(), and its
 * message is part of ours.
 */
typedef enum {
    VMC_ERROR_BOOT_FAILED,
    VMC_ERROR_NOT_FOUND,
    VMC_ERROR_STOP_FAILED,
    VMC_ERROR_STATE_FAILED,
    VMC_ERROR_HYPERVISOR,
    VMC_ERROR_IO,
    VMC_ERROR_INVALID_CONFIG,
} VmcError;

GQuark vmc_error_quark(void);

const char *vmc_error_code_to_string(VmcError code);
gboolean vmc_error_code_from_string(const char *str, VmcError *code);

int vmc_error_get_libvirt_code(const GError *error);
int vmc_error_get_libvirt_domain(const GError *error);

G_END_DECLS
