/*
 * vmc-lv-open.c: opening a driver (the URI it picks, an embedded
 * driver's root made ready), freeing it, and what it says of its host:
 * URI, local or system, accelerator, connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-connection.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *
vmc_embed_root(void)
{
    const char *env = g_getenv("VMC_EMBED_ROOT");

    if (env && *env)
        return g_strdup(env);
    if (geteuid() == 0)
        return g_strdup("/var/lib/virt-vmconfig/embed");
    return g_build_filename(g_get_user_data_dir(), "virt-vmconfig", "embed", NULL);
}

static char *
vmc_embed_uri(const char *query)
{
    g_autofree char *root = vmc_embed_root();
    g_autofree char *escaped = g_uri_escape_string(root, "/", FALSE);

    return g_strdup_printf("qemu:///embed?%s%sroot=%s", query ? query : "",
                           query && *query ? "&" : "", escaped);
}

/* `qemu:///embed` with no root (libvirt refuses it: "Missing URI parameter
 * 'root'") gets the root the default choice would give it, its other
 * parameters kept; any other URI is used as it is. */
static char *
vmc_uri_with_embed_root(const char *uri)
{
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_NON_DNS,
                                         NULL);
    g_autoptr(GHashTable) params = NULL;
    const char *query;

    if (!parsed || g_strcmp0(g_uri_get_scheme(parsed), "qemu") != 0 ||
        (g_uri_get_host(parsed) && *g_uri_get_host(parsed)) || g_uri_get_port(parsed) > 0 ||
        g_strcmp0(g_uri_get_path(parsed), "/embed") != 0)
        return g_strdup(uri);
    query = g_uri_get_query(parsed);
    if (query) {
        params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, NULL);
        if (!params || g_hash_table_contains(params, "root"))
            return g_strdup(uri);
    }
    return vmc_embed_uri(query);
}

/* $LIBVIRT_DEFAULT_URI; else the system daemon (as root) or the session daemon when its
 * socket answers; else an embedded QEMU driver, which needs no daemon. */
static char *
vmc_default_uri(void)
{
    const char *env = g_getenv("LIBVIRT_DEFAULT_URI");

    if (env && *env)
        return vmc_uri_with_embed_root(env);
    if (geteuid() == 0) {
        if (vmc_host_socket_answers("/run/libvirt/virtqemud-sock") ||
            vmc_host_socket_answers("/run/libvirt/libvirt-sock"))
            return g_strdup("qemu:///system");
    } else {
        g_autofree char *a = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "virtqemud-sock", NULL);
        g_autofree char *b = g_build_filename(g_get_user_runtime_dir(), "libvirt",
                                              "libvirt-sock", NULL);
        if (vmc_host_socket_answers(a) || vmc_host_socket_answers(b))
            return g_strdup("qemu:///session");
    }
    return vmc_embed_uri(NULL);
}

/* The root= of an embedded QEMU driver's @uri; NULL for any other URI. */
static char *
vmc_uri_embed_root(const char *uri)
{
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, NULL);
    g_autoptr(GHashTable) params = NULL;

    if (!parsed || g_strcmp0(g_uri_get_path(parsed), "/embed") != 0 || !g_uri_get_query(parsed))
        return NULL;
    params = g_uri_parse_params(g_uri_get_query(parsed), -1, "&", G_URI_PARAMS_NONE, NULL);
    return params ? g_strdup(g_hash_table_lookup(params, "root")) : NULL;
}

char *
vmc_lv_embed_root(VmcDriver *driver)
{
    return vmc_uri_embed_root(driver->hub->uri);
}

/* An embedded driver logs QEMU's output through virtlogd unless told to
 * write files itself; with no daemon there is no virtlogd. And left to
 * itself libvirt 11.3's embedded driver raised QEMU's core size limit to
 * unlimited, which fails the start where this process's hard limit is
 * lower and it lacks CAP_SYS_RESOURCE (seen in GLib 2.84's test
 * subprocesses, which lower it to 0): QEMU gets 0 instead. */
