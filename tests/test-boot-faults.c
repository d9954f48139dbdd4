/*
 * test-boot-faults.c: boot undoes what it did when libvirt fails where it
 * cannot be made to fail on purpose.
 *
 * This program defines virDomainGetXMLDesc() itself and is linked with
 * -rdynamic, so the driver module, which resolves the symbol through the
 * global scope, calls this one: it fails on demand and otherwise calls
 * libvirt's. On libvirt's test driver; no QEMU.
 */
#include "vmc-test.h"

#include <dlfcn.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

/* Which reads of a domain's XML fail: by their flags. */
static gboolean fail_inactive;   /* VIR_DOMAIN_XML_INACTIVE: the stored definition */
static gboolean fail_live;       /* no flags: the running domain's */

char *virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags);

char *
virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags)
{
    static char *(*real)(virDomainPtr, unsigned int);

    if (!real) {
        /* libvirt's own, from libvirt itself: this program does not link it
         * (the module brings it), so RTLD_NEXT would not find it. */
        void *libvirt = dlopen("libvirt.so.0", RTLD_LAZY | RTLD_LOCAL);

        g_assert_nonnull(libvirt);
        real = (char *(*)(virDomainPtr, unsigned int)) dlsym(libvirt, "virDomainGetXMLDesc");
        g_assert_nonnull(real);
    }
    if ((fail_inactive && (flags & VIR_DOMAIN_XML_INACTIVE)) || (fail_live && flags == 0))
        return NULL;   /* as libvirt does, but with no error set: "unknown libvirt error" */
    return real(domain, flags);
}

static char *tmp_dir;

static VmcConfig *
make_config(const char *name)
{
    VmcConfig *cfg = vmc_config_new(name);
    g_autofree char *kernel = g_build_filename(tmp_dir, "vmlinuz", NULL);
    g_autofree char *log_name = g_strconcat(name, ".serial", NULL);
    g_autofree char *log = g_build_filename(tmp_dir, log_name, NULL);

    vmc_config_set_namespace(cfg, "ns-faults");
    vmc_config_set_kernel(cfg, kernel);
    vmc_config_set_initramfs(cfg, kernel);
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 64);
    vmc_config_set_serial_log(cfg, log);
    return cfg;
}

static VmcDriver *
open_driver(void)
{
    g_autoptr(GError) error = NULL;
    VmcDriver *driver = vmc_driver_open("test:///default", &error);

    g_assert_no_error(error);
    vmc_driver_set_accel(driver, VMC_ACCEL_QEMU);
    return driver;
}

/* The old definition cannot be read: boot stops before it changes
 * anything, so a failed start could never undefine the user's VM. */
static void
test_old_definition_unreadable(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("faults-old-xml");
    g_autoptr(VmcHandle) first = NULL;
    g_autoptr(VmcHandle) again = NULL;
    g_autoptr(VmcHandle) still = NULL;
    g_autoptr(GError) error = NULL;

    first = vmc_driver_boot(driver, cfg, &error);
    g_assert_no_error(error);
    g_assert_true(vmc_driver_kill(driver, first, &error));

    fail_inactive = TRUE;
    again = vmc_driver_boot(driver, cfg, &error);
    fail_inactive = FALSE;
    g_assert_null(again);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED);
    g_assert_nonnull(strstr(error->message, "cannot read the definition of VM 'faults-old-xml'; "
                                            "nothing was changed"));
    g_clear_error(&error);

    /* Still defined, still stopped. */
    still = vmc_driver_lookup(driver, "faults-old-xml", &error);
    g_assert_no_error(error);
    g_assert_cmpint(vmc_state_get_kind(vmc_handle_get_state(still)), ==, VMC_STATE_STOPPED);
    g_assert_true(vmc_driver_delete(driver, still, VMC_DELETE_DEFAULT, &error));
}

/* It started, but its handle cannot be built: it is stopped and its
 * definition removed again, and boot says so. */
static void
test_handle_unbuildable(void)
{
    g_autoptr(VmcDriver) driver = open_driver();
    g_autoptr(VmcConfig) cfg = make_config("faults-handle");
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcHandle) none = NULL;
    g_autoptr(GError) error = NULL;

    fail_live = TRUE;
    handle = vmc_driver_boot(driver, cfg, &error);
    fail_live = FALSE;
    g_assert_null(handle);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_BOOT_FAILED);
    g_assert_nonnull(strstr(error->message, "VM 'faults-handle' started but was stopped again"));
    g_clear_error(&error);
    none = vmc_driver_lookup(driver, "faults-handle", &error);
    g_assert_null(none);
    g_assert_error(error, VMC_ERROR, VMC_ERROR_NOT_FOUND);
}

int
main(int argc, char **argv)
{
    g_autofree char *kernel = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("vmc-faults-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    kernel = g_build_filename(tmp_dir, "vmlinuz", NULL);
    g_assert_true(g_file_set_contents(kernel, "", 0, NULL));

    g_test_add_func("/faults/old-definition-unreadable", test_old_definition_unreadable);
    g_test_add_func("/faults/handle-unbuildable", test_handle_unbuildable);
    ret = g_test_run();
    vmc_test_rm_rf(tmp_dir);
    g_free(tmp_dir);
    return ret;
}
