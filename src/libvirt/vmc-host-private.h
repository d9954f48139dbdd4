/*
 * vmc-host-private.h: probes of what a host can run, shared by
 * check-host, boot's preflight and the tests' expectations (plumbing:
 * vmc-host-probe.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-libvirt-private.h"
#include "vmc-xml-private.h"

#include <pwd.h>
#include <sys/stat.h>

#define VMC_HOST_VHOST_VSOCK "/dev/vhost-vsock"
#define VMC_HOST_KVM_DEVICE "/dev/kvm"

/* True when @user may access a file of status @st as @mask (R_OK, W_OK,
 * X_OK bits), by its owner, its group (primary or supplementary) or the
 * others' bits, as the kernel decides for a process without privileges. */
gboolean vmc_host_user_may(const struct passwd *user, const struct stat *st, int mask);

gboolean vmc_host_has_vhost_vsock(void);

/* The passwd entry of user @name (with @name NULL: of @uid) in one block
 * that the caller frees with g_free(), which no later getpw*() call (of
 * this thread or another) overwrites; NULL when there is none. */
struct passwd *vmc_host_getpw(const char *name, uid_t uid);

/* The name of group @gid (free with g_free()), or NULL. */
char *vmc_host_group_name(gid_t gid);

/* The user QEMU runs as for a local @uri: libvirt-qemu for the system
 * daemon and a root embedded driver, else this process's user; NULL when
 * that user does not exist. Free with g_free(). */
struct passwd *vmc_host_qemu_user(const char *uri);

/* The emulator libvirt would use for @arch (NULL: the host's) and domain
 * type @virttype ("qemu", "kvm"), or NULL when it has none. Resets
 * libvirt's error of this thread. */
char *vmc_host_emulator(virConnectPtr conn, const char *arch, const char *virttype);

/* Whether the host's libvirt takes virtiofs <readonly/>, asked of it with
 * a probe domain (defines nothing); else @why is libvirt's reason. */
gboolean vmc_host_virtiofs_readonly_works(virConnectPtr conn, char **why);

/* Whether user NICs can use passt, port forwards included, on that host,
 * asked with a probe domain; else @why says what is missing. */
gboolean vmc_host_passt_works(virConnectPtr conn, gboolean local, char **why);

/* libvirt has just refused to define VM @name, rendered for @accel, on
 * @uri: its error (the thread's last), as a VMC_ERROR of a definition.
 * Where KVM was asked for and that host offers none, the error says so and
 * what to do. Returns FALSE. */
gboolean vmc_host_define_refused(virConnectPtr conn, const char *uri, const char *name,
                                 VmcAccel accel, GError **error);

/* Whether a process connecting to the unix socket @path gets an answer. */
gboolean vmc_host_socket_answers(const char *path);

/* FALSE when @uri is the local system or session daemon and no socket of
 * it answers; TRUE for every other URI. */
gboolean vmc_local_daemon_may_answer(const char *uri);

/* The domain capabilities document for @arch and @virttype, parsed; NULL
 * when libvirt has none. Resets libvirt's error of this thread. */
xmlDoc *vmc_host_domcaps(virConnectPtr conn, const char *arch, const char *virttype);

/* The text of the first node @xpath finds in @doc (NULL-safe), or NULL. */
char *vmc_host_xpath_text(xmlDoc *doc, const char *xpath);