static gboolean
vmc_prepare_embed_root(const char *uri, GError **error)
{
    g_autofree char *root = vmc_uri_embed_root(uri);
    g_autofree char *etc = NULL;
    g_autofree char *conf = NULL;

    if (!root)
        return TRUE;
    etc = g_build_filename(root, "etc", NULL);
    conf = g_build_filename(etc, "qemu.conf", NULL);
    if (g_file_test(conf, G_FILE_TEST_EXISTS))
        return TRUE;
    if (g_mkdir_with_parents(etc, 0755) < 0 ||
        !g_file_set_contents(conf, "# written by virt-vmconfig: no virtlogd without a daemon\n"
                                   "stdio_handler = \"file\"\n"
                                   "# QEMU dumps no core (libvirt's default for its daemons):\n"
                                   "# raising the limit needs privileges a process may lack\n"
                                   "max_core = 0\n", -1, NULL)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "cannot prepare the embedded QEMU driver's root '%s': %s", root,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* Whether this process sees the files of the host @uri names (DESIGN.md
 * §5), decided from the URI alone, once per connection: only the QEMU
 * driver's system, session and embedded URIs with no transport and no
 * host, and libvirt's test driver, which runs in this process (and whose
 * "guests" print nothing, so *@in_process says that no serial output is
 * ever read for them). Every other URI is a remote host, even one that
 * names this machine: what it runs is seen through libvirt alone. */
static gboolean
vmc_uri_is_local(const char *uri, gboolean *in_process)
{
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_NON_DNS,
                                         NULL);
    const char *scheme = parsed ? g_uri_get_scheme(parsed) : NULL;
    const char *host = parsed ? g_uri_get_host(parsed) : NULL;
    const char *path = parsed ? g_uri_get_path(parsed) : NULL;

    *in_process = FALSE;
    if (!parsed || (host && *host) || g_uri_get_port(parsed) > 0)
        return FALSE;
    if (g_strcmp0(scheme, "test") == 0) {
        *in_process = TRUE;
        return TRUE;
    }
    return g_strcmp0(scheme, "qemu") == 0 &&
           (g_strcmp0(path, "/system") == 0 || g_strcmp0(path, "/session") == 0 ||
            g_strcmp0(path, "/embed") == 0);
}

/* A driver half made is freed by the module itself: its header may name
 * no table of operations yet. */
typedef VmcDriver VmcLvDriver;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcLvDriver, vmc_lv_close)

/**
 * vmc_lv_open:
 * @uri: (nullable): a libvirt URI; %NULL picks $LIBVIRT_DEFAULT_URI, else
 *   the local system daemon (as root) or session daemon if its socket answers, else
 *   an embedded QEMU driver (`qemu:///embed`) that needs no daemon;
 *   `qemu:///embed` without `root=` gets that driver's root
 * @ops: (nullable): the table the driver's header names (the plugin's, so
 *   that the core dispatches through it; %NULL for a driver the module
 *   uses itself and frees with vmc_lv_close())
 * @error: return location for a #GError, or %NULL
 *
 * Opens a connection (the open operation of the libvirt module, see
 * vmc_driver_open()). libvirt is initialized first (once per process);
 * its event loop starts with the first watch (or at once for the embedded
 * driver, whose QEMU monitor runs on it). Errors on the connection are
 * never printed, they come back as GErrors. Once events are followed, a
 * lost daemon is noticed (close callback, keepalive) and reconnected with
 * backoff; watches go on, and only the VMs whose state changed meanwhile
 * are reported. Before that, the call after the one that failed on a lost
 * daemon opens a new connection.
 *
 * Returns: (transfer full): the driver, or %NULL with %VMC_ERROR_HYPERVISOR.
 */
