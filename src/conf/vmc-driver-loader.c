/*
 * vmc-driver-loader.c: driver modules found, loaded and dispatched to
 *
 * vmc_driver_open() loads the libvirt module on first use; every other
 * vmc_driver_* call goes through the table of the module that made the
 * driver (a driver begins with a VmcDriverHeader). Modules live in the
 * driver directory: $VMC_DRIVER_DIR, else, for a library that runs from
 * its build tree, the build tree's driver directory, else the installed
 * one (the pkg-config variable `driverdir` of vmconfig.pc). They are never
 * unloaded: callbacks of theirs may still be pending anywhere.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <dlfcn.h>
#include <gmodule.h>
#include <string.h>

#define VMC_DRIVER_DEFAULT_NAME "libvirt"

static GMutex vmc_loader_lock;
static GHashTable *vmc_loaded;   /* name -> const VmcDriverOps *, guarded by the lock */

/* The references held on drivers beyond the one vmc_driver_open() gave:
 * driver -> count above 1. A driver that is not in it has one. Kept here,
 * not in the driver, because the driver is the module's own struct, whose
 * layout (a VmcDriverHeader, then the module's) a core cannot extend. */
static GMutex vmc_refs_lock;
static GHashTable *vmc_refs;

static gboolean
vmc_driver_name_valid(const char *name)
{
    gsize len = strlen(name);

    if (len == 0 || len > 64)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-' && *p != '_')
            return FALSE;
    }
    return TRUE;
}

/* Where modules are: see the top of this file. */
static char *
vmc_driver_dir(void)
{
    const char *env = g_getenv("VMC_DRIVER_DIR");
    Dl_info info;

    if (env && *env)
        return g_strdup(env);
    if (dladdr((void *) vmc_driver_dir, &info) && info.dli_fname &&
        g_str_has_prefix(info.dli_fname, VMC_BUILD_ROOT "/"))
        return g_strdup(VMC_BUILD_DRIVER_DIR);
    return g_strdup(VMC_DRIVER_DIR_DEFAULT);
}

/* The oldest table of operations the core still uses: calls whose
 * members came later fail on such a module with G_IO_ERROR_NOT_SUPPORTED
 * (vmc-driver-dispatch.c). */
#define VMC_DRIVER_ABI_OLDEST 1

/* What every module's table must set; any other member may be NULL. */
static gboolean
vmc_driver_ops_usable(const VmcDriverOps *ops)
{
    return ops->name && ops->open && ops->close;
}

static const VmcDriverOps *
vmc_driver_load_locked(const char *name, GError **error)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    VmcDriverPluginGetOps get_ops = NULL;
    g_autoptr(GError) first_refusal = NULL;
    const VmcDriverOps *ops = NULL;
    guint asked = 0;
    GModule *module;

    if (vmc_loaded && (ops = g_hash_table_lookup(vmc_loaded, name)))
        return ops;
    dir = vmc_driver_dir();
    file = g_strdup_printf("vmc-driver-%s.so", name);
    path = g_build_filename(dir, file, NULL);
    module = g_module_open(path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
    if (!module) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "cannot load the '%s' driver: %s (set VMC_DRIVER_DIR to the directory "
                    "that holds %s)", name, g_module_error(), file);
        return NULL;
    }
    if (!g_module_symbol(module, VMC_DRIVER_PLUGIN_SYMBOL, (gpointer *) &get_ops) || !get_ops) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "%s is no driver module of virt-vmconfig: it has no %s", path,
                    VMC_DRIVER_PLUGIN_SYMBOL);
        g_module_close(module);
        return NULL;
    }
    /* A module older than this core refuses its version: its own, older
     * table is asked for next. */
    for (guint version = VMC_DRIVER_ABI_VERSION; version >= VMC_DRIVER_ABI_OLDEST; version--) {
        g_autoptr(GError) refusal = NULL;

        ops = get_ops(version, &refusal);
        if (ops) {
            asked = version;
            break;
        }
        if (!first_refusal)
            first_refusal = g_steal_pointer(&refusal);
    }
    if (!ops) {
        if (first_refusal)
            g_propagate_prefixed_error(error, g_steal_pointer(&first_refusal),
                                       "cannot use the '%s' driver (%s): ", name, path);
        else
            g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                        "cannot use the '%s' driver (%s): it serves no driver ABI version",
                        name, path);
        g_module_close(module);
        return NULL;
    }
    if (ops->abi_version < asked || g_strcmp0(ops->name, name) != 0 ||
        !vmc_driver_ops_usable(ops)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "%s returned an unusable table of operations (ABI %u, name '%s')", path,
                    ops->abi_version, ops->name ? ops->name : "(none)");
        g_module_close(module);
        return NULL;
    }
    g_module_make_resident(module);
    if (!vmc_loaded)
        vmc_loaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_insert(vmc_loaded, g_strdup(name), (gpointer) ops);
    return ops;
}

