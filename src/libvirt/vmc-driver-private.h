/*
 * vmc-driver-private.h: the driver's internals that the other
 * libvirt-facing files use. The values it hands out are the core's, made
 * and read through the public API only: the module never sees their insides
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-libvirt-private.h"

/* The VmcState for libvirt's domain state and reason (no marker scan). */
VmcState *vmc_state_from_libvirt(int state, int reason);
/* The VmcState a lifecycle event announces, or NULL for events that do
 * not change it. */
VmcState *vmc_state_from_event(int event, int detail);

/* The driver's current connection, with a reference of the caller's own
 * (virConnectClose it); NULL while a reconnect is under way. */
virConnectPtr vmc_driver_get_conn(VmcDriver *driver);
/* The same, or NULL with VMC_ERROR_HYPERVISOR saying a reconnect is under
 * way: no libvirt call is ever made with no connection. */
virConnectPtr vmc_driver_conn_checked(VmcDriver *driver, GError **error);
/* True for qemu:///system on this host: QEMU runs as libvirt-qemu. */
gboolean vmc_driver_is_system(VmcDriver *driver);