VmcDriver *
vmc_lv_open(const char *uri, const VmcDriverOps *ops, GError **error)
{
    g_autoptr(VmcLvDriver) driver = NULL;
    g_autoptr(GUri) parsed = NULL;
    virConnectPtr conn;
    VmcEventHub *hub;
    gboolean embedded;

    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!vmc_libvirt_init(error))
        return NULL;
    driver = g_new0(VmcDriver, 1);
    driver->header.ops = ops;
    g_mutex_init(&driver->boot_lock);
    driver->name_locks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                               vmc_name_lock_free);
    g_mutex_init(&driver->accel_lock);
    g_mutex_init(&driver->follow_lock);
    g_mutex_init(&driver->console_lock);
    driver->ready_cache = vmc_ready_cache_new();
    hub = driver->hub = g_new0(VmcEventHub, 1);
    hub->ref = 1;
    hub->driver = driver;
    hub->lifecycle_id = -1;
    hub->namespaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    hub->states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vmc_seen_free);
    hub->stopping = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    hub->panicked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_mutex_init(&hub->lock);
    g_mutex_init(&hub->events_lock);
    g_cond_init(&hub->wake);
    hub->uri = uri ? vmc_uri_with_embed_root(uri) : vmc_default_uri();

    if (!vmc_prepare_embed_root(hub->uri, error))
        return NULL;
    /* The embedded driver runs QEMU's monitor on the event loop: it has it
     * from the start. Other connections get it when a watch needs it. */
    embedded = g_str_has_prefix(hub->uri, "qemu:///embed");
    if (embedded && !vmc_event_loop_ensure(error))
        return NULL;
    conn = virConnectOpen(hub->uri);
    if (!conn) {
        vmc_libvirt_error(error, VMC_OP_CONNECT, "cannot connect to '%s'", hub->uri);
        return NULL;
    }
    if (!embedded) {
        vmc_hub_attach_plain(hub, conn);
    } else if (!vmc_hub_attach(hub, conn, error)) {
        virConnectClose(conn);
        return NULL;
    }
    driver->local = vmc_uri_is_local(hub->uri, &driver->in_process);
    parsed = g_uri_parse(hub->uri, G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_NON_DNS, NULL);
    driver->system = driver->local && !driver->in_process && parsed &&
                     g_strcmp0(g_uri_get_path(parsed), "/system") == 0;
    return g_steal_pointer(&driver);
}

void
vmc_lv_close(VmcDriver *driver)
{
    VmcEventHub *hub;
    virConnectPtr conn;
    int id;

    if (!driver)
        return;
    hub = driver->hub;
    /* Consoles first: their streams are on the connection. */
    g_mutex_lock(&driver->console_lock);
    g_clear_pointer(&driver->consoles, g_hash_table_unref);
    g_clear_pointer(&driver->open_consoles, g_hash_table_unref);
    g_mutex_unlock(&driver->console_lock);
    g_mutex_lock(&hub->lock);
    hub->driver = NULL;
    hub->closing = TRUE;
    g_cond_broadcast(&hub->wake);
    for (GList *l = hub->watchers; l; l = l->next)
        ((VmcWatcher *) l->data)->removed = TRUE;
    conn = hub->conn;
    id = hub->lifecycle_id;
    hub->conn = NULL;
    g_mutex_unlock(&hub->lock);
    for (GList *l = hub->watchers; l; l = l->next)
        vmc_watcher_cancel(l->data);
    g_list_free_full(hub->watchers, (GDestroyNotify) vmc_watcher_unref);
    hub->watchers = NULL;

    if (conn) {
        if (id >= 0)
            virConnectDomainEventDeregisterAny(conn, id);
        virConnectUnregisterCloseCallback(conn, vmc_on_close);
        virConnectClose(conn);
        virResetLastError();
    }
    vmc_hub_unref(hub);
    g_clear_pointer(&driver->serial_follows, g_hash_table_unref);
    g_clear_pointer(&driver->name_locks, g_hash_table_unref);
    g_mutex_clear(&driver->boot_lock);
    g_mutex_clear(&driver->accel_lock);
    g_mutex_clear(&driver->follow_lock);
    g_mutex_clear(&driver->console_lock);
    g_free(driver->no_passt_why);
    vmc_ready_cache_free(driver->ready_cache);
    g_free(driver);
}

const char *
vmc_lv_get_uri(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, NULL);
    return driver->hub->uri;
}

/**
 * vmc_lv_is_local:
 * @driver: a driver
 *
 * Returns: %TRUE when this process sees the files of the host libvirt
 * runs VMs on, decided from the URI once (qemu:///system, qemu:///session,
 * qemu:///embed, and the in-process test driver): boot checks the config's
 * files here and the serial log is followed here. Every other URI is a
 * remote host, reached through libvirt alone.
 */
gboolean
vmc_lv_is_local(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, FALSE);
    return driver->local;
}

/**
 * vmc_lv_get_accel:
 * @driver: a driver
 *
 * Returns: the accelerator VMs get: the one set, else `kvm` when the host's
 * domain capabilities offer it and, on a local host, a probe vCPU really
 * runs (vmc_host_kvm_runs()), else `qemu` (TCG).
 */
