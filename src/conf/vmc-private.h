/*
 * vmc-private.h: definitions shared inside libvmconfig, never installed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-quote-private.h"
#include <vmconfig/vmconfig.h>
#include <vmconfig/vmc-driver-plugin.h>

#include "vmc-enum-private.h"

struct _VmcNetworkAttachment {
    VmcNetworkKind kind;
    char *source;
    char *mac;
    GPtrArray *forwards;  /* of VmcPortForward; NULL when there are none */
};

struct _VmcPortForward {
    VmcForwardProto proto;
    char *host_address;   /* NULL: every address of the host */
    guint host_port;
    guint guest_port;
};

struct _VmcSharedDir {
    char *host_path;
    char *tag;
    gboolean read_only;
};

struct _VmcConfig {
    char *name;
    char *namespace;
    char *kernel;
    char *initramfs;
    char *root_disk;
    char *data_disk;
    char *seed_iso;
    guint cpus;
    guint memory_mb;
    GPtrArray *networks;     /* of VmcNetworkAttachment */
    GPtrArray *shared_dirs;  /* of VmcSharedDir */
    char *serial_log;
    char *cmdline;
    char *netns;
    gboolean vsock;
    GBytes *machine_id;
    char *efi_variable_store;
    gboolean rosetta;
};

typedef enum {
    VMC_FIELD_STRING,       /* char *, required */
    VMC_FIELD_OPT_STRING,   /* char *, NULL when absent */
    VMC_FIELD_UINT,         /* guint */
    VMC_FIELD_BOOL,         /* gboolean */
    VMC_FIELD_BYTES,        /* GBytes *, NULL when absent; JSON: hex string */
    VMC_FIELD_NETWORKS,     /* GPtrArray of VmcNetworkAttachment */
    VMC_FIELD_SHARED_DIRS,  /* GPtrArray of VmcSharedDir */
} VmcFieldType;

/* One row per VmcConfig field, in the model's order. Copying, comparing,
 * freeing, JSON and the path checks of validation are driven from it. */
typedef struct {
    const char *name;
    VmcFieldType type;
    gsize offset;
    gboolean is_path;
} VmcFieldInfo;

extern const VmcFieldInfo vmc_config_fields[];
extern const gsize vmc_config_n_fields;

#define VMC_FIELD_PTR(cfg, field) ((gpointer) ((char *) (cfg) + (field)->offset))
#define VMC_FIELD_CPTR(cfg, field) ((gconstpointer) ((const char *) (cfg) + (field)->offset))

const VmcFieldInfo *vmc_config_field_lookup(const char *name);



gboolean vmc_mac_parse(const char *mac, guint8 out[6]);

/* Whether @address is an IPv4 address in dotted quads or an IPv6 address
 * (no brackets, no zone). */
gboolean vmc_ip_address_valid(const char *address);
char *vmc_bytes_to_hex(GBytes *bytes);
GBytes *vmc_bytes_from_hex(const char *hex);

/* Identity a config renders to (vmc-render.c). */
void vmc_config_compute_uuid(const VmcConfig *cfg, guint8 uuid[16]);
char *vmc_uuid_format(const guint8 uuid[16]);
char *vmc_config_compute_mac(const VmcConfig *cfg, guint index);
char *vmc_config_default_cmdline(const VmcConfig *cfg, const char *arch);

/* The table of the default (libvirt) driver module, loaded once
 * (vmc-driver-loader.c). */
const VmcDriverOps *vmc_driver_load_default(GError **error);

/* vmc-driver-dispatch.c: each call on the table of a module of any ABI.
 * VMC_OP() is the member @m of @driver's table, or NULL when the module's
 * version of the table ends before it (never read) or leaves it unset. */
#define VMC_OPS(driver) (((const VmcDriverHeader *) (driver))->ops)
#define VMC_OPS_MEMBER(ops, m)                                                                    \
    (offsetof(VmcDriverOps, m) < vmc_ops_size((ops)->abi_version) ? (ops)->m : NULL)
#define VMC_OP(driver, m) VMC_OPS_MEMBER(VMC_OPS(driver), m)
#define VMC_OP_TYPE(m) __typeof__(((VmcDriverOps *) NULL)->m)

gsize vmc_ops_size(guint abi);
typedef gboolean (*VmcHandleOp)(VmcDriver *driver, const VmcHandle *handle, GError **error);

/* @call names the public function in errors; @cancellable (nullable)
 * goes to a member that observes it, or is looked at before the call. */
VmcHandle *vmc_op_boot(VmcDriver *driver, const VmcConfig *cfg, GCancellable *cancellable,
                       const char *call, GError **error);
gboolean vmc_op_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                     GCancellable *cancellable, const char *call, GError **error);
gboolean vmc_op_remove(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                       GCancellable *cancellable, const char *call, GError **error);
VmcConfig *vmc_op_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
                        gpointer user_data, GCancellable *cancellable, const char *call,
                        GError **error);
VmcState *vmc_op_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                            VmcWaitProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, const char *call, GError **error);
gboolean vmc_op_handle(VmcDriver *driver, VmcHandleOp op, const char *member, const char *what,
                       const VmcHandle *handle, GCancellable *cancellable, const char *call,
                       GError **error);
VmcState *vmc_op_get_state(VmcDriver *driver, const VmcHandle *handle,
                           GCancellable *cancellable, const char *call, GError **error);
char **vmc_op_gc_staged(VmcDriver *driver, GCancellable *cancellable, const char *call,
                        GError **error);
gboolean vmc_op_present(VmcDriver *driver, gboolean present, const char *member_name,
                        const char *call, GError **error);

/* vmc-json-strict.c: a VM config file is RFC 8259 JSON, and bounded. */
#define VMC_JSON_MAX_BYTES (1024 * 1024)
#define VMC_JSON_MAX_DEPTH 32
gboolean vmc_json_check_strict(const char *data, gsize length, const char *origin,
                               GError **error);
