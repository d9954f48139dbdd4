/*
 * vmc-lv-domain.c: our domains: the metadata that makes them ours, their
 * namespace, serial log, live XML and state, the handles made from them,
 * and lookup, list and get_state
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-reading.h"
#include "vmc-meta-private.h"

#include <string.h>

/* The domain's live definition, parsed. */
static xmlDoc *
vmc_domain_live_xml(virDomainPtr dom, GError **error)
{
    /* Every libvirt call resets libvirt's error: take the name first. */
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    char *raw = virDomainGetXMLDesc(dom, 0);
    xmlDoc *doc;

    if (!raw) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot read the definition of VM '%s'", name);
        return NULL;
    }
    doc = vmc_xml_parse(raw, -1, error);
    free(raw);
    return doc;
}

char *
vmc_driver_serial_log_of(VmcDriver *driver, const char *uuid)
{
    g_autoptr(virConnect) conn = vmc_driver_conn(driver);
    g_autoptr(virDomain) dom = conn ? virDomainLookupByUUIDString(conn, uuid) : NULL;
    g_autoptr(xmlDoc) doc = dom ? vmc_domain_live_xml(dom, NULL) : NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;

    virResetLastError();
    if (!doc)
        return NULL;
    ctxt = xmlXPathNewContext(doc);
    return vmc_xml_serial_log(ctxt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNetwork, virNetworkFree)

void
vmc_lease_free(gpointer data)
{
    VmcLease *lease = data;

    g_free(lease->id);
    g_free(lease->ip);
    g_free(lease);
}

/* The IPv4 leases libvirt's DHCP servers hold for the NICs of @doc (the
 * domain's live XML) on libvirt networks, as VmcLease. */
GPtrArray *
vmc_domain_leases(virConnectPtr conn, xmlDoc *doc)
{
    g_autoptr(xmlXPathContext) ctxt = xmlXPathNewContext(doc);
    g_autoptr(GPtrArray) nics = vmc_xml_find_all(ctxt, "/domain/devices/interface[@type='network']");
    GPtrArray *found = g_ptr_array_new_with_free_func(vmc_lease_free);

    for (guint i = 0; i < nics->len; i++) {
        xmlNode *nic = g_ptr_array_index(nics, i);
        g_autofree char *mac = NULL;
        g_autofree char *network = NULL;
        g_autoptr(virNetwork) net = NULL;
        virNetworkDHCPLeasePtr *leases = NULL;
        int n;

        for (xmlNode *c = nic->children; c; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *) "mac"))
                mac = vmc_xml_prop(c, "address");
            else if (c->type == XML_ELEMENT_NODE &&
                     xmlStrEqual(c->name, (const xmlChar *) "source"))
                network = vmc_xml_prop(c, "network");
        }
        net = mac && network ? virNetworkLookupByName(conn, network) : NULL;
        n = net ? virNetworkGetDHCPLeases(net, mac, &leases, 0) : -1;
        for (int l = 0; l < n; l++) {
            if (leases[l]->type == VIR_IP_ADDR_TYPE_IPV4 && leases[l]->ipaddr) {
                VmcLease *lease = g_new0(VmcLease, 1);

                lease->id = g_strdup_printf("%s@%lld", mac, leases[l]->expirytime);
                lease->ip = g_strdup(leases[l]->ipaddr);
                g_ptr_array_add(found, lease);
            }
            virNetworkDHCPLeaseFree(leases[l]);
        }
        free(leases);
        virResetLastError();
    }
    return found;
}

/* The first IPv4 address libvirt's DHCP server leased to one of the
 * domain's NICs on a libvirt network in this boot, or NULL: a lease that
 * the boot found (see vmc_boot_note_stale_leases()) is an earlier boot's.
 * @live is the domain's live XML, or NULL to ask for it. */
char *
vmc_domain_lease_ip(virDomainPtr dom, xmlDoc *live)
{
    g_autoptr(xmlDoc) own = NULL;
    g_auto(GStrv) stale = NULL;
    g_autoptr(GPtrArray) leases = NULL;
    xmlDoc *doc = live;

    if (!doc) {
        char *raw = virDomainGetXMLDesc(dom, 0);

        doc = own = raw ? vmc_xml_parse(raw, -1, NULL) : NULL;
        free(raw);
        virResetLastError();
        if (!doc)
            return NULL;
    }
    stale = vmc_ready_record_stale_leases(doc, virDomainGetID(dom));
    leases = vmc_domain_leases(virDomainGetConnect(dom), doc);
    for (guint i = 0; i < leases->len; i++) {
        VmcLease *lease = g_ptr_array_index(leases, i);

        if (!g_strv_contains((const char *const *) stale, lease->id))
            return g_strdup(lease->ip);
    }
    return NULL;
}

/* The address of this boot's Ready record in the domain's live metadata
 * (see vmc-meta-private.h), from @live (its live XML) when given, else
 * asked of libvirt; NULL when there is none. */
char *
vmc_domain_ready_record(virDomainPtr dom, xmlDoc *live)
{
    unsigned int boot = virDomainGetID(dom);
    char *raw;
    char *ip;

    if (boot == (unsigned int) -1) {
        virResetLastError();
        return NULL;
    }
    if (live)
        return vmc_ready_record_find(live, boot);
    raw = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMC_READY_NAMESPACE,
                               VIR_DOMAIN_AFFECT_LIVE);
    if (!raw) {
        virResetLastError();
        return NULL;
    }
    ip = vmc_ready_record_parse(raw, boot);
    free(raw);
    return ip;
}

