/*
 * vmc-lv-list.c: listing the VMs of a host at scale
 *
 * A constant number of round trips: one lists the domains, one gives the
 * state of all of them (virDomainListGetStats). What is left per domain is
 * its metadata element, which says whether it is ours and holds what a
 * handle needs (namespace, serial log, the TAPs the driver made);
 * those reads run concurrently on the one connection (libvirt's client
 * multiplexes calls; libvirtd serves 5 of a client's calls at a time by
 * default, and a few more in flight keep it busy: 8 measured fastest
 * here). The connection has no event loop unless a watch needed one:
 * with it, each call wakes its thread twice, and listing 1,000 VMs took
 * 3 times as long. Only running VMs of ours cost more: their
 * live XML (the vsock CID libvirt chose, the Ready record) and, on a host
 * whose files this process sees, the Ready marker, read from where the
 * driver's cache left their log.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"
#include "vmc-meta-private.h"

#include <string.h>

/* Calls in flight at once (libvirtd's max_client_requests is 5). */
#define VMC_LIST_PARALLEL 8

typedef struct {
    virDomainPtr dom;
    int state;            /* -1 until known */
    int reason;
    gboolean ours;
    char *ns;
    char *serial;
    char *cid;
    char *record;         /* the Ready record's address, from the live XML */
    GStrv owned_taps;
} VmcListed;

static void
vmc_listed_clear(VmcListed *l)
{
    g_free(l->ns);
    g_free(l->serial);
    g_free(l->cid);
    g_free(l->record);
    g_strfreev(l->owned_taps);
}

/* Our metadata element, as virDomainGetMetadata() gives it. */
static void
vmc_listed_parse_metadata(VmcListed *l, const char *element)
{
    g_autoptr(VmcMeta) meta = vmc_meta_parse(element);

    if (!meta) {
        l->owned_taps = g_new0(char *, 1);
        return;
    }
    l->ns = g_strdup(meta->ns);
    l->serial = g_strdup(meta->serial_log);
    l->owned_taps = vmc_meta_dup_owned_taps(meta);
}

/* The serial log and vsock CID from the live definition: for running VMs
 * (the CID is chosen at start) and for domains whose metadata predates the
 * serial-log element. */
static void
vmc_listed_read_xml(VmcListed *l)
{
    char *raw = virDomainGetXMLDesc(l->dom, 0);
    g_autoptr(xmlDoc) doc = raw ? vmc_xml_parse(raw, -1, NULL) : NULL;
    g_autoptr(xmlXPathContext) ctxt = NULL;

    free(raw);
    if (!doc)
        return;
    ctxt = xmlXPathNewContext(doc);
    if (!l->serial)
        l->serial = vmc_xml_serial_log(ctxt);
    l->cid = vmc_xml_prop(vmc_xml_find(ctxt, "/domain/devices/vsock/cid"), "address");
    if (l->state == VIR_DOMAIN_RUNNING)
        l->record = vmc_domain_ready_record(l->dom, doc);
}

/* In a worker: what one domain's own calls tell. */
static void
vmc_listed_read(gpointer data, gpointer user_data)
{
    VmcListed *l = data;
    char *meta = virDomainGetMetadata(l->dom, VIR_DOMAIN_METADATA_ELEMENT, VMC_XML_NAMESPACE, 0);

    if (l->state < 0 && virDomainGetState(l->dom, &l->state, &l->reason, 0) < 0)
        l->state = -1;
    if (meta) {
        l->ours = TRUE;
        vmc_listed_parse_metadata(l, meta);
        free(meta);
        if (!l->serial || l->state == VIR_DOMAIN_RUNNING || l->state == VIR_DOMAIN_PAUSED)
            vmc_listed_read_xml(l);
    }
    virResetLastError();
}

/* The state of every domain in one call; those it misses stay unknown. */
static void
vmc_listed_states(virDomainPtr *doms, VmcListed *listed, int n)
{
    virDomainStatsRecordPtr *records = NULL;
    g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
    int got;

    for (int i = 0; i < n; i++)
        g_hash_table_insert(index, (gpointer) virDomainGetName(doms[i]), &listed[i]);
    got = virDomainListGetStats(doms, VIR_DOMAIN_STATS_STATE, &records, 0);
    if (got < 0) {
        virResetLastError();
        return;
    }
    for (int r = 0; r < got; r++) {
        VmcListed *l = g_hash_table_lookup(index, virDomainGetName(records[r]->dom));

        if (!l)
            continue;
        for (int p = 0; p < records[r]->nparams; p++) {
            const virTypedParameter *param = &records[r]->params[p];

            if (strcmp(param->field, "state.state") == 0)
                l->state = param->value.i;
            else if (strcmp(param->field, "state.reason") == 0)
                l->reason = param->value.i;
        }
    }
    virDomainStatsRecordListFree(records);
}

/* The handle of a listed domain of ours, or NULL for one of another
 * namespace than @ns. */
