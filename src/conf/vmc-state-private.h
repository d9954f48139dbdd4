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
    GStrv owned_taps;   /* never NULL */
    gboolean foreign;   /* a domain virt-vmconfig did not define */
};

struct _VmcEvent {
    gint ref;
    char *name;
    char *uuid;
    VmcState *state;
    int event;
    int detail;
};
