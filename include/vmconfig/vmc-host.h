/*
 * vmc-host.h: what a host can run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(VMC_INSIDE) && !defined(VMC_COMPILATION)
#error "Only <vmconfig/vmconfig.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

gboolean vmc_host_kvm_runs(GError **error);

/**
 * VmcHostCheckStatus:
 * @VMC_HOST_CHECK_PASS: the host has what the check looks for.
 * @VMC_HOST_CHECK_WARN: VMs boot, but something is slower, missing or
 *   refused (for example no KVM: VMs run under TCG emulation).
 * @VMC_HOST_CHECK_FAIL: this host cannot boot VMs until it is mended.
 */
typedef enum {
    VMC_HOST_CHECK_PASS,
    VMC_HOST_CHECK_WARN,
    VMC_HOST_CHECK_FAIL,
} VmcHostCheckStatus;

const char *vmc_host_check_status_to_string(VmcHostCheckStatus status);

/**
 * VmcHostCheck:
 *
 * The outcome of one check of a host: a short stable id (e.g.
 * `"kvm-vcpu"`), what was checked, the status, what was found, and what to
 * do about a warning or failure. Immutable.
 */
typedef struct _VmcHostCheck VmcHostCheck;

void vmc_host_check_free(VmcHostCheck *check);
const char *vmc_host_check_get_id(const VmcHostCheck *check);
const char *vmc_host_check_get_title(const VmcHostCheck *check);
VmcHostCheckStatus vmc_host_check_get_status(const VmcHostCheck *check);
const char *vmc_host_check_get_detail(const VmcHostCheck *check);
const char *vmc_host_check_get_hint(const VmcHostCheck *check);

GPtrArray *vmc_host_check(const char *uri);
gboolean vmc_host_checks_can_boot(GPtrArray *checks);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcHostCheck, vmc_host_check_free)

G_END_DECLS
