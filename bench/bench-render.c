/*
 * bench-render.c: how fast VM configs become libvirt domain XML
 *
 * Two measurements, see bench/README.md:
 *   in-process     vmc_config_to_domain_xml() on loaded configs, in µs per VM
 *   whole-process  `virt-vmconfig xml FILE` against `virt-install --print-xml`
 *                  for the same VM, in ms per run, and their ratio
 *
 * A benchmark, not a test: the goals are reported, never enforced. The exit
 * status is not 0 only when the benchmark itself cannot run (bad arguments,
 * a config that does not load or render, a command that fails).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vmconfig/vmconfig.h>

#include <gio/gio.h>

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Goals the figures are reported against. */
#define BENCH_GOAL_US_PER_VM 20.0
#define BENCH_GOAL_RATIO 40.0

/* The libvirt URI that lets virt-install run without a daemon. */
#define BENCH_VIRT_INSTALL_URI "test:///default"

typedef struct {
    guint count;
    guint rounds;
    guint runs;
    guint warmup;
    char *virt_vmconfig;
    char *vm_config;
} BenchOptions;

static void
bench_options_clear(BenchOptions *bopts)
{
    g_clear_pointer(&bopts->virt_vmconfig, g_free);
    g_clear_pointer(&bopts->vm_config, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(BenchOptions, bench_options_clear)

static int
bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;

    return (x > y) - (x < y);
}

/* Sorts @values in place and returns their median. */
static double
bench_median(double *values, guint n)
{
    g_assert(n > 0);
    qsort(values, n, sizeof(double), bench_compare_doubles);
    if (n % 2)
        return values[n / 2];
    return (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

static const char *
bench_verdict(gboolean met)
{
    return met ? "met" : "NOT met";
}

/*
 * In process
 */

/* Renders @count VMs, cycling through @configs and naming the i-th one
 * "<its name>-<i>", so that no two renders in a round are of the same
 * content; stores the µs per VM of each round in @us_per_vm. */
static gboolean
bench_render_rounds(GPtrArray *configs, const VmcRenderOptions *opts, guint count, guint rounds,
                    double *us_per_vm, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_full(count, g_free);
    g_autoptr(GPtrArray) bases = g_ptr_array_new_full(configs->len, g_free);
    gsize bytes = 0;

    for (guint c = 0; c < configs->len; c++)
        g_ptr_array_add(bases, g_strdup(vmc_config_get_name(g_ptr_array_index(configs, c))));
    /* Names stay within the 128 characters a name may have. */
    for (guint i = 0; i < count; i++)
        g_ptr_array_add(names, g_strdup_printf("%.100s-%u",
                                               (const char *) g_ptr_array_index(bases,
                                                                                i % configs->len),
                                               i));

    /* Warm-up, untimed: parses the templates once and checks that every
     * config renders, under a name of the kind the rounds use. */
    for (guint i = 0; i < MIN(count, 1000u); i++) {
        VmcConfig *cfg = g_ptr_array_index(configs, i % configs->len);
        g_autofree char *xml = NULL;
        g_autofree char *want = NULL;

        vmc_config_set_name(cfg, g_ptr_array_index(names, i));
        xml = vmc_config_to_domain_xml(cfg, opts, error);
        if (!xml)
            return FALSE;
        want = g_strdup_printf("<name>%s</name>", (const char *) g_ptr_array_index(names, i));
        if (!strstr(xml, want)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "the XML rendered for '%s' does not hold its name",
                        (const char *) g_ptr_array_index(names, i));
            return FALSE;
        }
    }

    for (guint r = 0; r < rounds; r++) {
        gint64 start = g_get_monotonic_time();

        for (guint i = 0; i < count; i++) {
            VmcConfig *cfg = g_ptr_array_index(configs, i % configs->len);
            char *xml;

            vmc_config_set_name(cfg, g_ptr_array_index(names, i));
            xml = vmc_config_to_domain_xml(cfg, opts, error);
            if (!xml)
                return FALSE;
            bytes += strlen(xml);
            g_free(xml);
        }
        us_per_vm[r] = (double) (g_get_monotonic_time() - start) / count;
    }

    for (guint c = 0; c < configs->len; c++)
        vmc_config_set_name(g_ptr_array_index(configs, c), g_ptr_array_index(bases, c));
    g_debug("rendered %" G_GSIZE_FORMAT " bytes of XML", bytes);
    return TRUE;
}

static gboolean
bench_in_process(char **paths, const BenchOptions *bopts, GError **error)
{
    g_autoptr(GPtrArray) configs = g_ptr_array_new_with_free_func((GDestroyNotify) vmc_config_free);
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autofree double *rounds = g_new0(double, bopts->rounds);
    g_autoptr(GString) names = g_string_new(NULL);
    double median, worst_median;

    for (char **p = paths; *p; p++) {
        VmcConfig *cfg = vmc_config_load_file(*p, error);

        if (!cfg)
            return FALSE;
        g_ptr_array_add(configs, cfg);
    }
    /* No host probing and no file I/O: only rendering is measured. */
    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);

    if (!bench_render_rounds(configs, opts, bopts->count, bopts->rounds, rounds, error))
        return FALSE;
    median = bench_median(rounds, bopts->rounds);
    worst_median = median;
    for (char **p = paths; *p; p++) {
        g_autofree char *base = g_path_get_basename(*p);

        g_string_append_printf(names, "%s%s", p == paths ? "" : " + ", base);
    }
    printf("render in-process: median %.1f µs/VM (min %.1f) over %u rounds of %u "
           "(%s%s, accel qemu, remote paths)\n",
           median, rounds[0], bopts->rounds, bopts->count, names->str,
           configs->len > 1 ? " in turn" : "");

    /* Each config on its own, when there are several. */
    for (guint c = 0; configs->len > 1 && c < configs->len; c++) {
        g_autoptr(GPtrArray) one = g_ptr_array_new();
        g_autofree char *base = g_path_get_basename(paths[c]);

        g_ptr_array_add(one, g_ptr_array_index(configs, c));
        if (!bench_render_rounds(one, opts, bopts->count, bopts->rounds, rounds, error))
            return FALSE;
        median = bench_median(rounds, bopts->rounds);
        worst_median = MAX(worst_median, median);
        printf("  %s: median %.1f µs/VM (min %.1f) over %u rounds of %u\n", base, median,
               rounds[0], bopts->rounds, bopts->count);
    }
    printf("  goal ≤ %.0f µs/VM: %s (worst median %.1f µs/VM)\n", BENCH_GOAL_US_PER_VM,
           bench_verdict(worst_median <= BENCH_GOAL_US_PER_VM), worst_median);
    fflush(stdout);
    return TRUE;
}

/*
 * Whole process
 */

/* Runs @argv (no shell) once; it must exit 0 and print domain XML. */
static gboolean
bench_spawn(char **argv, gint64 *elapsed_us, GError **error)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    gint64 start;
    int status;

    start = g_get_monotonic_time();
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, error))
        return FALSE;
    *elapsed_us = g_get_monotonic_time() - start;

    if (!g_spawn_check_exit_status(status, error)) {
        g_autoptr(GError) exit_error = g_steal_pointer(error);

        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s%s%s", argv[0],
                    exit_error->message, err && *err ? "; its stderr:\n" : "", err ? err : "");
        return FALSE;
    }
    if (!out || !strstr(out, "<domain ") || !strstr(out, "</domain>")) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s printed no domain XML%s%s",
                    argv[0], err && *err ? ": " : "", err ? err : "");
        return FALSE;
    }
    return TRUE;
}

