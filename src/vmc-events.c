/*
 * vmc-events.c: libvirt's event loop, run once per process
 *
 * libvirt wants its event implementation registered before any connection
 * is opened, and run all the time: lifecycle events, keepalive and the
 * embedded QEMU driver's monitor all depend on it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-libvirt-private.h"

static void
vmc_probe_timeout(int timer, void *opaque)
{
}

static void
vmc_quiet_errors(void *opaque, virErrorPtr err)
{
    /* Errors reach callers as GErrors, never on stderr. */
}

static gpointer
vmc_event_thread(gpointer data)
{
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

static gpointer
vmc_event_loop_init(gpointer data)
{
    int probe;

    /* libvirt's thread-local error state needs this before anything else. */
    if (virInitialize() < 0)
        g_error("cannot initialize libvirt");
    virSetErrorFunc(NULL, vmc_quiet_errors);

    /* Adding a timer only works when an implementation is registered: if
     * the application registered its own, it runs it, and we use it. */
    probe = virEventAddTimeout(-1, vmc_probe_timeout, NULL, NULL);
    if (probe >= 0) {
        virEventRemoveTimeout(probe);
        return NULL;
    }
    virResetLastError();
    if (virEventRegisterDefaultImpl() < 0)
        g_error("cannot register libvirt's event loop: %s", virGetLastErrorMessage());
    g_thread_unref(g_thread_new("vmc-libvirt-events", vmc_event_thread, NULL));
    return NULL;
}

void
vmc_event_loop_ensure(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, vmc_event_loop_init, NULL);
}
