/*
 * vmc-lv-reading.h: the reading stratum of the libvirt driver: a domain's
 * handle and state, its Ready resolution (vmc-lv-domain.c). Readers change
 * nothing on the host: they neither remove, create nor lock anything.
 * Builds on the connection stratum (vmc-lv-connection.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-lv-connection.h"

char *vmc_driver_serial_log_of(VmcDriver *driver, const char *uuid);
VmcState *vmc_domain_state(VmcDriver *driver, virDomainPtr dom, const char *serial_log,
                           GError **error);
VmcHandle *vmc_handle_from_domain(VmcDriver *driver, virDomainPtr dom, GError **error);
/* A DHCP lease of a NIC: "MAC@EXPIRY" and its address. */
typedef struct {
    char *id;
    char *ip;
} VmcLease;
void vmc_lease_free(gpointer data);
GPtrArray *vmc_domain_leases(virConnectPtr conn, xmlDoc *doc);
char *vmc_domain_lease_ip(virDomainPtr dom, xmlDoc *live);
char *vmc_domain_ready_record(virDomainPtr dom, xmlDoc *live);
char *vmc_domain_ready_ip(VmcDriver *driver, virDomainPtr dom, xmlDoc *live,
                          const char *serial_log);
char *vmc_domain_ready_unrecorded(VmcDriver *driver, virDomainPtr dom, const char *serial_log);
virDomainPtr vmc_driver_domain(VmcDriver *driver, const VmcHandle *handle, VmcOperation op,
                               GError **error);

VmcState *vmc_lv_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error);
VmcHandle *vmc_lv_lookup(VmcDriver *driver, const char *name, GError **error);
