/*
 * vmc-driver-private.h: the driver's values and internals
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-libvirt-private.h"

struct _VmcState {
    VmcStateKind kind;
    char *detail;         /* IP when ready, reason when failed */
    int libvirt_state;    /* virDomainState */
    int libvirt_reason;
};

struct _VmcHandle {
    char *name;
    char *ns;
    char *uuid;
    char *serial_log;
    guint vsock_cid;
    VmcState *state;
};

struct _VmcEvent {
    gint ref;
    char *name;
    char *uuid;
    VmcState *state;
    int event;
    int detail;
    gboolean early;   /* seen by us before libvirt said it (a crash) */
};

VmcState *vmc_state_new_libvirt(VmcStateKind kind, const char *detail, int libvirt_state,
                                int libvirt_reason);
VmcHandle *vmc_handle_new(const char *name, const char *ns, const char *uuid,
                          const char *serial_log, guint vsock_cid, VmcState *state);
VmcEvent *vmc_event_new(const char *name, const char *uuid, VmcState *state, int event,
                        int detail);
VmcEvent *vmc_event_ref(VmcEvent *ev);
void vmc_event_unref(VmcEvent *ev);

/* The VmcState for libvirt's domain state and reason (no marker scan). */
VmcState *vmc_state_from_libvirt(int state, int reason);
/* The VmcState a lifecycle event announces, or NULL for events that do
 * not change it. */
VmcState *vmc_state_from_event(int event, int detail);

/* The driver's current connection, with a reference of the caller's own
 * (virConnectClose it); NULL while a reconnect is under way. */
virConnectPtr vmc_driver_get_conn(VmcDriver *driver);
/* True for qemu:///system on this host: QEMU runs as libvirt-qemu. */
gboolean vmc_driver_is_system(VmcDriver *driver);
