/*
 * dlopen-driver.c: host tooling that uses a driver module through its
 * table of operations alone, the way a tool that brings its own plugin
 * loader would: dlopen() the module from the driver directory, ask for the
 * ABI it was built for, and call the ops. Only the config and value types
 * come from libvmconfig.
 *
 *   cc dlopen-driver.c $(pkg-config --cflags --libs vmconfig) -ldl -o dlopen-driver
 *   ./dlopen-driver "$(pkg-config --variable=driverdir vmconfig)" [URI]
 *
 * On libvirt's test driver (the default URI, test:///default) it boots a
 * VM, reads its state, kills it, boots it again, checks that booting it
 * while it runs is refused, and removes it; it also checks that an ABI
 * version the module does not serve is refused. Exit status 0 when all of
 * that went as it should.
 */
#include <vmconfig/vmconfig.h>
#include <vmconfig/vmc-driver-plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

static int failures;

static void
check(gboolean ok, const char *what, const GError *error)
{
    printf("%s %s%s%s\n", ok ? "ok:  " : "FAIL:", what, error ? ": " : "",
           error ? error->message : "");
    if (!ok)
        failures++;
}

static const char *
state_of(const VmcDriverOps *ops, VmcDriver *driver, const VmcHandle *handle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcState) state = ops->get_state(driver, handle, &error);

    return state ? vmc_state_kind_to_string(vmc_state_get_kind(state)) : "(error)";
}

int
main(int argc, char **argv)
{
    const char *uri = argc > 2 ? argv[2] : "test:///default";
    g_autofree char *path = NULL;
    g_autofree char *log = g_strdup_printf("/tmp/dlopen-driver-%d.serial", (int) getpid());
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) again = NULL;
    g_autoptr(VmcHandle) twice = NULL;
    g_autoptr(VmcHandle) gone = NULL;
    VmcDriverPluginGetOps get_ops;
    const VmcDriverOps *ops;
    VmcDriver *driver;
    void *module;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DRIVERDIR [URI]\n", argv[0]);
        return 2;
    }
    path = g_build_filename(argv[1], "vmc-driver-libvirt.so", NULL);
    module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!module) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return 1;
    }
    get_ops = (VmcDriverPluginGetOps) dlsym(module, VMC_DRIVER_PLUGIN_SYMBOL);
    if (!get_ops) {
        fprintf(stderr, "%s has no %s\n", path, VMC_DRIVER_PLUGIN_SYMBOL);
        return 1;
    }

    /* A version it does not serve: no table, and an error that says so. */
    ops = get_ops(9999, &error);
    check(ops == NULL && error != NULL, "ABI 9999 refused", error);
    g_clear_error(&error);

    ops = get_ops(VMC_DRIVER_ABI_VERSION, &error);
    if (!ops) {
        check(FALSE, "ABI 1 served", error);
        return 1;
    }
    printf("driver '%s', ABI %u, from %s\n", ops->name, ops->abi_version, path);

    driver = ops->open(uri, &error);
    if (!driver) {
        check(FALSE, "open", error);
        return 1;
    }
    ops->set_accel(driver, VMC_ACCEL_QEMU);

    /* The test driver runs nothing: any readable file does as a kernel. */
    cfg = vmc_config_new("dlopen-example");
    vmc_config_set_namespace(cfg, "examples");
    vmc_config_set_kernel(cfg, "/proc/self/exe");
    vmc_config_set_initramfs(cfg, "/proc/self/exe");
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 128);
    vmc_config_set_serial_log(cfg, log);

    handle = ops->boot(driver, cfg, &error);
    check(handle != NULL, "boot", error);
    g_clear_error(&error);
    if (handle) {
        check(g_str_equal(state_of(ops, driver, handle), "running"), "state: running", NULL);
        check(ops->kill(driver, handle, &error), "kill", error);
        g_clear_error(&error);
        check(g_str_equal(state_of(ops, driver, handle), "stopped"), "state: stopped", NULL);

        again = ops->boot(driver, cfg, &error);
        check(again != NULL, "boot again", error);
        g_clear_error(&error);
        twice = ops->boot(driver, cfg, &error);
        check(twice == NULL && g_error_matches(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED),
              "boot while running refused (BOOT_FAILED)", error);
        g_clear_error(&error);

        check(ops->remove(driver, handle, VMC_DELETE_DEFAULT, &error), "remove", error);
        g_clear_error(&error);
        gone = ops->lookup(driver, "dlopen-example", &error);
        check(gone == NULL && g_error_matches(error, VMC_ERROR, VMC_ERROR_NOT_FOUND),
              "lookup after remove: NOT_FOUND", error);
        g_clear_error(&error);
    }
    ops->close(driver);
    unlink(log);
    printf("%s\n", failures ? "FAILED" : "all as expected");
    return failures ? 1 : 0;
}