/* Runs @argv @bopts->warmup times untimed, then @bopts->runs times; gives
 * the median and the minimum wall time in ms. */
static gboolean
bench_spawn_runs(char **argv, const BenchOptions *bopts, double *median_ms, double *min_ms,
                 GError **error)
{
    g_autofree double *ms = g_new0(double, bopts->runs);
    gint64 elapsed;

    for (guint i = 0; i < bopts->warmup; i++) {
        if (!bench_spawn(argv, &elapsed, error))
            return FALSE;
    }
    for (guint i = 0; i < bopts->runs; i++) {
        if (!bench_spawn(argv, &elapsed, error))
            return FALSE;
        ms[i] = elapsed / 1000.0;
    }
    *median_ms = bench_median(ms, bopts->runs);
    *min_ms = ms[0];
    return TRUE;
}

/* Appends copies of the NULL-terminated arguments to @argv. */
G_GNUC_NULL_TERMINATED static void
bench_argv_add(GPtrArray *argv, const char *first, ...)
{
    va_list args;

    va_start(args, first);
    for (const char *arg = first; arg; arg = va_arg(args, const char *))
        g_ptr_array_add(argv, g_strdup(arg));
    va_end(args);
}

/* The virt-install --print-xml command line for the VM of @cfg. */
static GStrv
bench_virt_install_argv(const char *program, const VmcConfig *cfg, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) boot = g_string_new(NULL);
    const char *cmdline = vmc_config_get_cmdline(cfg);

    if (vmc_config_get_root_disk(cfg) || vmc_config_get_data_disk(cfg) ||
        vmc_config_get_seed_iso(cfg) || vmc_config_get_efi_variable_store(cfg) ||
        vmc_config_get_vsock(cfg)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "the whole-process VM must be a kernel boot without disks, UEFI or vsock");
        return NULL;
    }
    if (cmdline && strchr(cmdline, ',')) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "a kernel command line with ',' cannot be passed to virt-install --boot");
        return NULL;
    }

    bench_argv_add(argv, program, "--connect", BENCH_VIRT_INSTALL_URI, "--name",
                   vmc_config_get_name(cfg), "--memory", NULL);
    g_ptr_array_add(argv, g_strdup_printf("%u", vmc_config_get_memory_mb(cfg)));
    bench_argv_add(argv, "--vcpus", NULL);
    g_ptr_array_add(argv, g_strdup_printf("%u", vmc_config_get_cpus(cfg)));

    g_string_append_printf(boot, "kernel=%s", vmc_config_get_kernel(cfg));
    if (vmc_config_get_initramfs(cfg))
        g_string_append_printf(boot, ",initrd=%s", vmc_config_get_initramfs(cfg));
    if (cmdline)
        g_string_append_printf(boot, ",kernel_args=%s", cmdline);
    bench_argv_add(argv, "--boot", boot->str, NULL);

    for (guint i = 0; i < vmc_config_get_n_shared_dirs(cfg); i++) {
        const VmcSharedDir *dir = vmc_config_get_shared_dir(cfg, i);

        bench_argv_add(argv, "--filesystem", NULL);
        g_ptr_array_add(argv, g_strdup_printf("source=%s,target=%s,driver.type=virtiofs%s",
                                              vmc_shared_dir_get_host_path(dir),
                                              vmc_shared_dir_get_tag(dir),
                                              vmc_shared_dir_get_read_only(dir) ? ",readonly=on"
                                                                                : ""));
    }
    if (vmc_config_get_n_shared_dirs(cfg) > 0)
        bench_argv_add(argv, "--memorybacking", "source.type=memfd,access.mode=shared", NULL);

    for (guint i = 0; i < vmc_config_get_n_networks(cfg); i++) {
        const VmcNetworkAttachment *net = vmc_config_get_network(cfg, i);
        const char *mac = vmc_network_attachment_get_mac(net);
        g_autofree char *mac_opt = mac ? g_strconcat(",mac=", mac, NULL) : g_strdup("");
        const char *source = vmc_network_attachment_get_source(net);

        char *value = NULL;

        switch (vmc_network_attachment_get_kind(net)) {
        case VMC_NETWORK_BRIDGE:
            value = g_strdup_printf("bridge=%s,model=virtio%s", source, mac_opt);
            break;
        case VMC_NETWORK_NETWORK:
            value = g_strdup_printf("network=%s,model=virtio%s", source, mac_opt);
            break;
        case VMC_NETWORK_TAP:
            value = g_strdup_printf("type=ethernet,target.dev=%s,model=virtio%s", source, mac_opt);
            break;
        case VMC_NETWORK_USER:
            value = g_strdup_printf("user,model=virtio%s", mac_opt);
            break;
        }
        bench_argv_add(argv, "--network", NULL);
        g_ptr_array_add(argv, value);
    }

    bench_argv_add(argv, "--serial", NULL);
    g_ptr_array_add(argv, g_strdup_printf("file,path=%s", vmc_config_get_serial_log(cfg)));
    bench_argv_add(argv, "--graphics", "none", "--disk", "none", "--osinfo",
                   "detect=off,require=off", "--noautoconsole", "--print-xml", NULL);
    g_ptr_array_add(argv, NULL);
    g_ptr_array_set_free_func(argv, NULL);
    return (GStrv) g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/* For display only: the commands are run without a shell. */
