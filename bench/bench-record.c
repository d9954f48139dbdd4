/*
 * bench-record.c: what the ready benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-record.h"

#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* The namespace of the record, as a program other than ours names it. */
#define BENCH_READY_NAMESPACE "https://virt-vmconfig.dev/xmlns/ready/1"

gboolean
bench_clear_ready_record(const char *uri, const char *name, GError **error)
{
    virConnectPtr conn = virConnectOpen(uri);
    virDomainPtr dom = conn ? virDomainLookupByName(conn, name) : NULL;
    gboolean ok = dom && virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL,
                                              BENCH_READY_NAMESPACE,
                                              VIR_DOMAIN_AFFECT_LIVE) == 0;

    if (!ok)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot clear the Ready record of VM '%s' on %s: %s", name, uri,
                    virGetLastErrorMessage());
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return ok;
}
