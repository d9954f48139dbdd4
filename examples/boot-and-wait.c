/*
 * boot-and-wait.c: the library in a few lines: boot a VM from its config,
 * wait until its guest is ready, print the address, stop and delete it.
 *
 *   cc boot-and-wait.c $(pkg-config --cflags --libs vmconfig) -o boot-and-wait
 *   ./boot-and-wait examples/hello.json [URI]
 */
#include <vmconfig/vmconfig.h>

#include <stdio.h>

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmcConfig) cfg = NULL;
    g_autoptr(VmcDriver) driver = NULL;
    g_autoptr(VmcHandle) handle = NULL;
    g_autoptr(VmcState) ready = NULL;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG.json [URI]\n", argv[0]);
        return 2;
    }
    cfg = vmc_config_load_file(argv[1], &error);
    /* KVM where a probe vCPU really runs on that host, else TCG. */
    if (cfg && (driver = vmc_driver_open(argc > 2 ? argv[2] : NULL, &error)))
        handle = vmc_driver_boot(driver, cfg, &error);
    if (handle)
        ready = vmc_driver_wait_ready(driver, handle, 120000, &error);
    if (ready)
        printf("%s is ready at %s\n", vmc_handle_get_name(handle), vmc_state_get_ip(ready));
    if (handle) {
        g_autoptr(GError) cleanup = NULL;
        if (!vmc_driver_delete(driver, handle, VMC_DELETE_DEFAULT, &cleanup))
            fprintf(stderr, "%s\n", cleanup->message);
    }
    if (error) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    return 0;
}