static char *
bench_argv_to_string(char **argv)
{
    g_autoptr(GString) line = g_string_new(NULL);

    for (char **a = argv; *a; a++) {
        g_autofree char *quoted = g_shell_quote(*a);
        const char *word = strpbrk(*a, " '\"\\$`*?;&|<>()") ? quoted : *a;

        g_string_append_printf(line, "%s%s", line->len ? " " : "", word);
    }
    return g_string_free(g_steal_pointer(&line), FALSE);
}

static gboolean
bench_whole_process(const BenchOptions *bopts, GError **error)
{
    g_autoptr(VmcConfig) cfg = NULL;
    g_autofree char *virt_install = NULL;
    g_autofree char *ours_line = NULL;
    g_autofree char *theirs_line = NULL;
    g_auto(GStrv) theirs = NULL;
    g_autoptr(GError) theirs_error = NULL;
    char *ours[] = { bopts->virt_vmconfig, (char *) "--accel", (char *) "qemu", (char *) "xml",
                     bopts->vm_config, NULL };
    double ours_median, ours_min, theirs_median, theirs_min;

    if (!g_file_test(bopts->virt_vmconfig, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no virt-vmconfig at '%s' (build it, or pass --virt-vmconfig)",
                    bopts->virt_vmconfig);
        return FALSE;
    }
    cfg = vmc_config_load_file(bopts->vm_config, error);
    if (!cfg)
        return FALSE;
    virt_install = g_find_program_in_path("virt-install");
    if (virt_install) {
        theirs = bench_virt_install_argv(virt_install, cfg, error);
        if (!theirs)
            return FALSE;
    }

    ours_line = bench_argv_to_string(ours);
    printf("whole process: VM '%s' from %s\n", vmc_config_get_name(cfg), bopts->vm_config);
    printf("  ours:   %s\n", ours_line);
    if (theirs) {
        theirs_line = bench_argv_to_string(theirs);
        printf("  theirs: %s\n", theirs_line);
    }
    fflush(stdout);

    if (!bench_spawn_runs(ours, bopts, &ours_median, &ours_min, error))
        return FALSE;
    if (!theirs) {
        printf("whole process: virt-vmconfig xml %.2f ms (min %.2f), median of %u runs; "
               "virt-install not found in PATH: no comparison (apt-get install virtinst)\n",
               ours_median, ours_min, bopts->runs);
        fflush(stdout);
        return TRUE;
    }
    if (!bench_spawn_runs(theirs, bopts, &theirs_median, &theirs_min, &theirs_error)) {
        /* Ours is still worth printing; the benchmark as a whole failed. */
        printf("whole process: virt-vmconfig xml %.2f ms (min %.2f), median of %u runs; "
               "virt-install failed\n", ours_median, ours_min, bopts->runs);
        fflush(stdout);
        g_propagate_error(error, g_steal_pointer(&theirs_error));
        return FALSE;
    }

    printf("whole process: virt-vmconfig xml %.2f ms, virt-install --print-xml %.0f ms, "
           "ratio %.0fx (medians of %u runs each after %u warm-up)\n",
           ours_median, theirs_median, theirs_median / ours_median, bopts->runs, bopts->warmup);
    printf("  min: virt-vmconfig xml %.2f ms, virt-install --print-xml %.0f ms\n", ours_min,
           theirs_min);
    printf("  goal ≥ %.0fx faster: %s\n", BENCH_GOAL_RATIO,
           bench_verdict(theirs_median / ours_median >= BENCH_GOAL_RATIO));
    fflush(stdout);
    return TRUE;
}