static const VmcDriverOps *
vmc_driver_load(const char *name, GError **error)
{
    const VmcDriverOps *ops;

    if (!vmc_driver_name_valid(name)) {
        g_autofree char *q = vmc_quote_value(name);
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR,
                    "no driver %s: a driver's name is 1-64 of a-z, 0-9, '-' and '_'", q);
        return NULL;
    }
    g_mutex_lock(&vmc_loader_lock);
    ops = vmc_driver_load_locked(name, error);
    g_mutex_unlock(&vmc_loader_lock);
    return ops;
}

/**
 * vmc_driver_open_with:
 * @name: the driver module's name, e.g. "libvirt" (`vmc-driver-libvirt.so`
 *   in the driver directory)
 * @uri: (nullable): the host, in the driver's terms; %NULL for its default
 * @error: return location for a #GError, or %NULL
 *
 * Loads the driver module @name once per process (it stays loaded) and
 * opens a driver on @uri through it.
 *
 * Returns: (transfer full): the driver, or %NULL with
 *   %VMC_ERROR_HYPERVISOR (no such module, a module that does not serve
 *   this ABI, or a host that cannot be reached). May be called from any
 *   thread.
 *
 * Since: 0.1
 */
VmcDriver *
vmc_driver_open_with(const char *name, const char *uri, GError **error)
{
    const VmcDriverOps *ops;
    VmcDriver *driver;

    g_return_val_if_fail(name != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    ops = vmc_driver_load(name, error);
    if (!ops)
        return NULL;
    driver = ops->open(uri, error);
    g_warn_if_fail(!driver || VMC_OPS(driver) == ops);
    return driver;
}

/**
 * vmc_driver_quiet_process:
 * @name: (nullable): the driver module's name; %NULL for "libvirt"
 * @error: return location for a #GError, or %NULL
 *
 * For applications that want it, and only for them: the hypervisor's
 * library prints none of this process's errors on stderr (for libvirt: a
 * process-wide error function that drops them). The library never does
 * this by itself; errors on a driver's own connections are never printed
 * anyway, and every error reaches callers as a #GError. Call it before
 * opening drivers, from the main thread.
 *
 * Returns: %FALSE with %VMC_ERROR_HYPERVISOR when the module cannot be
 *   loaded.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_quiet_process(const char *name, GError **error)
{
    const VmcDriverOps *ops = vmc_driver_load(name ? name : VMC_DRIVER_DEFAULT_NAME, error);

    if (!ops)
        return FALSE;
    if (VMC_OPS_MEMBER(ops, quiet_process))
        ops->quiet_process();
    return TRUE;
}

/**
 * vmc_driver_open:
 * @uri: (nullable): a libvirt URI; %NULL picks $LIBVIRT_DEFAULT_URI, else
 *   the local system daemon (as root) or session daemon if its socket
 *   answers, else an embedded QEMU driver (`qemu:///embed`) that needs no
 *   daemon, rooted in $VMC_EMBED_ROOT, else /var/lib/virt-vmconfig/embed as
 *   root and $XDG_DATA_HOME/virt-vmconfig/embed as another user;
 *   `qemu:///embed` without `root=` gets that root too
 * @error: return location for a #GError, or %NULL
 *
 * Opens a connection through the libvirt driver module (loaded on the
 * first call). libvirt's event loop is registered once per process unless
 * the application registered one first; libvirt never prints errors: they
 * come back as GErrors. If the daemon goes away, the driver reconnects
 * with backoff; watches go on, and only the VMs whose state changed
 * meanwhile are reported. libvirt writes to its sockets with write(2), so
 * a daemon that dies under a call raises SIGPIPE: as libvirt asks, a
 * program whose daemon may go away ignores SIGPIPE (virsh and
 * virt-vmconfig do); the library never changes signal dispositions. A
 * boot that loses the daemon undoes what it defined once the daemon is
 * back (waiting for it at most 30 s).
 *
 * Returns: (transfer full): the driver, free with vmc_driver_free(); or
 *   %NULL with %VMC_ERROR_HYPERVISOR. May be called from any thread.
 *
 * Since: 0.1
 */
VmcDriver *
vmc_driver_open(const char *uri, GError **error)
{
    return vmc_driver_open_with(VMC_DRIVER_DEFAULT_NAME, uri, error);
}

/**
 * vmc_driver_ref:
 * @driver: a driver
 *
 * Adds a reference: the driver stays open until vmc_driver_unref() (or
 * vmc_driver_free()) has dropped every one. Each _async call holds one
 * until its task is gone, so a driver freed while such a call runs closes
 * only once the call is over and its callback has run. Any thread.
 *
 * Returns: (transfer full): @driver
 *
 * Since: 0.1
 */
VmcDriver *
vmc_driver_ref(VmcDriver *driver)
{
    guint extra;

    g_return_val_if_fail(driver != NULL, NULL);
    g_mutex_lock(&vmc_refs_lock);
    if (!vmc_refs)
        vmc_refs = g_hash_table_new(g_direct_hash, g_direct_equal);
    extra = GPOINTER_TO_UINT(g_hash_table_lookup(vmc_refs, driver));
    g_hash_table_insert(vmc_refs, driver, GUINT_TO_POINTER(extra + 1));
    g_mutex_unlock(&vmc_refs_lock);
    return driver;
}

/**
 * vmc_driver_unref:
 * @driver: (nullable): a driver
 *
 * Drops a reference; the last one closes the driver's connection and
 * removes its watches, whose functions are not called again. The last
 * reference may be dropped on any thread, once no sync call on @driver is
 * under way and no watch function of it runs.
 *
 * Since: 0.1
 */
void
vmc_driver_unref(VmcDriver *driver)
{
    guint extra = 0;

    if (!driver)
        return;
    g_mutex_lock(&vmc_refs_lock);
    if (vmc_refs)
        extra = GPOINTER_TO_UINT(g_hash_table_lookup(vmc_refs, driver));
    if (extra > 1)
        g_hash_table_insert(vmc_refs, driver, GUINT_TO_POINTER(extra - 1));
    else if (extra == 1)
        g_hash_table_remove(vmc_refs, driver);
    g_mutex_unlock(&vmc_refs_lock);
    if (extra == 0)
        VMC_OPS(driver)->close(driver);
}

/**
 * vmc_driver_free:
 * @driver: (nullable): a driver
 *
 * Drops the reference vmc_driver_open() gave, as vmc_driver_unref(): with
 * no _async call of it under way (none holds a reference), the driver's
 * connection is closed at once and its watches are removed; their
 * functions are not called again. From any thread, once no sync call on
 * @driver is under way and no watch function of it runs.
 *
 * Since: 0.1
 */
void
vmc_driver_free(VmcDriver *driver)
{
    vmc_driver_unref(driver);
}

const VmcDriverOps *
vmc_driver_load_default(GError **error)
{
    return vmc_driver_load(VMC_DRIVER_DEFAULT_NAME, error);
}

/* Every call below has the semantics of the libvirt driver's, documented
 * here for all drivers: DESIGN.md §5 is the contract. A driver may be used
 * from several threads; watch functions run on the thread-default main
 * context of the thread that made the watch. */

/**
 * vmc_driver_get_uri:
 * @driver: a driver
 *
 * Returns: (transfer none): the URI the driver is connected to (the one
 *   picked when vmc_driver_open() was given %NULL). Any thread.
 *
 * Since: 0.1
 */
const char *
vmc_driver_get_uri(VmcDriver *driver)
{
    g_return_val_if_fail(driver != NULL, NULL);
    VMC_OP_TYPE(get_uri) get_uri = VMC_OP(driver, get_uri);

    return get_uri ? get_uri(driver) : NULL;
}

/**
 * vmc_driver_is_local:
 * @driver: a driver
 *
 * Returns: %TRUE when this process sees the files of the host the
 *   hypervisor runs VMs on (for libvirt: `qemu:///system`,
 *   `qemu:///session`, `qemu:///embed` and the in-process `test:///`
 *   driver, decided from the URI alone), so that boot checks the config's
 *   files here and the serial log is followed here; any other host is
 *   remote, and its guests' files are seen through the hypervisor alone.
 *   Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_is_local(VmcDriver *driver)
{
    VMC_OP_TYPE(is_local) is_local;

    g_return_val_if_fail(driver != NULL, FALSE);
    is_local = VMC_OP(driver, is_local);
    return is_local && is_local(driver);
}

/**
 * vmc_driver_get_accel:
 * @driver: a driver
 *
 * Returns: the accelerator VMs get: the one set, else `kvm` when the host
 *   offers it and, on a local host, a probe vCPU really runs
 *   (vmc_host_kvm_runs()), else `qemu` (TCG). Any thread.
 *
 * Since: 0.1
 */
VmcAccel
vmc_driver_get_accel(VmcDriver *driver)
{
    VMC_OP_TYPE(get_accel) get_accel;

    g_return_val_if_fail(driver != NULL, VMC_ACCEL_QEMU);
    get_accel = VMC_OP(driver, get_accel);
    return get_accel ? get_accel(driver) : VMC_ACCEL_QEMU;
}

/**
 * vmc_driver_set_accel:
 * @driver: a driver
 * @accel: the accelerator later boots render for
 *
 * A local boot with %VMC_ACCEL_KVM where the KVM probe fails is refused
 * with %VMC_ERROR_INVALID_CONFIG. Any thread.
 *
 * Since: 0.1
 */
void
vmc_driver_set_accel(VmcDriver *driver, VmcAccel accel)
{
    VMC_OP_TYPE(set_accel) set_accel;

    g_return_if_fail(driver != NULL);
    set_accel = VMC_OP(driver, set_accel);
    if (set_accel)
        set_accel(driver, accel);
}

/**
 * vmc_driver_boot:
 * @driver: a driver
 * @cfg: the VM's config
 * @error: return location for a #GError, or %NULL
 *
 * Validates @cfg, checks on a local host that its files can be reached,
 * renders it, defines it (persistently) and starts it. Booting a stopped
 * VM of ours again redefines and starts it. A running VM, or a domain of
 * that name that is not ours, is refused and left untouched; a boot that
 * fails leaves the host as it was.
 *
 * Returns: (transfer full): the VM's handle, free with vmc_handle_free();
 *   or %NULL with %VMC_ERROR_INVALID_CONFIG (nothing was touched),
 *   %VMC_ERROR_BOOT_FAILED or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
VmcHandle *
vmc_driver_boot(VmcDriver *driver, const VmcConfig *cfg, GError **error)
{
    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_boot(driver, cfg, NULL, "vmc_driver_boot", error);
}

/**
 * vmc_driver_stop:
 * @driver: a driver
 * @handle: the VM
 * @timeout_ms: how long the guest gets to power off
 *   (%VMC_DRIVER_DEFAULT_STOP_TIMEOUT_MS is the usual)
 * @error: return location for a #GError, or %NULL
 *
 * Presses the VM's ACPI power button (again every 2 s) and waits for it
 * to power off; past @timeout_ms it is forced off. Stopping a stopped VM
 * succeeds.
 *
 * Returns: %TRUE when it powered off; %FALSE with %VMC_ERROR_STOP_FAILED
 *   (forced off after the timeout, or the stop failed),
 *   %VMC_ERROR_NOT_FOUND or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_stop(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return vmc_op_stop(driver, handle, timeout_ms, NULL, "vmc_driver_stop", error);
}

/**
 * vmc_driver_kill:
 * @driver: a driver
 * @handle: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Forces the VM off at once; killing a stopped VM succeeds.
 *
 * Returns: %TRUE on success; %FALSE with %VMC_ERROR_STOP_FAILED,
 *   %VMC_ERROR_NOT_FOUND or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_kill(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return vmc_op_handle(driver, VMC_OP(driver, kill), "kill", "kill", handle, NULL,
                         "vmc_driver_kill", error);
}

/**
 * vmc_driver_get_state:
 * @driver: a driver
 * @handle: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the VM's state now (Ready when its guest
 *   printed the marker in this boot), free with vmc_state_free(); or %NULL
 *   with %VMC_ERROR_NOT_FOUND, %VMC_ERROR_STATE_FAILED or
 *   %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
VmcState *
vmc_driver_get_state(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_get_state(driver, handle, NULL, "vmc_driver_get_state", error);
}

/**
 * vmc_driver_pause:
 * @driver: a driver
 * @handle: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Suspends the VM's vCPUs; pausing a paused VM succeeds.
 *
 * Returns: %TRUE on success; %FALSE with %VMC_ERROR_STATE_FAILED (for
 *   instance a VM that does not run), %VMC_ERROR_NOT_FOUND or
 *   %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_pause(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return vmc_op_handle(driver, VMC_OP(driver, pause), "pause", "pause", handle, NULL,
                         "vmc_driver_pause", error);
}

/**
 * vmc_driver_resume:
 * @driver: a driver
 * @handle: the VM
 * @error: return location for a #GError, or %NULL
 *
 * Resumes the vCPUs of a paused VM; resuming a running VM succeeds.
 *
 * Returns: %TRUE on success; %FALSE with %VMC_ERROR_STATE_FAILED,
 *   %VMC_ERROR_NOT_FOUND or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_resume(VmcDriver *driver, const VmcHandle *handle, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return vmc_op_handle(driver, VMC_OP(driver, resume), "resume", "resume", handle, NULL,
                         "vmc_driver_resume", error);
}

/**
 * vmc_driver_delete:
 * @driver: a driver
 * @handle: the VM
 * @flags: whether the NVRAM file of a UEFI VM goes too
 * @error: return location for a #GError, or %NULL
 *
 * Stops the VM if it runs (ACPI, then by force) and removes its
 * definition. Serial log, disks and shares are never touched.
 *
 * Returns: %TRUE on success; %FALSE with %VMC_ERROR_NOT_FOUND,
 *   %VMC_ERROR_STOP_FAILED or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_driver_delete(VmcDriver *driver, const VmcHandle *handle, VmcDeleteFlags flags,
                  GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    return vmc_op_remove(driver, handle, flags, NULL, "vmc_driver_delete", error);
}

/**
 * vmc_driver_lookup:
 * @driver: a driver
 * @name: a VM's name
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): the handle of our VM @name, free with
 *   vmc_handle_free(); or %NULL with %VMC_ERROR_NOT_FOUND (no such domain,
 *   or one that is not ours) or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
VmcHandle *
vmc_driver_lookup(VmcDriver *driver, const char *name, GError **error)
{
    g_return_val_if_fail(driver != NULL && name != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (!vmc_op_present(driver, VMC_OP(driver, lookup) != NULL, "lookup", "vmc_driver_lookup",
                        error))
        return NULL;
    return VMC_OPS(driver)->lookup(driver, name, error);
}

/**
 * vmc_driver_list:
 * @driver: a driver
 * @ns: (nullable): only VMs of this namespace
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full) (element-type VmcHandle): our VMs, sorted by
 *   name; or %NULL with %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
GPtrArray *
vmc_driver_list(VmcDriver *driver, const char *ns, GError **error)
{
    g_return_val_if_fail(driver != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (!vmc_op_present(driver, VMC_OP(driver, list) != NULL, "list", "vmc_driver_list", error))
        return NULL;
    return VMC_OPS(driver)->list(driver, ns, error);
}

/**
 * vmc_driver_list_all:
 * @driver: a driver
 * @error: return location for a #GError, or %NULL
 *
 * Every domain on the host: ours, and the others as handles that
 * vmc_handle_is_foreign() marks (name, UUID, state; no namespace). No call
 * but vmc_driver_adopt() acts on a foreign domain.
 *
 * Returns: (transfer full) (element-type VmcHandle): the domains, sorted by
 *   name; or %NULL with %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
GPtrArray *
vmc_driver_list_all(VmcDriver *driver, GError **error)
{
    g_return_val_if_fail(driver != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (!vmc_op_present(driver, VMC_OP(driver, list_all) != NULL, "list_all",
                        "vmc_driver_list_all", error))
        return NULL;
    return VMC_OPS(driver)->list_all(driver, error);
}

/**
 * vmc_driver_export:
 * @driver: a driver
 * @handle: one of our VMs
 * @warnings: (out) (optional) (transfer full) (array zero-terminated=1):
 *   what of the domain's definition the config cannot hold (empty for a
 *   domain virt-vmconfig defined)
 * @error: return location for a #GError, or %NULL
 *
 * The VM config of one of our VMs, read back from its persistent
 * definition: booting it defines the same domain.
 *
 * Returns: (transfer full): the config, or %NULL with %VMC_ERROR_NOT_FOUND
 *   or %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_driver_export(VmcDriver *driver, const VmcHandle *handle, char ***warnings, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (!vmc_op_present(driver, VMC_OP(driver, export_config) != NULL, "export_config",
                        "vmc_driver_export", error))
        return NULL;
    return VMC_OPS(driver)->export_config(driver, handle, warnings, error);
}

/**
 * vmc_driver_adopt:
 * @driver: a driver
 * @name: a domain that virt-vmconfig did not define
 * @ns: the namespace it joins
 * @flags: whether to adopt a domain that a config cannot hold whole
 * @lost: (out) (optional) (transfer full) (array zero-terminated=1): what
 *   of its definition a VM config cannot hold; set on success and on the
 *   refusal that lists them
 * @error: return location for a #GError, or %NULL
 *
 * Makes a foreign domain one of ours: its definition is read back into a
 * VM config; when nothing would be lost (or with %VMC_ADOPT_FORCE) our
 * metadata is added to it, live and persistent, and nothing else changes.
 * From then on every call manages it; the next boot of its exported config
 * redefines it from that config.
 *
 * Returns: (transfer full): the handle of the adopted VM; or %NULL with
 *   %VMC_ERROR_INVALID_CONFIG (something would be lost, or the domain reads
 *   back as no valid config: nothing was changed), %VMC_ERROR_NOT_FOUND,
 *   %VMC_ERROR_BOOT_FAILED (it is ours already) or %VMC_ERROR_HYPERVISOR.
 *   Any thread.
 *
 * Since: 0.1
 */
VmcHandle *
vmc_driver_adopt(VmcDriver *driver, const char *name, const char *ns, VmcAdoptFlags flags,
                 char ***lost, GError **error)
{
    g_return_val_if_fail(driver != NULL && name != NULL && ns != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (lost)
        *lost = NULL;
    if (!vmc_op_present(driver, VMC_OP(driver, adopt) != NULL, "adopt", "vmc_driver_adopt",
                        error))
        return NULL;
    return VMC_OPS(driver)->adopt(driver, name, ns, flags, lost, error);
}

/**
 * vmc_driver_stage:
 * @driver: a driver for a remote host
 * @cfg: a VM
 * @progress: (nullable): told how each upload goes
 * @user_data: data for @progress
 * @error: return location for a #GError, or %NULL
 *
 * Copies the VM's files from this host to the driver's host, through
 * libvirt's storage API (no other access to that host is needed): the
 * kernel, initramfs and seed ISO into volumes named by their content (an
 * unchanged file is never uploaded twice, and VMs share them), the root
 * and data disks into volumes of this VM's own (uploaded once; the guest's
 * writes are kept). The volumes live in a directory pool of
 * virt-vmconfig's, defined on that host when missing.
 *
 * Returns: (transfer full): @cfg with its paths on the driver's host, to
 *   boot there; or %NULL with %VMC_ERROR_INVALID_CONFIG (a file missing
 *   here), %VMC_ERROR_IO or %VMC_ERROR_HYPERVISOR (nothing half uploaded
 *   is left). Any thread.
 *
 * Since: 0.1
 */
VmcConfig *
vmc_driver_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
                 gpointer user_data, GError **error)
{
    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_stage(driver, cfg, progress, user_data, NULL, "vmc_driver_stage", error);
}

/**
 * vmc_driver_gc_staged:
 * @driver: a driver
 * @error: return location for a #GError, or %NULL
 *
 * Removes the staged files (vmc_driver_stage()) that no domain on the
 * host uses, ours or not, defined or running.
 *
 * Returns: (transfer full) (array zero-terminated=1): the paths removed
 *   (empty when none), or %NULL with %VMC_ERROR_HYPERVISOR. Any thread.
 *
 * Since: 0.1
 */
char **
vmc_driver_gc_staged(VmcDriver *driver, GError **error)
{
    g_return_val_if_fail(driver != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_gc_staged(driver, NULL, "vmc_driver_gc_staged", error);
}

/**
 * vmc_driver_wait_ready:
 * @driver: a driver
 * @handle: the VM
 * @timeout_ms: how long to wait
 * @error: return location for a #GError, or %NULL
 *
 * Waits until the guest prints `VMRS_READY <ip>` on its serial console in
 * this boot (at once if it already has), the VM stops, or @timeout_ms
 * passes. Iterates a main context of its own: call it from any thread
 * but a watch function.
 *
 * Returns: (transfer full): the Ready state, with the IP; or %NULL with
 *   %VMC_ERROR_BOOT_FAILED (the VM stopped first), %VMC_ERROR_STATE_FAILED
 *   (timeout: the message names the last state and the serial bytes seen),
 *   %VMC_ERROR_NOT_FOUND or %VMC_ERROR_HYPERVISOR.
 *
 * Since: 0.1
 */
VmcState *
vmc_driver_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                      GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_wait_ready(driver, handle, timeout_ms, NULL, NULL, NULL,
                             "vmc_driver_wait_ready", error);
}

/**
 * vmc_driver_wait_ready_full:
 * @driver: a driver
 * @handle: the VM
 * @timeout_ms: how long to wait
 * @progress: (nullable): called about every 100 ms while it waits
 * @user_data: data for @progress
 * @error: return location for a #GError, or %NULL
 *
 * vmc_driver_wait_ready() with progress reports, on the waiting thread.
 *
 * Returns: (transfer full): as vmc_driver_wait_ready().
 *
 * Since: 0.1
 */
VmcState *
vmc_driver_wait_ready_full(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                           VmcWaitProgressFunc progress, gpointer user_data, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    return vmc_op_wait_ready(driver, handle, timeout_ms, progress, user_data, NULL,
                             "vmc_driver_wait_ready_full", error);
}

/**
 * vmc_driver_follow_serial:
 * @driver: a driver
 * @handle: the VM
 * @func: called with each new piece of the serial log
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Follows the VM's serial log from its start (inotify, no polling); @func
 * runs on the calling thread's thread-default main context.
 *
 * Returns: an id for vmc_driver_unfollow_serial(), or 0 with
 *   %VMC_ERROR_IO (a log this host cannot read). Any thread.
 *
 * Since: 0.1
 */
guint
vmc_driver_follow_serial(VmcDriver *driver, const VmcHandle *handle, VmcSerialFunc func,
                         gpointer user_data, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    g_return_val_if_fail(error == NULL || *error == NULL, 0);
    if (!vmc_op_present(driver, VMC_OP(driver, follow_serial) != NULL, "follow_serial",
                        "vmc_driver_follow_serial", error))
        return 0;
    return VMC_OPS(driver)->follow_serial(driver, handle, func, user_data, error);
}

/**
 * vmc_driver_unfollow_serial:
 * @driver: a driver
 * @id: what vmc_driver_follow_serial() returned
 *
 * Stops following; the function is not called again. On the thread that
 * made the follow.
 *
 * Since: 0.1
 */
void
vmc_driver_unfollow_serial(VmcDriver *driver, guint id)
{
    VMC_OP_TYPE(unfollow_serial) unfollow;

    g_return_if_fail(driver != NULL);
    unfollow = VMC_OP(driver, unfollow_serial);
    if (unfollow)
        unfollow(driver, id);
}

/* The console flags this library knows; any other bit is refused. */
#define VMC_CONSOLE_KNOWN_FLAGS VMC_CONSOLE_FORCE

/**
 * vmc_driver_open_console:
 * @driver: a driver
 * @handle: a running VM
 * @flags: whether to take the console from another client that holds it
 * @func: called with the guest's serial output as it arrives, and once with
 *   %NULL when the console ended
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Opens the VM's serial console for both ways: what the guest writes from
 * now on reaches @func on the calling thread's thread-default main
 * context, and vmc_driver_console_send() writes to the guest. It works on
 * a remote host too (through the hypervisor's console stream, not the
 * serial log). One client holds a VM's console at a time: another one
 * fails this call unless @flags has %VMC_CONSOLE_FORCE, which ends the
 * console of the client that held it.
 *
 * Returns: an id for vmc_driver_console_send() and
 *   vmc_driver_close_console(); or 0 with %VMC_ERROR_STATE_FAILED (the VM
 *   does not run, or another client holds its console: the message says
 *   which), %VMC_ERROR_NOT_FOUND, %VMC_ERROR_HYPERVISOR or
 *   %G_IO_ERROR_NOT_SUPPORTED (the driver has no console, or @flags has a
 *   flag this library does not know: nothing was done). Any thread.
 *
 * Since: 0.1
 */
guint
vmc_driver_open_console(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                        VmcConsoleFunc func, gpointer user_data, GError **error)
{
    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    g_return_val_if_fail(error == NULL || *error == NULL, 0);
    if (flags & ~VMC_CONSOLE_KNOWN_FLAGS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "cannot open the console of VM '%s': no console flag 0x%x is known",
                    vmc_handle_get_name(handle), (guint) (flags & ~VMC_CONSOLE_KNOWN_FLAGS));
        return 0;
    }
    if (!vmc_op_present(driver, VMC_OP(driver, open_console) != NULL, "open_console",
                        "vmc_driver_open_console", error))
        return 0;
    return VMC_OPS(driver)->open_console(driver, handle, flags, func, user_data, error);
}

