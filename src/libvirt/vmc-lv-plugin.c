/*
 * vmc-lv-plugin.c: the libvirt driver module's table of operations and
 * the one symbol the module exports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"

#include <gmodule.h>

static const VmcDriverOps vmc_lv_ops;

static VmcDriver *
vmc_lv_plugin_open(const char *uri, GError **error)
{
    return vmc_lv_open(uri, &vmc_lv_ops, error);
}

static const VmcDriverOps vmc_lv_ops = {
    .abi_version = VMC_DRIVER_ABI_VERSION,
    .name = "libvirt",
    .open = vmc_lv_plugin_open,
    .close = vmc_lv_close,
    .boot = vmc_lv_boot,
    .stop = vmc_lv_stop,
    .kill = vmc_lv_kill,
    .pause = vmc_lv_pause,
    .resume = vmc_lv_resume,
    .get_state = vmc_lv_get_state,
    .wait_ready = vmc_lv_wait_ready,
    .remove = vmc_lv_remove,
    .lookup = vmc_lv_lookup,
    .list = vmc_lv_list,
    .watch = vmc_lv_watch,
    .unwatch = vmc_lv_unwatch,
    .get_uri = vmc_lv_get_uri,
    .is_local = vmc_lv_is_local,
    .get_accel = vmc_lv_get_accel,
    .set_accel = vmc_lv_set_accel,
    .wait_ready_full = vmc_lv_wait_ready_full,
    .follow_serial = vmc_lv_follow_serial,
    .unfollow_serial = vmc_lv_unfollow_serial,
    .check_host = vmc_lv_check_host,
    .quiet_process = vmc_lv_quiet_process,
    .list_all = vmc_lv_list_all,
    .export_config = vmc_lv_export,
    .adopt = vmc_lv_adopt,
    .stage = vmc_lv_stage,
    .gc_staged = vmc_lv_gc_staged,
    .boot_cancellable = vmc_lv_boot_cancellable,
    .stop_cancellable = vmc_lv_stop_cancellable,
    .wait_ready_cancellable = vmc_lv_wait_ready_cancellable,
    .remove_cancellable = vmc_lv_remove_cancellable,
    .stage_cancellable = vmc_lv_stage_cancellable,
    .wait_until_ready = vmc_lv_wait_until_ready,
    .open_console = vmc_lv_open_console,
    .console_send = vmc_lv_console_send,
    .close_console = vmc_lv_close_console,
};

/* Declared here, not in a header: every module defines its own. */
G_MODULE_EXPORT const VmcDriverOps *vmc_driver_plugin_get_ops(guint abi_version, GError **error);

/**
 * vmc_driver_plugin_get_ops:
 * @abi_version: the #VmcDriverOps version the caller was built for
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer none): the libvirt driver's operations when this
 *   module serves @abi_version (1 up to %VMC_DRIVER_ABI_VERSION), else
 *   %NULL with %VMC_ERROR_HYPERVISOR naming both versions. Any thread.
 */
const VmcDriverOps *
vmc_driver_plugin_get_ops(guint abi_version, GError **error)
{
    if (abi_version < 1 || abi_version > VMC_DRIVER_ABI_VERSION) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "the libvirt driver module serves driver ABI versions 1 to %u, not %u",
                    (guint) VMC_DRIVER_ABI_VERSION, abi_version);
        return NULL;
    }
    return &vmc_lv_ops;
}