int
main(int argc, char **argv)
{
    g_auto(BenchOptions) bopts = {
        .count = 20000,
        .rounds = 5,
        .runs = 20,
        .warmup = 2,
    };
    gboolean in_process = FALSE;
    gboolean whole_process = FALSE;
    int count = (int) bopts.count;
    int rounds = (int) bopts.rounds;
    int runs = (int) bopts.runs;
    int warmup = (int) bopts.warmup;
    g_auto(GStrv) configs = NULL;
    const GOptionEntry entries[] = {
        { "in-process", 0, 0, G_OPTION_ARG_NONE, &in_process,
          "only the in-process benchmark", NULL },
        { "whole-process", 0, 0, G_OPTION_ARG_NONE, &whole_process,
          "only the whole-process benchmark", NULL },
        { "count", 'n', 0, G_OPTION_ARG_INT, &count,
          "in-process: renders per round (default 20000)", "N" },
        { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
          "in-process: rounds (default 5)", "R" },
        { "runs", 'k', 0, G_OPTION_ARG_INT, &runs,
          "whole-process: timed runs of each command (default 20)", "K" },
        { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup,
          "whole-process: untimed runs first (default 2)", "W" },
        { "virt-vmconfig", 0, 0, G_OPTION_ARG_FILENAME, &bopts.virt_vmconfig,
          "whole-process: the virt-vmconfig to run (default: $VIRT_VMCONFIG, else the one "
          "of this build)", "PATH" },
        { "vm-config", 0, 0, G_OPTION_ARG_FILENAME, &bopts.vm_config,
          "whole-process: the VM config (default: bench/data/bench-vm.json)", "FILE" },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &configs, NULL, NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[CONFIG...]");
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    setlocale(LC_ALL, "");
    g_option_context_set_summary(
        ctx, "Measure how fast VM configs are rendered as libvirt domain XML: in process, in "
             "microseconds per VM over the CONFIGs (default: bench/data/*.json), and as a whole "
             "process, 'virt-vmconfig xml' against 'virt-install --print-xml'.\n"
             "Without --in-process or --whole-process, both run.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("bench-render: %s\n", error->message);
        return 2;
    }
    if (count < 1 || rounds < 1 || runs < 1 || warmup < 0) {
        g_printerr("bench-render: --count, --rounds and --runs must be at least 1, "
                   "--warmup at least 0\n");
        return 2;
    }
    bopts.count = (guint) count;
    bopts.rounds = (guint) rounds;
    bopts.runs = (guint) runs;
    bopts.warmup = (guint) warmup;
    if (!bopts.virt_vmconfig)
        bopts.virt_vmconfig = g_strdup(g_getenv("VIRT_VMCONFIG") ? g_getenv("VIRT_VMCONFIG")
                                                                 : BENCH_VIRT_VMCONFIG);
    if (!bopts.vm_config)
        bopts.vm_config = g_build_filename(BENCH_DATADIR, "bench-vm.json", NULL);
    if (!configs) {
        const char *defaults[] = {
            BENCH_DATADIR "/bench-vm.json",
            BENCH_DATADIR "/bench-full-vm.json",
            NULL,
        };
        configs = g_strdupv((char **) defaults);
    }
    if (!in_process && !whole_process)
        in_process = whole_process = TRUE;

    if (in_process && !bench_in_process(configs, &bopts, &error)) {
        g_printerr("bench-render: in-process: %s\n", error->message);
        g_clear_error(&error);
        ok = FALSE;
    }
    if (whole_process && !bench_whole_process(&bopts, &error)) {
        g_printerr("bench-render: whole-process: %s\n", error->message);
        ok = FALSE;
    }
    return ok ? 0 : 1;
}
