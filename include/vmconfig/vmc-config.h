/*
 * vmc-config.h: VmcConfig, the portable description of one VM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(VMC_INSIDE) && !defined(VMC_COMPILATION)
#error "Only <vmconfig/vmconfig.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * VmcConfig:
 *
 * Everything needed to boot one VM: the 18 fields of the vm-rs VmConfig
 * (name, namespace, kernel, initramfs, root_disk, data_disk, seed_iso,
 * cpus, memory_mb, networks, shared_dirs, serial_log, cmdline, netns,
 * vsock, machine_id, efi_variable_store, rosetta). Opaque; create it with
 * vmc_config_new() or vmc_config_load_file().
 *
 * Text getters return %NULL for a field that is not set. Setters copy
 * their argument; passing %NULL unsets an optional field.
 */
typedef struct _VmcConfig VmcConfig;

/**
 * VmcNetworkAttachment:
 *
 * One NIC of a VM, immutable once made. Its kind says what the NIC is
 * plugged into and what its source names.
 */
typedef struct _VmcNetworkAttachment VmcNetworkAttachment;

/**
 * VmcSharedDir:
 *
 * One host directory shared with the guest over virtiofs, immutable once
 * made.
 */
typedef struct _VmcSharedDir VmcSharedDir;

/**
 * VmcPortForward:
 *
 * One port of the host forwarded to a port of the guest on a
 * %VMC_NETWORK_USER NIC (passt's port forwarding), immutable once made.
 */
typedef struct _VmcPortForward VmcPortForward;

/**
 * VmcForwardProto:
 * @VMC_FORWARD_TCP: TCP connections to the host port reach the guest port.
 * @VMC_FORWARD_UDP: UDP datagrams to the host port reach the guest port.
 */
typedef enum {
    VMC_FORWARD_TCP,
    VMC_FORWARD_UDP,
} VmcForwardProto;

/**
 * VmcNetworkKind:
 * @VMC_NETWORK_TAP: a TAP device; the source is its name.
 * @VMC_NETWORK_BRIDGE: a port on an existing Linux bridge; the source is
 *   the bridge's name.
 * @VMC_NETWORK_NETWORK: a port on a libvirt network; the source is the
 *   network's name.
 * @VMC_NETWORK_USER: user-mode networking (needs no privileges); no source.
 */
typedef enum {
    VMC_NETWORK_TAP,
    VMC_NETWORK_BRIDGE,
    VMC_NETWORK_NETWORK,
    VMC_NETWORK_USER,
} VmcNetworkKind;

/* Upper bounds enforced by vmc_config_validate(). Every NIC and share is
 * a PCIe device behind a root port of its own; libvirt places at most
 * about 236 root ports on a q35 machine (116 NICs and 116 shares with
 * three disks and vsock were defined, 118 and 118 were not), so 64 of
 * each fit together. A path is at most PATH_MAX - 1 bytes. */
#define VMC_CONFIG_NAME_MAX 128
#define VMC_CONFIG_CPUS_MAX 512
#define VMC_CONFIG_MEMORY_MB_MAX (16u * 1024 * 1024)
#define VMC_CONFIG_CMDLINE_MAX 2047
#define VMC_CONFIG_TAG_MAX 36
#define VMC_CONFIG_IFNAME_MAX 15
#define VMC_CONFIG_MACHINE_ID_LEN 16
#define VMC_CONFIG_PATH_MAX 4095
#define VMC_CONFIG_NETWORKS_MAX 64
#define VMC_CONFIG_SHARED_DIRS_MAX 64
#define VMC_CONFIG_FORWARDS_MAX 64
#define VMC_CONFIG_PORT_MAX 65535

const char *vmc_network_kind_to_string(VmcNetworkKind kind);
gboolean vmc_network_kind_from_string(const char *str, VmcNetworkKind *kind);

/*
 * NIC and share values: new() copies its arguments; copy() and equal()
 * are deep; getters return (transfer none) strings owned by the value, or
 * %NULL for an absent source or MAC. Immutable once made: any thread.
 */
VmcNetworkAttachment *vmc_network_attachment_new(VmcNetworkKind kind,
                                                 const char *source,
                                                 const char *mac);
VmcNetworkAttachment *vmc_network_attachment_copy(const VmcNetworkAttachment *net);
void vmc_network_attachment_free(VmcNetworkAttachment *net);
VmcNetworkKind vmc_network_attachment_get_kind(const VmcNetworkAttachment *net);
const char *vmc_network_attachment_get_source(const VmcNetworkAttachment *net);
const char *vmc_network_attachment_get_mac(const VmcNetworkAttachment *net);
gboolean vmc_network_attachment_equal(const VmcNetworkAttachment *a,
                                      const VmcNetworkAttachment *b);
VmcNetworkAttachment *vmc_network_attachment_new_with_forwards(VmcNetworkKind kind,
                                                               const char *source,
                                                               const char *mac,
                                                               const VmcPortForward *const *forwards,
                                                               guint n_forwards);
guint vmc_network_attachment_get_n_forwards(const VmcNetworkAttachment *net);
const VmcPortForward *vmc_network_attachment_get_forward(const VmcNetworkAttachment *net,
                                                         guint index);

const char *vmc_forward_proto_to_string(VmcForwardProto proto);
gboolean vmc_forward_proto_from_string(const char *str, VmcForwardProto *proto);
VmcPortForward *vmc_port_forward_new(VmcForwardProto proto, const char *host_address,
                                     guint host_port, guint guest_port);
