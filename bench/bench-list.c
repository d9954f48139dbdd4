/*
 * bench-list.c: how fast `virt-vmconfig list` lists many VMs, against
 * `virsh list --all` on the same host
 *
 * Defines --count stopped domains of ours (vmc-bench-list-NNNN, rendered by
 * the library), times --runs whole runs of each command, prints the medians
 * and their ratio, and undefines the domains again (also any left by an
 * earlier run that was interrupted). A benchmark, not a test: the goal is
 * reported, never enforced; the exit status is not 0 only when the
 * benchmark cannot run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vmconfig/vmconfig.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ours in at most half of virsh's time. */
#define BENCH_GOAL_RATIO 0.5         /* list: ours / virsh list --all */
#define BENCH_STATE_GOAL_RATIO 0.8   /* state: ours / virsh domstate */
#define BENCH_PREFIX "vmc-bench-list-"

static int
bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;

    return (x > y) - (x < y);
}

static double
bench_median(double *values, guint n)
{
    qsort(values, n, sizeof(double), bench_compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

/* Undefines every domain named BENCH_PREFIX*; returns how many. */
static guint
bench_undefine_all(virConnectPtr conn)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_INACTIVE);
    guint removed = 0;

    for (int i = 0; i < n; i++) {
        if (g_str_has_prefix(virDomainGetName(doms[i]), BENCH_PREFIX) &&
            virDomainUndefine(doms[i]) == 0)
            removed++;
        virDomainFree(doms[i]);
    }
    free(doms);
    return removed;
}

static gboolean
bench_define(virConnectPtr conn, guint count, const char *dir, GError **error)
{
    g_autoptr(VmcRenderOptions) opts = vmc_render_options_new();
    g_autofree char *kernel = g_build_filename(dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(dir, "initrd.img", NULL);

    vmc_render_options_set_accel(opts, VMC_ACCEL_QEMU);
    vmc_render_options_set_remote_paths(opts, TRUE);
    for (guint i = 0; i < count; i++) {
        g_autofree char *name = g_strdup_printf(BENCH_PREFIX "%04u", i);
        g_autofree char *log = g_strdup_printf("%s/%s.serial", dir, name);
        g_autoptr(VmcConfig) cfg = vmc_config_new(name);
        g_autofree char *xml = NULL;
        virDomainPtr dom;

        vmc_config_set_namespace(cfg, i % 2 ? "bench-odd" : "bench-even");
        vmc_config_set_kernel(cfg, kernel);
        vmc_config_set_initramfs(cfg, initrd);
        vmc_config_set_cpus(cfg, 1);
        vmc_config_set_memory_mb(cfg, 128);
        vmc_config_set_serial_log(cfg, log);
        vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL, NULL));
        xml = vmc_config_to_domain_xml(cfg, opts, error);
        if (!xml)
            return FALSE;
        dom = virDomainDefineXML(conn, xml);
        if (!dom) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR, "cannot define %s: %s", name,
                        virGetLastErrorMessage());
            return FALSE;
        }
        virDomainFree(dom);
    }
    return TRUE;
}

/* Runs @argv @runs times (after one untimed run); the median in ms. The
 * output must list @expect lines that start with BENCH_PREFIX (any number
 * for BENCH_ANY). */
#define BENCH_ANY G_MAXUINT
static gboolean
bench_time(const char *const *argv, guint runs, guint expect, double *median_ms,
           GError **error)
{
    g_autofree double *ms = g_new0(double, runs);

    for (guint r = 0; r <= runs; r++) {
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        gint64 start = g_get_monotonic_time();
        int status;
        guint found = 0;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                          &status, error))
            return FALSE;
        if (r > 0)
            ms[r - 1] = (double) (g_get_monotonic_time() - start) / 1000.0;
        if (!g_spawn_check_exit_status(status, error)) {
            g_prefix_error(error, "%s: %s: ", argv[0], err);
            return FALSE;
        }
        for (const char *p = out; (p = strstr(p, BENCH_PREFIX)); p++)
            found++;
        if (expect != BENCH_ANY && found != expect) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "%s listed %u of the %u domains", argv[0],
                        found, expect);
            return FALSE;
        }
    }
    *median_ms = bench_median(ms, runs);
    return TRUE;
}