/* Where a running VM's Ready comes from, first found first: the Ready
 * record of this boot (whoever saw the marker wrote it); on a host whose
 * files this process sees, the marker in this boot's serial log (libvirt
 * truncates it at each start; the cache reads only what it gained); a
 * lease of libvirt's DHCP server. The test driver's domains print nothing:
 * no file is read for them. On a remote host no file of this machine is
 * ever read: a file at the log's path here is another machine's. */
char *
vmc_domain_ready_ip(VmcDriver *driver, virDomainPtr dom, xmlDoc *live, const char *serial_log)
{
    char *ip = vmc_domain_ready_record(dom, live);

    return ip ? ip : vmc_domain_ready_unrecorded(driver, dom, serial_log);
}

/* vmc_domain_ready_ip() past the record: the log, the lease. */
char *
vmc_domain_ready_unrecorded(VmcDriver *driver, virDomainPtr dom, const char *serial_log)
{
    char *ip = NULL;

    if (serial_log && driver->local && !driver->in_process)
        ip = vmc_ready_cache_scan(driver->ready_cache, serial_log, virDomainGetID(dom));
    return ip ? ip : vmc_domain_lease_ip(dom, NULL);
}

VmcState *
vmc_domain_state(VmcDriver *driver, virDomainPtr dom, const char *serial_log, GError **error)
{
    /* Every libvirt call resets libvirt's error: take the name first. */
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    int state, reason;
    VmcState *result;
    g_autofree char *ip = NULL;

    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot read the state of VM '%s'", name);
        return NULL;
    }
    result = vmc_state_from_libvirt(state, reason);
    if (vmc_state_get_kind(result) == VMC_STATE_RUNNING &&
        (ip = vmc_domain_ready_ip(driver, dom, NULL, serial_log))) {
        vmc_state_free(result);
        result = vmc_state_new_full(VMC_STATE_READY, ip, state, reason);
    }
    /* A reader: what the driver made for a VM found stopped (a crash,
     * say) stays until an operation that changes the VM releases it. */
    return result;
}

/* A handle from the domain's live XML: the CID libvirt chose is only there. */
VmcHandle *
vmc_handle_from_domain(VmcDriver *driver, virDomainPtr dom, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;
    g_autoptr(VmcMeta) meta = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *cid = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];
    xmlNode *vm;
    VmcState *state;
    VmcHandle *handle;
    g_auto(GStrv) owned_taps = NULL;
    g_autofree char *name = g_strdup(virDomainGetName(dom));

    doc = vmc_domain_live_xml(dom, error);
    if (!doc)
        return NULL;
    ctxt = xmlXPathNewContext(doc);
    vm = vmc_meta_find(doc);
    meta = vm ? vmc_meta_read(vm) : NULL;
    serial = vmc_xml_serial_log(ctxt);
    cid = vmc_xml_prop(vmc_xml_find(ctxt, "/domain/devices/vsock/cid"), "address");
    virDomainGetUUIDString(dom, uuid);

    if (vm) {
        g_mutex_lock(&driver->hub->lock);
        g_hash_table_replace(driver->hub->namespaces, g_strdup(uuid), g_strdup(meta->ns));
        g_mutex_unlock(&driver->hub->lock);
    }
    owned_taps = meta ? vmc_meta_dup_owned_taps(meta) : g_new0(char *, 1);
    state = vmc_domain_state(driver, dom, serial, error);
    if (!state)
        return NULL;
    handle = vmc_handle_new(name, meta ? meta->ns : NULL, uuid, serial,
                            cid ? (guint) g_ascii_strtoull(cid, NULL, 10) : 0, state);
    vmc_handle_set_owned_taps(handle, (const char *const *) owned_taps);
    return handle;
}

/* The domain a handle names, found by UUID so that a new VM of the same
 * name is never mistaken for it. */
virDomainPtr
vmc_driver_domain(VmcDriver *driver, const VmcHandle *handle, VmcOperation op, GError **error)
{
    g_autoptr(virConnect) conn = vmc_driver_conn_checked(driver, error);
    virDomainPtr dom;

    if (!conn)
        return NULL;
    dom = virDomainLookupByUUIDString(conn, vmc_handle_get_uuid(handle));
    if (!dom)
        vmc_libvirt_error(error, op, "VM '%s' not found", vmc_handle_get_name(handle));
    return dom;
}

/**
 * vmc_lv_lookup:
 * @driver: a driver
 * @name: a VM's name
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the handle of the VM of that name, or %NULL
 * with %VMC_ERROR_NOT_FOUND when there is none or the domain of that name
 * was not made by virt-vmconfig.
 */
VmcHandle *
vmc_lv_lookup(VmcDriver *driver, const char *name, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && name != NULL, NULL);
    conn = vmc_driver_conn_checked(driver, error);
    if (!conn)
        return NULL;
    dom = virDomainLookupByName(conn, name);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_LOOKUP, "VM '%s' not found", name);
        return NULL;
    }
    if (!vmc_domain_is_ours(dom, NULL)) {
        vmc_fail(error, VMC_ERROR_NOT_FOUND,
                 "VM '%s' not found: the libvirt domain of that name was not made by "
                 "virt-vmconfig and is left alone (adopt it with 'virt-vmconfig adopt %s "
                 "--namespace NS', or use virsh)", name, name);
        return NULL;
    }
    return vmc_handle_from_domain(driver, dom, error);
}

/**
 * vmc_lv_get_state:
 * @driver: a driver
 * @handle: a VM
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM's state now: crashes and failed starts
 * are failed states, never a silent stopped; a running VM whose guest
 * printed the ready marker in this boot is ready.
 */
VmcState *
vmc_lv_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_autoptr(virDomain) dom = NULL;

    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    dom = vmc_driver_domain(driver, handle, VMC_OP_STATE, error);
    if (!dom)
        return NULL;
    return vmc_domain_state(driver, dom, vmc_handle_get_serial_log(handle), error);
}
