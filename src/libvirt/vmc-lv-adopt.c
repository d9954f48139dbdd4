/*
 * vmc-lv-adopt.c: the domains virt-vmconfig did not define: adopting one
 * (our metadata added, nothing else changed), and exporting one of ours as
 * the VM config that defines it (listing them is vmc-lv-list.c's)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"
#include "vmc-meta-private.h"

#include <string.h>

/* @dom's persistent definition read back as a config of namespace @ns; its
 * warnings say what the config cannot hold (the reader's note that the
 * domain has no metadata of ours goes: adopting it adds that). */
static VmcConfig *
vmc_domain_read_foreign(virDomainPtr dom, const char *ns, char ***warnings, GError **error)
{
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    char *raw = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    g_auto(GStrv) all = NULL;
    g_autoptr(GStrvBuilder) kept = g_strv_builder_new();
    VmcConfig *cfg;

    if (!raw) {
        vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot read the definition of domain '%s'", name);
        return NULL;
    }
    cfg = vmc_config_from_domain_xml(raw, &all, error);
    free(raw);
    if (!cfg)
        return NULL;
    vmc_config_set_namespace(cfg, ns);
    for (char **w = all; *w; w++) {
        if (!g_str_has_prefix(*w, "no virt-vmconfig metadata"))
            g_strv_builder_add(kept, *w);
    }
    *warnings = g_strv_builder_end(kept);
    return cfg;
}

/**
 * vmc_lv_export:
 * @driver: a driver
 * @handle: one of our VMs
 * @warnings: (out) (optional): what the config cannot hold
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM config of its persistent definition.
 */
VmcConfig *
vmc_lv_export(VmcDriver *driver, const VmcHandle *handle, char ***warnings, GError **error)
{
    g_autoptr(virDomain) dom = vmc_driver_domain(driver, handle, VMC_OP_LOOKUP, error);
    char *raw;
    VmcConfig *cfg;

    if (warnings)
        *warnings = NULL;
    if (!dom)
        return NULL;
    raw = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (!raw) {
        vmc_libvirt_error(error, VMC_OP_LOOKUP, "cannot read the definition of VM '%s'",
                          vmc_handle_get_name(handle));
        return NULL;
    }
    cfg = vmc_config_from_domain_xml(raw, warnings, error);
    free(raw);
    return cfg;
}

/**
 * vmc_lv_adopt:
 * @driver: a driver
 * @name: a foreign domain
 * @ns: the namespace it joins
 * @flags: %VMC_ADOPT_FORCE to adopt it though something would be lost
 * @lost: (out) (optional): what a config cannot hold of it
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the handle of the adopted VM.
 */
VmcHandle *
vmc_lv_adopt(VmcDriver *driver, const char *name, const char *ns, VmcAdoptFlags flags,
             char ***lost, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcMeta) element = NULL;
    g_auto(GStrv) warnings = NULL;
    g_autoptr(GError) invalid = NULL;
    g_autoptr(VmcBootLock) lock = NULL;
    g_autofree char *meta = NULL;
    unsigned int affect = VIR_DOMAIN_AFFECT_CONFIG;
    int rc;

    conn = vmc_driver_conn_checked(driver, error);
    if (!conn)
        return NULL;
    dom = virDomainLookupByName(conn, name);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_LOOKUP, "domain '%s' not found", name);
        return NULL;
    }
    if (vmc_domain_is_ours(dom, NULL)) {
        vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                 "VM '%s' is virt-vmconfig's already; nothing was changed", name);
        return NULL;
    }
    if (virDomainIsPersistent(dom) != 1) {
        virResetLastError();
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "domain '%s' is transient (it has no definition to keep our metadata in): "
                 "define it first (virsh dumpxml %s > %s.xml; virsh define %s.xml); nothing "
                 "was changed", name, name, name, name);
        return NULL;
    }
    cfg = vmc_domain_read_foreign(dom, ns, &warnings, error);
    if (!cfg)
        return NULL;
    if (lost)
        *lost = g_strdupv(warnings);
    if (!vmc_config_validate(cfg, &invalid)) {
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "domain '%s' cannot be adopted: it reads back as no valid VM config (%s); "
                 "nothing was changed", name, invalid->message);
        return NULL;
    }
    if (warnings[0] && !(flags & VMC_ADOPT_FORCE)) {
        g_autofree char *list = g_strjoinv("; ", warnings);
        vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                 "domain '%s' was not adopted: a VM config cannot hold all of it (%s); adopt "
                 "it with --force to take it as it is (its next boot from the config drops "
                 "those), or leave it to virsh; nothing was changed", name, list);
        return NULL;
    }

    /* Our metadata element, as the renderer writes it, with nothing marked
     * generated (UUID, command line and MACs are the domain's own), and
     * marked adopted until a boot renders the domain from its config. */
    element = vmc_meta_new(ns);
    element->adopted = TRUE;
    meta = vmc_meta_format(element);

    /* Not while a boot of that name is under way. */
    lock = vmc_boot_lock_try(driver, name);
    if (!lock) {
        vmc_fail(error, VMC_ERROR_BOOT_FAILED,
                 "domain '%s' is being booted by virt-vmconfig right now; nothing was changed",
                 name);
        return NULL;
    }
    if (virDomainIsActive(dom) == 1)
        affect |= VIR_DOMAIN_AFFECT_LIVE;
    rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, meta, "vmc", VMC_XML_NAMESPACE, affect);
    if (rc < 0) {
        vmc_libvirt_error(error, VMC_OP_DEFINE, "cannot add virt-vmconfig's metadata to domain "
                          "'%s'", name);
        return NULL;
    }
    return vmc_handle_from_domain(driver, dom, error);
}