int
main(int argc, char **argv)
{
    g_autofree char *uri = g_strdup("qemu:///system");
    g_autofree char *cli = NULL;
    int count = 1000, runs = 5;
    GOptionEntry entries[] = {
        { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, "libvirt URI (default qemu:///system)", "URI" },
        { "count", 0, 0, G_OPTION_ARG_INT, &count, "domains to define (default 1000)", "N" },
        { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "timed runs of each command (default 5)", "N" },
        { "virt-vmconfig", 0, 0, G_OPTION_ARG_FILENAME, &cli, "the CLI to time", "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- list benchmark");
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL;
    virConnectPtr conn;
    double ours_ms = 0, virsh_ms = 0, all_ms = 0, state_ms = 0, domstate_ms = 0;
    g_autofree char *one = NULL;
    gboolean ok;

    setlocale(LC_ALL, "C");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || !cli || count < 1 || runs < 1) {
        g_printerr("bench-list: %s\n", error ? error->message : "--virt-vmconfig PATH needed");
        return 2;
    }
    conn = virConnectOpen(uri);
    if (!conn) {
        g_printerr("bench-list: cannot open %s: %s\n", uri, virGetLastErrorMessage());
        return 1;
    }
    dir = g_dir_make_tmp("vmc-bench-list-XXXXXX", &error);
    if (!dir) {
        g_printerr("bench-list: %s\n", error->message);
        return 1;
    }
    bench_undefine_all(conn);
    g_print("defining %d stopped domains of ours on %s\n", count, uri);
    ok = bench_define(conn, (guint) count, dir, &error) &&
         bench_time((const char *const[]) { cli, "-c", uri, "list", NULL }, (guint) runs,
                    (guint) count, &ours_ms, &error) &&
         bench_time((const char *const[]) { cli, "-c", uri, "list", "--all", NULL },
                    (guint) runs, (guint) count, &all_ms, &error) &&
         bench_time((const char *const[]) { "virsh", "-c", uri, "list", "--all", NULL },
                    (guint) runs, (guint) count, &virsh_ms, &error) &&
         (one = g_strdup_printf(BENCH_PREFIX "%04d", count / 2)) &&
         bench_time((const char *const[]) { cli, "-c", uri, "state", one, NULL }, (guint) runs,
                    BENCH_ANY, &state_ms, &error) &&
         bench_time((const char *const[]) { "virsh", "-c", uri, "domstate", one, NULL },
                    (guint) runs, BENCH_ANY, &domstate_ms, &error);
    g_print("removed %u domains\n", bench_undefine_all(conn));
    virConnectClose(conn);
    g_rmdir(dir);
    if (!ok) {
        g_printerr("bench-list: %s\n", error->message);
        return 1;
    }
    g_print("list of %d domains, median of %d runs:\n", count, runs);
    g_print("  virt-vmconfig list        %8.1f ms\n", ours_ms);
    g_print("  virt-vmconfig list --all  %8.1f ms\n", all_ms);
    g_print("  virsh list --all          %8.1f ms\n", virsh_ms);
    g_print("  ratio ours / virsh        %8.2f (goal <= %.2f: %s)\n", ours_ms / virsh_ms,
            BENCH_GOAL_RATIO, ours_ms / virsh_ms <= BENCH_GOAL_RATIO ? "met" : "NOT met");
    g_print("state of one domain among %d, median of %d runs:\n", count, runs);
    g_print("  virt-vmconfig state NAME  %8.1f ms\n", state_ms);
    g_print("  virsh domstate NAME       %8.1f ms\n", domstate_ms);
    g_print("  ratio ours / virsh        %8.2f (goal <= %.2f: %s)\n", state_ms / domstate_ms,
            BENCH_STATE_GOAL_RATIO,
            state_ms / domstate_ms <= BENCH_STATE_GOAL_RATIO ? "met" : "NOT met");
    return 0;
}
