/*
 * vmc-host.c: what a host can run: the checks check-host prints
 *
 * The checks themselves are the driver's (its check_host operation): a
 * VmcHostCheck is the value each of them makes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

struct _VmcHostCheck {
    char *id;
    char *title;
    VmcHostCheckStatus status;
    char *detail;
    char *hint;
};

VMC_ENUM_IMPL(vmc_host_check_status, VMC_HOST_CHECK_FAIL + 1,
              "pass", "warn", "fail")

/**
 * vmc_host_check_status_to_string:
 * @status: a #VmcHostCheckStatus
 *
 * Returns: "pass", "warn" or "fail"; %NULL for a value out of range. Any
 *   thread.
 *
 * Since: 0.1
 */
const char *
vmc_host_check_status_to_string(VmcHostCheckStatus status)
{
    return vmc_host_check_status_to_str((int) status);
}

/**
 * vmc_host_check_new:
 * @id: a short stable id, e.g. "kvm-vcpu"
 * @title: what was checked, e.g. "KVM runs a vCPU"
 * @status: the outcome
 * @detail: what the check found
 * @hint: (nullable): what to do about a warning or failure
 *
 * For driver modules: one check's outcome.
 *
 * Returns: (transfer full): a new check, free with vmc_host_check_free().
 *   Any thread.
 *
 * Since: 0.1
 */
VmcHostCheck *
vmc_host_check_new(const char *id, const char *title, VmcHostCheckStatus status,
                   const char *detail, const char *hint)
{
    VmcHostCheck *check;

    g_return_val_if_fail(id != NULL && title != NULL && detail != NULL, NULL);
    check = g_new0(VmcHostCheck, 1);
    check->id = g_strdup(id);
    check->title = g_strdup(title);
    check->status = status;
    check->detail = g_strdup(detail);
    check->hint = g_strdup(hint);
    return check;
}

/**
 * vmc_host_check_free:
 * @check: (nullable): a check
 *
 * Since: 0.1
 */
void
vmc_host_check_free(VmcHostCheck *check)
{
    if (!check)
        return;
    g_free(check->id);
    g_free(check->title);
    g_free(check->detail);
    g_free(check->hint);
    g_free(check);
}

/**
 * vmc_host_check_get_id:
 * @check: a check
 *
 * Returns: (transfer none): the check's stable id, e.g. "kvm-vcpu".
 *
 * Since: 0.1
 */
const char *
vmc_host_check_get_id(const VmcHostCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->id;
}

/**
 * vmc_host_check_get_title:
 * @check: a check
 *
 * Returns: (transfer none): what was checked, e.g. "KVM runs a vCPU".
 *
 * Since: 0.1
 */
const char *
vmc_host_check_get_title(const VmcHostCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->title;
}

/**
 * vmc_host_check_get_status:
 * @check: a check
 *
 * Returns: pass, warn or fail.
 *
 * Since: 0.1
 */
VmcHostCheckStatus
vmc_host_check_get_status(const VmcHostCheck *check)
{
    g_return_val_if_fail(check != NULL, VMC_HOST_CHECK_FAIL);
    return check->status;
}

/**
 * vmc_host_check_get_detail:
 * @check: a check
 *
 * Returns: (transfer none): what the check found.
 *
 * Since: 0.1
 */
const char *
vmc_host_check_get_detail(const VmcHostCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->detail;
}

/**
 * vmc_host_check_get_hint:
 * @check: a check
 *
 * Returns: (transfer none) (nullable): what to do about a warning or
 *   failure.
 *
 * Since: 0.1
 */
const char *
vmc_host_check_get_hint(const VmcHostCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->hint;
}

/**
 * vmc_host_check:
 * @uri: (nullable): a libvirt URI, or %NULL for the one vmc_driver_open()
 *   would pick
 *
 * Checks what this tool needs of a host, like virt-host-validate does for
 * libvirt: libvirt reachable and its version, a QEMU binary, KVM (device,
 * access by QEMU's user, a vCPU that really runs), the stability of
 * libvirt's capabilities cache, virtiofsd, `/dev/vhost-vsock`, UEFI
 * firmware, virtiofs `<readonly/>` support, dnsmasq for libvirt networks,
 * and under `qemu:///system` whether QEMU's user can enter the usual image
 * directories. Checks of files and devices are made on this host, so for
 * a remote URI only libvirt's answers are checked. The libvirt driver
 * module makes the checks; a module that cannot be loaded is a failed
 * check too.
 *
 * Never fails: a host that cannot be reached is a failed check.
 *
 * Returns: (transfer full) (element-type VmcHostCheck): the checks, in
 *   that order. May be called from any thread.
 *
 * Since: 0.1
 */
GPtrArray *
vmc_host_check(const char *uri)
{
    g_autoptr(GError) error = NULL;
    const VmcDriverOps *ops = vmc_driver_load_default(&error);
    GPtrArray *checks;

    if (ops && VMC_OPS_MEMBER(ops, check_host))
        return ops->check_host(uri);
    if (ops)
        g_set_error(&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "the '%s' driver makes no host checks", ops->name);
    checks = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_host_check_free);
    g_ptr_array_add(checks, vmc_host_check_new("driver", "libvirt driver module",
                                               VMC_HOST_CHECK_FAIL, error->message,
                                               "reinstall virt-vmconfig, or set VMC_DRIVER_DIR"));
    return checks;
}

/**
 * vmc_host_checks_can_boot:
 * @checks: (element-type VmcHostCheck): what vmc_host_check() returned
 *
 * Returns: %TRUE when no check failed: the host can boot VMs, perhaps
 *   with warnings. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_host_checks_can_boot(GPtrArray *checks)
{
    g_return_val_if_fail(checks != NULL, FALSE);
    for (guint i = 0; i < checks->len; i++) {
        if (vmc_host_check_get_status(g_ptr_array_index(checks, i)) == VMC_HOST_CHECK_FAIL)
            return FALSE;
    }
    return TRUE;
}
