/*
 * vmc-meta-private.h: our metadata element, read and written in one place
 *
 * Every domain virt-vmconfig made or adopted carries, in its <metadata>,
 * one element <vm> in the namespace VMC_XML_NAMESPACE:
 *
 *   <vmc:vm namespace="NS" [adopted="yes"]>
 *     <vmc:netns>NAME</vmc:netns>                      netns, if any
 *     <vmc:serial-log path="PATH"/>                    serial_log
 *     <vmc:generated uuid="yes" cmdline="yes" macs="0 2"/>
 *     <vmc:share tag="T" host-path="P" read-only-by="bind-mount"/>...
 *     <vmc:owned-tap dev="TAP"/>...                    TAPs the driver made
 *   </vmc:vm>
 *
 * The renderer writes it, libvirt keeps it, and every reader (list, state,
 * lookup, adopt, export, the XML read-back) reads it back through here.
 * Compiled into the core and into the libvirt driver module.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-xml-private.h"

/* A read-only share that a driver served from a read-only view of its
 * host directory (a libvirt that refuses virtiofs <readonly/>). */
typedef struct {
    char *tag;
    char *host_path;
} VmcMetaShare;

typedef struct {
    char *ns;                /* the namespace; "" for none, never NULL */
    gboolean adopted;        /* adopted from another tool, not rendered by us */
    char *netns;             /* or NULL */
    char *serial_log;        /* or NULL */
    gboolean generated_uuid;     /* the UUID is derived from namespace and name */
    gboolean generated_cmdline;  /* the command line is the default */
    char *generated_macs;    /* indexes of NICs with generated MACs, space separated,
                              * as written (a reader checks them); NULL for none */
    GPtrArray *shares;       /* of VmcMetaShare */
    GPtrArray *owned_taps;   /* of char *: TAPs the driver made */
} VmcMeta;

VmcMeta *vmc_meta_new(const char *ns);
void vmc_meta_free(VmcMeta *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcMeta, vmc_meta_free)

void vmc_meta_add_share(VmcMeta *meta, const char *tag, const char *host_path);
void vmc_meta_add_owned_tap(VmcMeta *meta, const char *dev);
/* The owned TAPs as a new NULL-terminated array (never NULL). */
GStrv vmc_meta_dup_owned_taps(const VmcMeta *meta);

/* Our element in the domain document @doc, or NULL where it has none
 * (the domain is not ours). */
xmlNode *vmc_meta_find(xmlDoc *doc);

/* Reads our element @vm; children it does not know are passed over. */
VmcMeta *vmc_meta_read(xmlNode *vm);

/* Reads our element from the text virDomainGetMetadata() gives; NULL when
 * it does not parse. */
VmcMeta *vmc_meta_parse(const char *element);

/* Writes @meta as our element, a new last child of @parent. */
xmlNode *vmc_meta_write(const VmcMeta *meta, xmlNode *parent);

/* @meta as the text virDomainSetMetadata() takes (the element without its
 * namespace, which libvirt gives it). */
char *vmc_meta_format(const VmcMeta *meta);

/* The Ready record: whoever sees a guest's VMRS_READY marker (a wait, a
 * watch, the console of a boot) writes it into the domain's *live*
 * metadata, so that every later process and client machine reads the
 * state in one call, and it dies with the boot:
 *
 *   <vmcr:ready xmlns:vmcr="VMC_READY_NAMESPACE" ip="IP" boot="ID">
 *     <vmcr:stale-lease id="MAC@EXPIRY"/>...
 *   </vmcr:ready>
 *
 * ID is the domain's ID in the boot the marker came from (libvirt gives a
 * running domain a new one at each start); a record of another boot, or
 * with an address that does not parse, does not count. A boot writes one
 * without an IP when its NICs on libvirt networks have DHCP leases from
 * an earlier boot: those (MAC and expiry time) never make this boot
 * Ready; a lease the guest takes or renews has another expiry. */
#define VMC_READY_NAMESPACE "https://virt-vmconfig.dev/xmlns/ready/1"
#define VMC_READY_PREFIX "vmcr"

/* The text virDomainSetMetadata() takes for a record of @ip (nullable:
 * not ready yet) in @boot, with the leases of earlier boots (nullable). */
char *vmc_ready_record_format(const char *ip, guint boot, const char *const *stale_leases);
/* The stale leases of the record of @boot in a domain document (never NULL). */
GStrv vmc_ready_record_stale_leases(xmlDoc *doc, guint boot);
/* The address of a record, as virDomainGetMetadata() gives it, when it is
 * of @boot and valid; else NULL. */
char *vmc_ready_record_parse(const char *element, guint boot);
/* The same, found in a domain document (its live XML). */
char *vmc_ready_record_find(xmlDoc *doc, guint boot);