/**
 * vmc_driver_console_send:
 * @driver: a driver
 * @id: what vmc_driver_open_console() returned
 * @data: (array length=len): bytes for the guest, as typed (no newline is
 *   added or translated)
 * @len: their number
 * @error: return location for a #GError, or %NULL
 *
 * Writes @data to the VM's serial console. On the thread that opened it.
 *
 * Returns: %TRUE when all of @data was sent; %FALSE with
 *   %VMC_ERROR_STATE_FAILED (the console ended), %VMC_ERROR_HYPERVISOR or
 *   %G_IO_ERROR_NOT_SUPPORTED (the driver has no console).
 *
 * Since: 0.1
 */
gboolean
vmc_driver_console_send(VmcDriver *driver, guint id, const char *data, gsize len,
                        GError **error)
{
    g_return_val_if_fail(driver != NULL && id != 0, FALSE);
    g_return_val_if_fail(data != NULL || len == 0, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    if (!vmc_op_present(driver, VMC_OP(driver, console_send) != NULL, "console_send",
                        "vmc_driver_console_send", error))
        return FALSE;
    if (len == 0)
        return TRUE;
    return VMC_OPS(driver)->console_send(driver, id, data, len, error);
}

/**
 * vmc_driver_close_console:
 * @driver: a driver
 * @id: what vmc_driver_open_console() returned
 *
 * Closes the console (the VM runs on); its function is not called again,
 * not even for the end. On the thread that opened it.
 *
 * Since: 0.1
 */
void
vmc_driver_close_console(VmcDriver *driver, guint id)
{
    VMC_OP_TYPE(close_console) close_console;

    g_return_if_fail(driver != NULL);
    close_console = VMC_OP(driver, close_console);
    if (close_console && id != 0)
        close_console(driver, id);
}

/**
 * vmc_driver_watch:
 * @driver: a driver
 * @name: (nullable): only this VM
 * @ns: (nullable): only VMs of this namespace
 * @func: called for each state change
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the watch is removed
 *
 * Subscribes to the state changes of VMs made by virt-vmconfig. @func runs
 * on the thread-default main context of the calling thread, in the order
 * the hypervisor reported the changes. The serial logs of the running VMs
 * it covers are followed too, so that a guest printing its ready marker
 * is reported as a %VMC_STATE_READY event (%VMC_EVENT_READY).
 *
 * Returns: the watch's id, for vmc_driver_unwatch(); 0 when the driver
 *   cannot watch (its module has no watch operation: @destroy has been
 *   called). Any thread.
 *
 * Since: 0.1
 */
guint
vmc_driver_watch(VmcDriver *driver, const char *name, const char *ns, VmcWatchFunc func,
                 gpointer user_data, GDestroyNotify destroy)
{
    VMC_OP_TYPE(watch) watch;

    g_return_val_if_fail(driver != NULL && func != NULL, 0);
    watch = VMC_OP(driver, watch);
    if (!watch) {
        if (destroy)
            destroy(user_data);
        return 0;
    }
    return watch(driver, name, ns, func, user_data, destroy);
}

/**
 * vmc_driver_unwatch:
 * @driver: a driver
 * @id: what vmc_driver_watch() returned
 *
 * Removes a watch; its function is not called again, even for changes
 * already on their way. Safe from inside the watch's own function; any
 * thread.
 *
 * Since: 0.1
 */
void
vmc_driver_unwatch(VmcDriver *driver, guint id)
{
    VMC_OP_TYPE(unwatch) unwatch;

    g_return_if_fail(driver != NULL);
    unwatch = VMC_OP(driver, unwatch);
    if (unwatch)
        unwatch(driver, id);
}
