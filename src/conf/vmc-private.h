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

/* Whether the module of @driver serves the members of driver ABI @abi;
 * else FALSE with VMC_ERROR_HYPERVISOR naming @call (vmc-driver-loader.c). */
gboolean vmc_driver_serves(VmcDriver *driver, guint abi, const char *call, GError **error);

/* vmc-json-strict.c: a VM config file is RFC 8259 JSON, and bounded. */
#define VMC_JSON_MAX_BYTES (1024 * 1024)
#define VMC_JSON_MAX_DEPTH 32
gboolean vmc_json_check_strict(const char *data, gsize length, const char *origin,
                               GError **error);
