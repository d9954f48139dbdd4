/*
 * vmc-host-private.h: probes of what a host can run, shared by
 * check-host, boot's preflight and the tests' expectations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-libvirt-private.h"

#include <pwd.h>
#include <sys/stat.h>

#define VMC_HOST_VHOST_VSOCK "/dev/vhost-vsock"
#define VMC_HOST_KVM_DEVICE "/dev/kvm"

/* The first libvirt release whose QEMU driver accepts virtiofs <readonly/>. */
#define VMC_HOST_VIRTIOFS_READONLY_VERSION 11000000UL

/* The hosts a check of check-host applies to. */
typedef enum {
    VMC_HOST_CHECK_ON_ANY,          /* every host libvirt answers for */
    VMC_HOST_CHECK_ON_LOCAL,        /* a host whose files this process sees */
    VMC_HOST_CHECK_ON_REMOTE,       /* any other host */
    VMC_HOST_CHECK_ON_KVM_DEVICE,   /* a local host that has /dev/kvm */
    VMC_HOST_CHECK_ON_SYSTEM,       /* the local system daemon */
} VmcHostCheckScope;

typedef struct {
    const char *id;
    const char *title;
    VmcHostCheckScope scope;
} VmcHostCheckRow;

/* Every check vmc_lv_check_host() makes, in its order, each with its id and
 * title (written here only) and the hosts it applies to. A host libvirt
 * does not answer for gets the "libvirt" check alone, failed. */
extern const VmcHostCheckRow vmc_host_check_rows[];
extern const gsize vmc_host_n_check_rows;

/* The row of check @id, or NULL. */
const VmcHostCheckRow *vmc_host_check_row(const char *id);

/* Whether @row's check is made on a host that is @local (its files seen
 * here), the @system daemon, and has a KVM device (@kvm_device). */
gboolean vmc_host_check_applies(const VmcHostCheckRow *row, gboolean local, gboolean system,
                                gboolean kvm_device);

/* True when @user may access a file of status @st as @mask (R_OK, W_OK,
 * X_OK bits), by its owner, its group (primary or supplementary) or the
 * others' bits, as the kernel decides for a process without privileges. */
gboolean vmc_host_user_may(const struct passwd *user, const struct stat *st, int mask);

gboolean vmc_host_has_vhost_vsock(void);

/* The user QEMU runs as for a local @uri: libvirt-qemu for the system
 * daemon and a root embedded driver, else this process's user; NULL when
 * that user does not exist. */
struct passwd *vmc_host_qemu_user(const char *uri);

/* The emulator libvirt would use for @arch (NULL: the host's) and domain
 * type @virttype ("qemu", "kvm"), or NULL when it has none. Resets
 * libvirt's error of this thread. */
char *vmc_host_emulator(virConnectPtr conn, const char *arch, const char *virttype);

/* True when the host's libvirt accepts virtiofs <readonly/>. */
gboolean vmc_host_libvirt_accepts_virtiofs_readonly(virConnectPtr conn);

/* Whether user NICs can use passt here; else @why says what is missing. */
gboolean vmc_host_passt_works(virConnectPtr conn, gboolean local, char **why);

/* libvirt has just refused to define VM @name, rendered for @accel, on
 * @uri: its error (the thread's last), as a VMC_ERROR of a definition.
 * Where KVM was asked for and that host offers none, the error says so and
 * what to do. Returns FALSE. */
gboolean vmc_host_define_refused(virConnectPtr conn, const char *uri, const char *name,
                                 VmcAccel accel, GError **error);