VmcAccel
vmc_lv_get_accel(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, VMC_ACCEL_QEMU);
    g_mutex_lock(&driver->accel_lock);
    if (!driver->accel_known) {
        g_autoptr(virConnect) conn = vmc_driver_conn(driver);
        g_autofree char *kvm = conn ? vmc_host_emulator(conn, NULL, "kvm") : NULL;

        driver->accel = kvm && (!driver->local || vmc_host_kvm_runs(NULL)) ? VMC_ACCEL_KVM
                                                                           : VMC_ACCEL_QEMU;
        /* While a reconnect is under way nothing is known yet: ask again. */
        driver->accel_known = conn != NULL;
    }
    g_mutex_unlock(&driver->accel_lock);
    return driver->accel;
}

/* passt where libvirt and the host have it, else slirp; asked once. */
VmcUserBackend
vmc_lv_user_backend(VmcDriver *driver)
{
    g_mutex_lock(&driver->accel_lock);
    if (!driver->user_backend_known) {
        g_autoptr(virConnect) conn = vmc_driver_conn(driver);
        g_autofree char *why = NULL;

        driver->user_backend = conn && vmc_host_passt_works(conn, driver->local, &why)
                                   ? VMC_USER_BACKEND_PASST
                                   : VMC_USER_BACKEND_SLIRP;
        driver->user_backend_known = conn != NULL;
        g_free(driver->no_passt_why);
        driver->no_passt_why = g_steal_pointer(&why);
    }
    g_mutex_unlock(&driver->accel_lock);
    return driver->user_backend;
}

/* Why user NICs are not passt on that host (libvirt's refusal, or no
 * passt program), or NULL when they are. */
char *
vmc_lv_no_passt_why(VmcDriver *driver)
{
    char *why;

    if (vmc_lv_user_backend(driver) == VMC_USER_BACKEND_PASST)
        return NULL;
    g_mutex_lock(&driver->accel_lock);
    why = g_strdup(driver->no_passt_why ? driver->no_passt_why : "libvirt cannot be reached");
    g_mutex_unlock(&driver->accel_lock);
    return why;
}

/* Whether that host's libvirt enforces virtiofs <readonly/> itself (asked
 * of it once, as the backend is). */
gboolean
vmc_lv_native_readonly(VmcDriver *driver)
{
    g_mutex_lock(&driver->accel_lock);
    if (!driver->native_readonly_known) {
        g_autoptr(virConnect) conn = vmc_driver_conn(driver);
        g_autofree char *why = NULL;

        driver->native_readonly = conn && vmc_host_virtiofs_readonly_works(conn, &why);
        driver->native_readonly_known = conn != NULL;
    }
    g_mutex_unlock(&driver->accel_lock);
    return driver->native_readonly;
}

void
vmc_lv_set_accel(VmcDriver *driver, VmcAccel accel)
{
    g_return_if_fail(driver != NULL);
    g_mutex_lock(&driver->accel_lock);
    driver->accel = accel;
    driver->accel_known = TRUE;
    g_mutex_unlock(&driver->accel_lock);
}

virConnectPtr
vmc_driver_get_conn(VmcDriver *driver)
{
    return vmc_driver_conn(driver);
}

virConnectPtr
vmc_driver_conn_checked(VmcDriver *driver, GError **error)
{
    VmcEventHub *hub = driver->hub;
    virConnectPtr conn = vmc_driver_conn(driver);
    gboolean events;

    /* Without events nothing notices a lost daemon but the next call: the
     * one after it opens a new connection. */
    if (conn && virConnectIsAlive(conn) == 0) {
        g_mutex_lock(&hub->events_lock);
        g_mutex_lock(&hub->lock);
        events = hub->events;
        g_mutex_unlock(&hub->lock);
        if (!events) {
            virConnectPtr fresh = virConnectOpen(hub->uri);

            virResetLastError();
            if (fresh) {
                virConnectClose(conn);
                vmc_hub_attach_plain(hub, fresh);
                conn = vmc_driver_conn(driver);
            }
        }
        g_mutex_unlock(&hub->events_lock);
    }

    if (!conn)
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "the connection to '%s' was lost and is being re-established; try again",
                    driver->hub->uri);
    return conn;
}

gboolean
vmc_driver_is_system(VmcDriver *driver)
{
    return driver->system;
}
