/*
 * vmc-domain.h: VmcConfig to libvirt domain XML and back
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(VMC_INSIDE) && !defined(VMC_COMPILATION)
#error "Only <vmconfig/vmconfig.h> can be included directly."
#endif

#include <vmconfig/vmc-config.h>

G_BEGIN_DECLS

/**
 * VMC_XML_NAMESPACE:
 *
 * The namespace of the element that libvmconfig keeps in a domain's
 * `<metadata>`; a domain without it is not ours.
 */
#define VMC_XML_NAMESPACE "https://virt-vmconfig.dev/xmlns/vmconfig/1"

/**
 * VmcAccel:
 * @VMC_ACCEL_KVM: hardware virtualization (domain type `kvm`).
 * @VMC_ACCEL_QEMU: QEMU's TCG emulation (domain type `qemu`), slower but
 *   available everywhere.
 */
typedef enum {
    VMC_ACCEL_KVM,
    VMC_ACCEL_QEMU,
} VmcAccel;

const char *vmc_accel_to_string(VmcAccel accel);
gboolean vmc_accel_from_string(const char *str, VmcAccel *accel);

/**
 * VmcUserBackend:
 * @VMC_USER_BACKEND_SLIRP: QEMU's built-in user-mode network stack
 * @VMC_USER_BACKEND_PASST: passt, started by libvirt
 *
 * What carries the traffic of `user` NICs.
 */
typedef enum {
    VMC_USER_BACKEND_SLIRP,
    VMC_USER_BACKEND_PASST,
} VmcUserBackend;

const char *vmc_user_backend_to_string(VmcUserBackend backend);
gboolean vmc_user_backend_from_string(const char *str, VmcUserBackend *backend);

/**
 * VmcRenderOptions:
 *
 * How to render a config for one host: accelerator, architecture,
 * machine type, whether the config's paths are on another host, the
 * backend of user NICs, and what the driver made for the VM (read-only
 * views of shares, TAP devices).
 */
typedef struct _VmcRenderOptions VmcRenderOptions;

/*
 * new() gives accel kvm, x86_64/q35 and local paths; copy() is deep;
 * getters return (transfer none) strings owned by the options. Options
 * may be shared by threads that only render with them.
 */
VmcRenderOptions *vmc_render_options_new(void);
VmcRenderOptions *vmc_render_options_copy(const VmcRenderOptions *opts);
void vmc_render_options_free(VmcRenderOptions *opts);
void vmc_render_options_set_accel(VmcRenderOptions *opts, VmcAccel accel);
VmcAccel vmc_render_options_get_accel(const VmcRenderOptions *opts);
void vmc_render_options_set_arch(VmcRenderOptions *opts, const char *arch, const char *machine);
const char *vmc_render_options_get_arch(const VmcRenderOptions *opts);
const char *vmc_render_options_get_machine(const VmcRenderOptions *opts);
void vmc_render_options_set_remote_paths(VmcRenderOptions *opts, gboolean remote);
gboolean vmc_render_options_get_remote_paths(const VmcRenderOptions *opts);
void vmc_render_options_set_user_backend(VmcRenderOptions *opts, VmcUserBackend backend);
VmcUserBackend vmc_render_options_get_user_backend(const VmcRenderOptions *opts);
void vmc_render_options_set_share_view(VmcRenderOptions *opts, const char *tag,
                                       const char *view_dir);
const char *vmc_render_options_get_share_view(const VmcRenderOptions *opts, const char *tag);
void vmc_render_options_set_owned_taps(VmcRenderOptions *opts, const char *const *taps);
const char *const *vmc_render_options_get_owned_taps(const VmcRenderOptions *opts);

char *vmc_config_to_domain_xml(const VmcConfig *cfg, const VmcRenderOptions *opts,
                               GError **error);
VmcConfig *vmc_config_from_domain_xml(const char *xml, char ***warnings, GError **error);
VmcConfig *vmc_config_from_domain_xml_data(const char *xml, gssize length, char ***warnings,
                                           GError **error);

char *vmc_config_get_uuid_string(const VmcConfig *cfg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcRenderOptions, vmc_render_options_free)

G_END_DECLS
