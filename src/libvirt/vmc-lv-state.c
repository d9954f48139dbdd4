/*
 * vmc-lv-state.c: libvirt's domain states and lifecycle events as
 * VmcStates
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-libvirt-private.h"

VmcState *
vmc_state_from_libvirt(int state, int reason)
{
    VmcStateKind kind = VMC_STATE_STOPPED;
    const char *why = NULL;

    switch (state) {
    case VIR_DOMAIN_NOSTATE:
        kind = VMC_STATE_STARTING;
        break;
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN:   /* still running while it shuts down */
        kind = VMC_STATE_RUNNING;
        break;
    case VIR_DOMAIN_PAUSED:
        kind = reason == VIR_DOMAIN_PAUSED_STARTING_UP ? VMC_STATE_STARTING : VMC_STATE_PAUSED;
        if (reason == VIR_DOMAIN_PAUSED_CRASHED) {
            kind = VMC_STATE_FAILED;
            why = "the guest kernel panicked";
        }
        break;
    case VIR_DOMAIN_PMSUSPENDED:
        kind = VMC_STATE_PAUSED;
        break;
    case VIR_DOMAIN_SHUTOFF:
        if (reason == VIR_DOMAIN_SHUTOFF_CRASHED) {
            kind = VMC_STATE_FAILED;
            /* What libvirt still knows afterwards: a panic under on_crash
             * 'destroy' ends the same way, and only its event told it. */
            why = "QEMU exited unexpectedly (it crashed or was killed, or the guest "
                  "panicked while no client watched)";
        } else if (reason == VIR_DOMAIN_SHUTOFF_FAILED) {
            kind = VMC_STATE_FAILED;
            why = "it failed to start";
        }
        break;
    case VIR_DOMAIN_CRASHED:
        kind = VMC_STATE_FAILED;
        why = "the guest kernel panicked";
        break;
    }
    return vmc_state_new_full(kind, why, state, reason);
}

VmcState *
vmc_state_from_event(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return vmc_state_new_full(VMC_STATE_STOPPED, NULL, VIR_DOMAIN_SHUTOFF, 0);
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return vmc_state_new_full(VMC_STATE_RUNNING, NULL, VIR_DOMAIN_RUNNING, 0);
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return vmc_state_new_full(VMC_STATE_PAUSED, NULL, VIR_DOMAIN_PAUSED, 0);
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return vmc_state_new_full(VMC_STATE_PAUSED, NULL, VIR_DOMAIN_PMSUSPENDED, 0);
    case VIR_DOMAIN_EVENT_STOPPED:
        /* A panic came as its own event first (see vmc_on_lifecycle). */
        if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
            return vmc_state_new_full(VMC_STATE_FAILED,
                                      "QEMU exited unexpectedly (it crashed or was killed)",
                                      VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
        if (detail == VIR_DOMAIN_EVENT_STOPPED_FAILED)
            return vmc_state_from_libvirt(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FAILED);
        return vmc_state_new_full(VMC_STATE_STOPPED, NULL, VIR_DOMAIN_SHUTOFF, 0);
    case VIR_DOMAIN_EVENT_CRASHED:
        return vmc_state_from_libvirt(VIR_DOMAIN_CRASHED, 0);
    default:
        return NULL;   /* SHUTDOWN (in progress): still running until STOPPED */
    }
}