VmcPortForward *vmc_port_forward_parse(const char *spec, GError **error);
VmcPortForward *vmc_port_forward_copy(const VmcPortForward *fwd);
void vmc_port_forward_free(VmcPortForward *fwd);
VmcForwardProto vmc_port_forward_get_proto(const VmcPortForward *fwd);
const char *vmc_port_forward_get_host_address(const VmcPortForward *fwd);
guint vmc_port_forward_get_host_port(const VmcPortForward *fwd);
guint vmc_port_forward_get_guest_port(const VmcPortForward *fwd);
gboolean vmc_port_forward_equal(const VmcPortForward *a, const VmcPortForward *b);
char *vmc_port_forward_to_string(const VmcPortForward *fwd);

VmcSharedDir *vmc_shared_dir_new(const char *host_path, const char *tag, gboolean read_only);
VmcSharedDir *vmc_shared_dir_copy(const VmcSharedDir *dir);
void vmc_shared_dir_free(VmcSharedDir *dir);
const char *vmc_shared_dir_get_host_path(const VmcSharedDir *dir);
const char *vmc_shared_dir_get_tag(const VmcSharedDir *dir);
gboolean vmc_shared_dir_get_read_only(const VmcSharedDir *dir);
gboolean vmc_shared_dir_equal(const VmcSharedDir *a, const VmcSharedDir *b);

VmcConfig *vmc_config_new(const char *name);
VmcConfig *vmc_config_copy(const VmcConfig *cfg);
void vmc_config_free(VmcConfig *cfg);
gboolean vmc_config_equal(const VmcConfig *a, const VmcConfig *b);

/*
 * Field accessors, one pair per field of the model (the JSON keys of the
 * same names). Getters return values owned by @cfg ((transfer none),
 * valid until the field is set again or @cfg is freed); string getters
 * return %NULL for an optional field that is absent. Setters copy what
 * they are given; %NULL clears an optional field. Nothing is checked
 * until vmc_config_validate(). A #VmcConfig may be read from several
 * threads at once, but not while one of them sets a field.
 */
const char *vmc_config_get_name(const VmcConfig *cfg);
void vmc_config_set_name(VmcConfig *cfg, const char *name);
const char *vmc_config_get_namespace(const VmcConfig *cfg);
void vmc_config_set_namespace(VmcConfig *cfg, const char *ns);
const char *vmc_config_get_kernel(const VmcConfig *cfg);
void vmc_config_set_kernel(VmcConfig *cfg, const char *path);
const char *vmc_config_get_initramfs(const VmcConfig *cfg);
void vmc_config_set_initramfs(VmcConfig *cfg, const char *path);
const char *vmc_config_get_root_disk(const VmcConfig *cfg);
void vmc_config_set_root_disk(VmcConfig *cfg, const char *path);
const char *vmc_config_get_data_disk(const VmcConfig *cfg);
void vmc_config_set_data_disk(VmcConfig *cfg, const char *path);
const char *vmc_config_get_seed_iso(const VmcConfig *cfg);
void vmc_config_set_seed_iso(VmcConfig *cfg, const char *path);
guint vmc_config_get_cpus(const VmcConfig *cfg);
void vmc_config_set_cpus(VmcConfig *cfg, guint cpus);
guint vmc_config_get_memory_mb(const VmcConfig *cfg);
void vmc_config_set_memory_mb(VmcConfig *cfg, guint memory_mb);
const char *vmc_config_get_serial_log(const VmcConfig *cfg);
void vmc_config_set_serial_log(VmcConfig *cfg, const char *path);
const char *vmc_config_get_cmdline(const VmcConfig *cfg);
void vmc_config_set_cmdline(VmcConfig *cfg, const char *cmdline);
const char *vmc_config_get_netns(const VmcConfig *cfg);
void vmc_config_set_netns(VmcConfig *cfg, const char *netns);
gboolean vmc_config_get_vsock(const VmcConfig *cfg);
void vmc_config_set_vsock(VmcConfig *cfg, gboolean vsock);
const guint8 *vmc_config_get_machine_id(const VmcConfig *cfg, gsize *len);
void vmc_config_set_machine_id(VmcConfig *cfg, const guint8 *id, gsize len);
const char *vmc_config_get_efi_variable_store(const VmcConfig *cfg);
void vmc_config_set_efi_variable_store(VmcConfig *cfg, const char *path);
gboolean vmc_config_get_rosetta(const VmcConfig *cfg);
void vmc_config_set_rosetta(VmcConfig *cfg, gboolean rosetta);

guint vmc_config_get_n_networks(const VmcConfig *cfg);
const VmcNetworkAttachment *vmc_config_get_network(const VmcConfig *cfg, guint index);
void vmc_config_add_network(VmcConfig *cfg, VmcNetworkAttachment *net);
void vmc_config_clear_networks(VmcConfig *cfg);

guint vmc_config_get_n_shared_dirs(const VmcConfig *cfg);
const VmcSharedDir *vmc_config_get_shared_dir(const VmcConfig *cfg, guint index);
void vmc_config_add_shared_dir(VmcConfig *cfg, VmcSharedDir *dir);
void vmc_config_clear_shared_dirs(VmcConfig *cfg);

gboolean vmc_config_validate(const VmcConfig *cfg, GError **error);

VmcConfig *vmc_config_load_file(const char *path, GError **error);
VmcConfig *vmc_config_load_data(const char *data, gssize length, GError **error);
char *vmc_config_to_json(const VmcConfig *cfg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcConfig, vmc_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcNetworkAttachment, vmc_network_attachment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcSharedDir, vmc_shared_dir_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcPortForward, vmc_port_forward_free)

G_END_DECLS