static VmcHandle *
vmc_listed_handle(VmcDriver *driver, VmcListed *l, const char *ns)
{
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    g_autofree char *ip = NULL;
    VmcState *state;
    VmcHandle *handle;

    if (ns && g_strcmp0(l->ns ? l->ns : "", ns) != 0)
        return NULL;
    virDomainGetUUIDString(l->dom, uuid);
    g_mutex_lock(&driver->hub->lock);
    g_hash_table_replace(driver->hub->namespaces, g_strdup(uuid), g_strdup(l->ns ? l->ns : ""));
    g_mutex_unlock(&driver->hub->lock);

    state = vmc_state_from_libvirt(l->state, l->reason);
    if (vmc_state_get_kind(state) == VMC_STATE_RUNNING &&
        ((ip = g_strdup(l->record)) ||
         (ip = vmc_domain_ready_unrecorded(driver, l->dom, l->serial)))) {
        vmc_state_free(state);
        state = vmc_state_new_full(VMC_STATE_READY, ip, l->state, l->reason);
    }
    /* A reader: nothing of a VM found stopped is released here. */
    handle = vmc_handle_new(virDomainGetName(l->dom), l->ns, uuid, l->serial,
                            l->cid ? (guint) g_ascii_strtoull(l->cid, NULL, 10) : 0, state);
    vmc_handle_set_owned_taps(handle, (const char *const *) l->owned_taps);
    return handle;
}

static VmcHandle *
vmc_listed_foreign_handle(VmcListed *l)
{
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    VmcHandle *handle;

    virDomainGetUUIDString(l->dom, uuid);
    handle = vmc_handle_new(virDomainGetName(l->dom), "", uuid, NULL, 0,
                            vmc_state_from_libvirt(l->state, l->reason));
    vmc_handle_set_foreign(handle, TRUE);
    return handle;
}

static gint
vmc_handle_by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(vmc_handle_get_name(*(VmcHandle *const *) a),
                  vmc_handle_get_name(*(VmcHandle *const *) b));
}

/* Our VMs (of @ns, unless NULL), and with @foreign every other domain. */
static GPtrArray *
vmc_list_domains(VmcDriver *driver, const char *ns, gboolean foreign, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(GPtrArray) handles = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_handle_free);
    g_autofree VmcListed *listed = NULL;
    virDomainPtr *doms = NULL;
    GThreadPool *pool;
    int n;

    conn = vmc_driver_conn_checked(driver, error);
    if (!conn)
        return NULL;
    n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0) {
        vmc_libvirt_error(error, VMC_OP_LIST, "cannot list the VMs on '%s'", driver->hub->uri);
        return NULL;
    }
    listed = g_new0(VmcListed, MAX(n, 1));
    for (int i = 0; i < n; i++) {
        listed[i].dom = doms[i];
        listed[i].state = -1;
    }
    if (n > 0)
        vmc_listed_states(doms, listed, n);

    pool = g_thread_pool_new(vmc_listed_read, NULL, MIN(MAX(n, 1), VMC_LIST_PARALLEL), FALSE,
                             NULL);
    for (int i = 0; i < n; i++)
        g_thread_pool_push(pool, &listed[i], NULL);
    g_thread_pool_free(pool, FALSE, TRUE);

    for (int i = 0; i < n; i++) {
        VmcHandle *handle = NULL;

        /* A domain that vanished meanwhile is simply not listed. */
        if (listed[i].state >= 0) {
            if (listed[i].ours)
                handle = vmc_listed_handle(driver, &listed[i], ns);
            else if (foreign)
                handle = vmc_listed_foreign_handle(&listed[i]);
        }
        if (handle)
            g_ptr_array_add(handles, handle);
        vmc_listed_clear(&listed[i]);
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(handles, vmc_handle_by_name);
    return g_steal_pointer(&handles);
}

/**
 * vmc_lv_list:
 * @driver: a driver
 * @ns: (nullable): only VMs of this namespace
 * @error: return location for a #GError, or %NULL
 *
 * Lists the VMs of virt-vmconfig, sorted by name, in a constant number of
 * round trips plus one concurrent metadata read per domain (see the top
 * of this file).
 *
 * Returns: (transfer full) (element-type VmcHandle): the handles, or
 *   %NULL with %VMC_ERROR_HYPERVISOR.
 */
GPtrArray *
vmc_lv_list(VmcDriver *driver, const char *ns, GError **error)
{
    g_return_val_if_fail(driver != NULL, NULL);
    return vmc_list_domains(driver, ns, FALSE, error);
}

/**
 * vmc_lv_list_all:
 * @driver: a driver
 * @error: return location for a #GError, or %NULL
 *
 * Every domain of the host, sorted by name: ours as vmc_lv_list() gives
 * them, the others marked foreign.
 *
 * Returns: (transfer full) (element-type VmcHandle): the handles, or
 *   %NULL with %VMC_ERROR_HYPERVISOR.
 */
GPtrArray *
vmc_lv_list_all(VmcDriver *driver, GError **error)
{
    g_return_val_if_fail(driver != NULL, NULL);
    return vmc_list_domains(driver, NULL, TRUE, error);
}
