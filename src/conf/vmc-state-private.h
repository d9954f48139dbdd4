/*
 * vmc-state-private.h: the insides of VmcState, VmcHandle and VmcEvent,
 * the values the driver hands out (vmc-state.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-private.h"

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
