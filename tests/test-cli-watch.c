/*
 * test-cli-watch.c: `virt-vmconfig watch` and `wait` against qemu:///system,
 * with the test guest (tests/guest/) under TCG.
 *
 * The tests that boot VMs run their body in a GTest subprocess: whatever
 * happens there (a failed assertion, a hang past the time limit), the
 * parent then kills and deletes their VMs. Every process they spawn dies
 * with them (PR_SET_PDEATHSIG) and is killed past its own deadline.
 * It needs root and libvirtd: without them, meson's boot_tests=auto skips
 * it and boot_tests=enabled fails it (vmc_test_require); a host that has
 * them but cannot boot the guest fails.
 */
#include "vmc-test.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define URI "qemu:///system"
#define READY_SECS 45              /* the guest is ready in 3-10 s under TCG here */
#define COMMAND_SECS 30            /* any command but a wait for readiness */
#define WAIT_COMMAND_SECS (READY_SECS + 15)
#define WATCH_SECS 30              /* for the watch to print what it saw */
#define SUBPROCESS_SECS 110        /* meson gives the whole program 150 */

/* Shared by the parent and its subprocesses through the environment, so
 * that the parent knows the names of the VMs a subprocess made. */
static const char *test_id;
static const char *work_dir;      /* world-traversable: QEMU runs as libvirt-qemu */

/* ---- running virt-vmconfig ---- */

static GPtrArray *
cli_argv(const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();

    g_ptr_array_add(argv, (gpointer) g_getenv("VMC_CLI"));
    g_ptr_array_add(argv, (gpointer) "--connect");
    g_ptr_array_add(argv, (gpointer) URI);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer) *args);
    g_ptr_array_add(argv, NULL);
    return argv;
}

static char *
argv_text(GPtrArray *argv)
{
    return g_strjoinv(" ", (char **) argv->pdata);
}

/* Runs virt-vmconfig --connect URI @args... to its end, within @secs; with
 * @tty its stderr is a pseudo-terminal, and run->err what it showed. */
static void
run_cli_full(VmcTestRun *run, gboolean tty, guint secs, const char *const *args)
{
    g_autoptr(GPtrArray) argv = cli_argv(args);

    vmc_test_spawn(run, tty, secs, (const char *const *) argv->pdata);
}

#define run_cli(run, secs, ...) \
    run_cli_full((run), FALSE, (secs), (const char *const[]) { __VA_ARGS__, NULL })

/* A command that must succeed. */
static char *
cli_ok(guint secs, const char *const *args)
{
    g_auto(VmcTestRun) run = { 0 };

    run_cli_full(&run, FALSE, secs, args);
    if (run.status != 0)
        g_error("'%s ...' failed with status %d:\n%s", args[0], run.status, run.err);
    return g_steal_pointer(&run.out);
}

#define cli(secs, ...) cli_ok((secs), (const char *const[]) { __VA_ARGS__, NULL })

/* A long-running virt-vmconfig (watch), read as it goes. */
typedef struct {
    GPid pid;
    int out_fd;
    int err_fd;
    GString *out;
    GString *err;
    char *what;
} Proc;

static Proc *
proc_spawn(const char *const *args)
{
    g_autoptr(GPtrArray) argv = cli_argv(args);
    g_autoptr(GError) error = NULL;
    Proc *p = g_new0(Proc, 1);

    p->out = g_string_new(NULL);
    p->err = g_string_new(NULL);
    p->what = argv_text(argv);
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv->pdata, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, vmc_test_die_with_parent, NULL,
                                           &p->pid, NULL, &p->out_fd, &p->err_fd, &error));
    g_assert_no_error(error);
    return p;
}

typedef gboolean (*ProcDone)(Proc *p, gconstpointer data);

/* Reads @p's output until @done says so (or, with no @done, to its end);
 * fails past @secs. */
static void
proc_read(Proc *p, ProcDone done, gconstpointer data, guint secs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) secs * G_USEC_PER_SEC;

    while (!(done && done(p, data))) {
        GPollFD fds[2] = { { p->out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 },
                           { p->err_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 } };
        gint64 left = deadline - g_get_monotonic_time();

        if (p->out_fd < 0 && p->err_fd < 0) {
            if (!done)
                return;
            g_error("'%s' ended before it printed what was expected; stdout:\n%s\nstderr:\n%s",
                    p->what, p->out->str, p->err->str);
        }
        if (left <= 0)
            g_error("'%s' did not print what was expected in %u s; stdout:\n%s\nstderr:\n%s",
                    p->what, secs, p->out->str, p->err->str);
        if (g_poll(fds, 2, (gint) MAX(left / 1000, 1)) <= 0)
            continue;
        if (fds[0].revents && !vmc_test_drain(p->out_fd, p->out)) {
            close(p->out_fd);
            p->out_fd = -1;
        }
        if (fds[1].revents && !vmc_test_drain(p->err_fd, p->err)) {
            close(p->err_fd);
            p->err_fd = -1;
        }
    }
}

/* Sends @p @sig, reads it to its end and returns its wait status. */
static int
proc_stop(Proc *p, int sig)
{
    g_assert_cmpint(kill(p->pid, sig), ==, 0);
    proc_read(p, NULL, NULL, COMMAND_SECS);
    return vmc_test_reap(p->pid, g_get_monotonic_time() + COMMAND_SECS * G_USEC_PER_SEC, p->what);
}

static void
proc_free(Proc *p)
{
    if (p->out_fd >= 0 || p->err_fd >= 0) {
        kill(p->pid, SIGKILL);
        vmc_test_reap(p->pid, g_get_monotonic_time() + COMMAND_SECS * G_USEC_PER_SEC, p->what);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    g_string_free(p->out, TRUE);
    g_string_free(p->err, TRUE);
    g_free(p->what);
    g_free(p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Proc, proc_free)

static gboolean
err_has(Proc *p, gconstpointer needle)
{
    return strstr(p->err->str, needle) != NULL;
}

static gboolean
out_has(Proc *p, gconstpointer needle)
{
    return strstr(p->out->str, needle) != NULL;
}

/* ---- VMs ---- */

#define guest_file vmc_test_guest_file

static char *
vm_name(const char *which)
{
    return g_strdup_printf("vmc-watch-%s-%s", test_id, which);
}

static char *
vm_namespace(const char *which)
{
    return g_strdup_printf("vmc-cli-watch-%s%s%s", test_id, which ? "-" : "", which ? which : "");
}

/* Writes the config of a VM of the test guest, 1 CPU, 256 MiB, one user
 * NIC; with @never_ready its init only sleeps, so it never prints the
 * ready marker. Returns the config file's path. */
static char *
write_config(const char *name, const char *ns, gboolean never_ready)
{
    g_autoptr(VmcConfig) cfg = vmc_config_new(name);
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *initrd = guest_file("initramfs.img");
    g_autofree char *log_name = g_strconcat(name, ".serial", NULL);
    g_autofree char *log = g_build_filename(work_dir, log_name, NULL);
    g_autofree char *json_name = g_strconcat(name, ".json", NULL);
    g_autofree char *path = g_build_filename(work_dir, json_name, NULL);
    g_autofree char *json = NULL;
    g_autoptr(GError) error = NULL;

    vmc_config_set_namespace(cfg, ns);
    vmc_config_set_kernel(cfg, kernel);
    vmc_config_set_initramfs(cfg, initrd);
    vmc_config_set_cpus(cfg, 1);
    vmc_config_set_memory_mb(cfg, 256);
    vmc_config_set_serial_log(cfg, log);
    vmc_config_add_network(cfg, vmc_network_attachment_new(VMC_NETWORK_USER, NULL, NULL));
    if (never_ready)
        /* Words with no '=' go to init as arguments. */
        vmc_config_set_cmdline(cfg, "console=ttyS0 rdinit=/bin/sleep 3600");
    g_assert_true(vmc_config_validate(cfg, &error));
    g_assert_no_error(error);
    json = vmc_config_to_json(cfg);
    g_assert_true(g_file_set_contents(path, json, -1, &error));
    g_assert_no_error(error);
    return g_steal_pointer(&path);
}

/* Boots @path with TCG; returns the VM's UUID, from up's line. */
static char *
up(const char *path)
{
    g_autofree char *out = cli(COMMAND_SECS, "--accel", "qemu", "up", path);
    const char *uuid = strstr(out, "(UUID ");

    g_assert_nonnull(uuid);
    uuid += strlen("(UUID ");
    g_assert_cmpuint(strlen(uuid), >, 36);
    g_assert_cmpint(uuid[36], ==, ',');
    return g_strndup(uuid, 36);
}

/* The teardown, in the parent: the VMs may be anywhere from never made
 * to running. */
static void
remove_vms(gpointer data)
{
    for (const char *const *which = data; *which; which++) {
        g_autofree char *name = vm_name(*which);
        vmc_test_purge_domain(URI, name);
    }
}

/* Runs the test's body in a subprocess, then removes its VMs whatever
 * became of it. */
static gboolean
in_subprocess(const char *const *vms)
{
    return vmc_test_isolated(SUBPROCESS_SECS, remove_vms, (gpointer) vms);
}

/* ---- the watch's output ---- */

static const char *const json_members[] = {
    "version", "name", "uuid", "state", "ip", "reason", "libvirt_event", "libvirt_detail",
};

typedef struct {
    char *name;
    char *uuid;
    char *state;
    int libvirt_event;   /* -1 for null */
} WatchLine;

static void
watch_line_free(gpointer data)
{
    WatchLine *l = data;

    g_free(l->name);
    g_free(l->uuid);
    g_free(l->state);
    g_free(l);
}

/* Every line of --json output is one compact JSON object with the eight
 * members. */
static GPtrArray *
parse_json_lines(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    GPtrArray *parsed = g_ptr_array_new_with_free_func(watch_line_free);
    guint n = g_strv_length(lines);

    g_assert_cmpuint(n, >, 0);
    g_assert_cmpstr(lines[n - 1], ==, "");   /* the last line ends too */
    for (guint i = 0; i + 1 < n; i++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;
        WatchLine *l = g_new0(WatchLine, 1);
        JsonObject *obj;
        JsonNode *ev;

        if (!json_parser_load_from_data(parser, lines[i], -1, &error))
            g_error("watch --json printed a line that is not JSON: %s\n%s", error->message,
                    lines[i]);
        g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
        obj = json_node_get_object(json_parser_get_root(parser));
        g_assert_cmpuint(json_object_get_size(obj), ==, G_N_ELEMENTS(json_members));
        for (gsize m = 0; m < G_N_ELEMENTS(json_members); m++)
            g_assert_true(json_object_has_member(obj, json_members[m]));
        g_assert_cmpint(json_object_get_int_member(obj, "version"), ==, 1);
        l->name = g_strdup(json_object_get_string_member(obj, "name"));
        l->uuid = g_strdup(json_object_get_string_member(obj, "uuid"));
        l->state = g_strdup(json_object_get_string_member(obj, "state"));
        ev = json_object_get_member(obj, "libvirt_event");
        l->libvirt_event = JSON_NODE_HOLDS_NULL(ev) ? -1 : (int) json_node_get_int(ev);
        g_assert_nonnull(l->name);
        g_assert_nonnull(l->uuid);
        g_assert_nonnull(l->state);
        if (g_str_equal(l->state, "ready")) {
            g_assert_cmpstr(json_object_get_string_member(obj, "ip"), ==, "10.0.2.15");
        } else {
            g_assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(obj, "ip")));
        }
        g_ptr_array_add(parsed, l);
    }
    return parsed;
}

/* The index of the first line from @from on with @state and @event (-2:
 * any), or -1. */
static int
find_line(GPtrArray *lines, guint from, const char *state, int event)
{
    for (guint i = from; i < lines->len; i++) {
        WatchLine *l = g_ptr_array_index(lines, i);
        if (g_str_equal(l->state, state) && (event == -2 || l->libvirt_event == event))
            return (int) i;
    }
    return -1;
}

/* ---- tests ---- */

static void
test_wait_not_found(void)
{
    g_autofree char *name = vm_name("no-such-vm");
    g_auto(VmcTestRun) run = { 0 };

    run_cli(&run, COMMAND_SECS, "wait", name, "--timeout", "5");
    g_assert_cmpint(run.status, ==, 4);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_true(g_str_has_prefix(run.err, "virt-vmconfig: "));
    g_assert_nonnull(strstr(run.err, name));
    g_assert_nonnull(strstr(run.err, "not found"));
}

static void
test_usage(void)
{
    g_auto(VmcTestRun) no_name = { 0 };
    g_auto(VmcTestRun) zero = { 0 };
    g_auto(VmcTestRun) junk = { 0 };
    g_auto(VmcTestRun) watch_arg = { 0 };
    g_auto(VmcTestRun) help = { 0 };
    g_auto(VmcTestRun) watch_help = { 0 };

    run_cli(&no_name, COMMAND_SECS, "wait");
    g_assert_cmpint(no_name.status, ==, 2);
    run_cli(&zero, COMMAND_SECS, "wait", "vm", "--timeout", "0");
    g_assert_cmpint(zero.status, ==, 2);
    g_assert_nonnull(strstr(zero.err, "--timeout"));
    run_cli(&junk, COMMAND_SECS, "wait", "vm", "--timeout", "soon");
    g_assert_cmpint(junk.status, ==, 2);
    run_cli(&watch_arg, COMMAND_SECS, "watch", "vm");
    g_assert_cmpint(watch_arg.status, ==, 2);

    run_cli(&help, COMMAND_SECS, "help");
    g_assert_cmpint(help.status, ==, 0);
    g_assert_nonnull(strstr(help.out, "wait NAME"));
    g_assert_nonnull(strstr(help.out, "watch "));
    run_cli(&watch_help, COMMAND_SECS, "watch", "--help");
    g_assert_cmpint(watch_help.status, ==, 0);
    g_assert_nonnull(strstr(watch_help.out, "--namespace"));
    g_assert_nonnull(strstr(watch_help.out, "--json"));
}

/* watch --namespace NS (--json and plain) sees a VM of NS start, get
 * ready, stop and go, and nothing of a VM of another namespace; `wait`
 * and `up --wait-ready` print their lines and nothing on a stderr that is
 * not a terminal. */
static void
test_watch_events(void)
{
    static const char *const vms[] = { "a", "b", NULL };
    g_autofree char *name = vm_name("a");
    g_autofree char *other = vm_name("b");
    g_autofree char *ns = vm_namespace(NULL);
    g_autofree char *other_ns = vm_namespace("other");
    g_autofree char *config = NULL;
    g_autofree char *other_config = NULL;
    g_autofree char *uuid = NULL;
    g_autofree char *ready_line = NULL;
    g_autofree char *undefined_plain = NULL;
    g_autoptr(Proc) json_watch = NULL;
    g_autoptr(Proc) plain_watch = NULL;
    g_autoptr(GPtrArray) lines = NULL;
    g_autofree char *line = NULL;
    g_auto(VmcTestRun) wait = { 0 };
    g_auto(VmcTestRun) up_ready = { 0 };
    int started, stopped, wait_status;

    if (!in_subprocess(vms))
        return;

    config = write_config(name, ns, FALSE);
    other_config = write_config(other, other_ns, TRUE);
    ready_line = g_strdup_printf("VM '%s' is ready at 10.0.2.15\n", name);

    json_watch = proc_spawn((const char *const[]) { "watch", "--namespace", ns, "--json", NULL });
    plain_watch = proc_spawn((const char *const[]) { "watch", "-n", ns, NULL });
    /* It says so once it follows libvirt's events: nothing after is missed. */
    proc_read(json_watch, err_has, "watching the VMs of namespace", COMMAND_SECS);
    proc_read(plain_watch, err_has, "watching the VMs of namespace", COMMAND_SECS);

    g_free(up(other_config));
    uuid = up(config);

    run_cli(&wait, WAIT_COMMAND_SECS, "wait", name, "--timeout", G_STRINGIFY(READY_SECS));
    if (wait.status != 0)
        g_error("wait failed with status %d: %s", wait.status, wait.err);
    g_assert_cmpstr(wait.out, ==, ready_line);
    g_assert_cmpstr(wait.err, ==, "");

    g_free(cli(COMMAND_SECS, "down", name, "--timeout", "30"));

    /* Again through up --wait-ready. */
    run_cli(&up_ready, WAIT_COMMAND_SECS, "--accel", "qemu", "up",
            "--wait-ready=" G_STRINGIFY(READY_SECS), config);
    if (up_ready.status != 0)
        g_error("up --wait-ready failed with status %d: %s", up_ready.status, up_ready.err);
    g_assert_true(g_str_has_prefix(up_ready.out, "VM '"));
    g_assert_nonnull(strstr(up_ready.out, "' started (UUID "));
    g_assert_true(g_str_has_suffix(up_ready.out, ready_line));
    g_assert_true(strchr(up_ready.out, '\n') + 1 == up_ready.out + strlen(up_ready.out) -
                  strlen(ready_line));
    g_assert_cmpstr(up_ready.err, ==, "");
    g_free(cli(COMMAND_SECS, "down", name, "--timeout", "30"));

    /* The other namespace's VM goes first: its events come before the last one of ours. */
    g_free(cli(COMMAND_SECS, "kill", other));
    g_free(cli(COMMAND_SECS, "delete", other));
    g_free(cli(COMMAND_SECS, "delete", name));

    /* Undefining is the last event: the ones before it have been printed. */
    proc_read(json_watch, out_has, "\"libvirt_event\":1,", WATCH_SECS);
    undefined_plain = g_strdup_printf("%s stopped [undefined/removed]\n", name);
    proc_read(plain_watch, out_has, undefined_plain, WATCH_SECS);
    wait_status = proc_stop(json_watch, SIGINT);
    g_assert_true(WIFEXITED(wait_status));
    g_assert_cmpint(WEXITSTATUS(wait_status), ==, 0);
    wait_status = proc_stop(plain_watch, SIGTERM);
    g_assert_true(WIFEXITED(wait_status));
    g_assert_cmpint(WEXITSTATUS(wait_status), ==, 0);
    /* A subprocess's messages are not seen: stderr is. */
    g_printerr("# watch --json printed:\n%s# watch printed:\n%s", json_watch->out->str,
               plain_watch->out->str);

    /* --json: our VM only, with its UUID; started, then stopped. */
    lines = parse_json_lines(json_watch->out->str);
    for (guint i = 0; i < lines->len; i++) {
        WatchLine *l = g_ptr_array_index(lines, i);
        g_assert_cmpstr(l->name, ==, name);
        g_assert_cmpstr(l->uuid, ==, uuid);
    }
    started = find_line(lines, 0, "running", 2);            /* VIR_DOMAIN_EVENT_STARTED */
    g_assert_cmpint(started, >=, 0);
    stopped = find_line(lines, (guint) started + 1, "stopped", 5);  /* _STOPPED */
    g_assert_cmpint(stopped, >, started);
    /* The second boot too. */
    started = find_line(lines, (guint) stopped + 1, "running", 2);
    g_assert_cmpint(started, >, stopped);
    g_assert_cmpint(find_line(lines, (guint) started + 1, "stopped", 5), >, started);
    g_assert_cmpint(find_line(lines, 0, "failed", -2), ==, -1);

    /* Plain: "NAME STATE", the IP when ready, libvirt's event in brackets. */
    g_assert_null(strstr(plain_watch->out->str, other));
    line = g_strdup_printf("%s running [started/booted]\n", name);
    g_assert_nonnull(strstr(plain_watch->out->str, line));
    g_free(line);
    line = g_strdup_printf("%s stopped [stopped/shutdown]\n", name);
    g_assert_nonnull(strstr(plain_watch->out->str, line));
    g_free(line);
    /* Whether the watch reports readiness is up to the driver; if it does,
     * the IP follows, and no libvirt event. */
    line = g_strdup_printf("%s ready", name);
    if (strstr(plain_watch->out->str, line)) {
        g_free(line);
        line = g_strdup_printf("%s ready 10.0.2.15\n", name);
        g_assert_nonnull(strstr(plain_watch->out->str, line));
    }
    g_assert_true(g_str_has_suffix(plain_watch->out->str, undefined_plain));
}

/* `wait --timeout 1` on a guest that never prints the marker fails with
 * status 1; on a terminal a status line shows the wait, and is wiped
 * before the error. */
static void
test_wait_timeout(void)
{
    static const char *const vms[] = { "c", NULL };
    g_autofree char *name = vm_name("c");
    g_autofree char *ns = vm_namespace(NULL);
    g_autofree char *config = NULL;
    g_autofree char *status_line = NULL;
    g_autofree char *error_line = NULL;
    g_autofree char *shown = NULL;
    g_auto(VmcTestRun) piped = { 0 };
    g_auto(VmcTestRun) tty = { 0 };
    const char *last_draw, *wipe;
    gsize spaces;

    if (!in_subprocess(vms))
        return;

    config = write_config(name, ns, TRUE);
    g_free(up(config));

    run_cli(&piped, COMMAND_SECS, "wait", name, "--timeout", "1");
    g_assert_cmpint(piped.status, ==, 1);
    g_assert_cmpstr(piped.out, ==, "");
    error_line = g_strdup_printf("virt-vmconfig: VM '%s' was not ready within 1000 ms", name);
    g_assert_true(g_str_has_prefix(piped.err, error_line));
    /* One line, and no status line before it. */
    g_assert_true(strchr(piped.err, '\n') == piped.err + strlen(piped.err) - 1);
    g_assert_null(strchr(piped.err, '\r'));

    run_cli_full(&tty, TRUE, COMMAND_SECS,
                 (const char *const[]) { "wait", name, "--timeout", "2", NULL });
    g_assert_cmpint(tty.status, ==, 1);
    g_assert_cmpstr(tty.out, ==, "");
    shown = g_strescape(tty.err, NULL);
    g_printerr("# the terminal showed: %s\n", shown);
    status_line = g_strdup_printf("\rwaiting for '%s' to print VMRS_READY: ", name);
    g_assert_true(g_str_has_prefix(tty.err, status_line));
    /* Redrawn in place (about every 100 ms: at least twice in 2 s, however
     * busy the host), with the time waited and the console output seen. */
    last_draw = g_strrstr(tty.err, status_line);
    g_assert_true(last_draw > tty.err);
    g_assert_true(g_regex_match_simple("^[0-9]+\\.[0-9] s, [0-9.]+ (B|KiB|MiB) of console",
                                       last_draw + strlen(status_line), 0, 0));
    /* Then wiped, \r, spaces over all of it, \r, before the error. */
    wipe = strchr(last_draw + 1, '\r');
    g_assert_nonnull(wipe);
    spaces = strspn(wipe + 1, " ");
    g_assert_cmpuint(spaces, >=, (gsize) (wipe - last_draw - 1));
    g_assert_cmpint(wipe[1 + spaces], ==, '\r');
    g_free(error_line);
    error_line = g_strdup_printf("virt-vmconfig: VM '%s' was not ready within 2000 ms", name);
    g_assert_true(g_str_has_prefix(wipe + 2 + spaces, error_line));

    g_free(cli(COMMAND_SECS, "kill", name));
    g_free(cli(COMMAND_SECS, "delete", name));
}

/* A JSON document of one VM (state, down, ...): "version" 1 and the VM's
 * members; returns its "state". */
static char *
vm_json_state(const char *text, const char *name, const char *uuid)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *obj;

    if (!json_parser_load_from_data(parser, text, -1, &error))
        g_error("not JSON: %s\n%s", error->message, text);
    obj = json_node_get_object(json_parser_get_root(parser));
    g_assert_nonnull(obj);
    g_assert_cmpint(json_object_get_int_member(obj, "version"), ==, 1);
    g_assert_cmpstr(json_object_get_string_member(obj, "name"), ==, name);
    g_assert_cmpstr(json_object_get_string_member(obj, "uuid"), ==, uuid);
    g_assert_false(json_object_get_boolean_member(obj, "foreign"));
    return g_strdup(json_object_get_string_member(obj, "state"));
}

/* `console NAME` shows what the VM prints from when it attached,
 * `--since-boot` from the boot on. One client holds the console at a
 * time: a second one is refused, saying --force, and takes it over with
 * it; the first one's console then ends with the VM running (status 1).
 * A console ends by itself, status 0, when the VM stops; a stopped VM's
 * console is refused. Along the way, the JSON of up, state, down and
 * delete. */
static void
test_console(void)
{
    static const char *const vms[] = { "d", NULL };
    g_autofree char *name = vm_name("d");
    g_autofree char *ns = vm_namespace(NULL);
    g_autofree char *config = NULL;
    g_autofree char *uuid = NULL;
    g_autofree char *state = NULL;
    g_autofree char *out = NULL;
    g_autoptr(Proc) since_boot = NULL;
    g_autoptr(Proc) from_now = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_auto(VmcTestRun) up_json = { 0 };
    g_auto(VmcTestRun) held = { 0 };
    g_auto(VmcTestRun) stopped = { 0 };
    g_auto(VmcTestRun) missing = { 0 };
    JsonObject *obj;
    int wait_status;

    if (!in_subprocess(vms))
        return;

    config = write_config(name, ns, FALSE);
    run_cli(&up_json, WAIT_COMMAND_SECS, "--accel", "qemu", "up", "--json",
            "--wait-ready=" G_STRINGIFY(READY_SECS), config);
    if (up_json.status != 0)
        g_error("up --json failed with status %d: %s", up_json.status, up_json.err);
    g_assert_cmpstr(up_json.err, ==, "");
    g_assert_true(json_parser_load_from_data(parser, up_json.out, -1, NULL));
    obj = json_node_get_object(json_parser_get_root(parser));
    uuid = g_strdup(json_object_get_string_member(obj, "uuid"));
    state = vm_json_state(up_json.out, name, uuid);
    g_assert_cmpstr(state, ==, "ready");
    g_assert_cmpstr(json_object_get_string_member(obj, "ip"), ==, "10.0.2.15");
    g_clear_pointer(&state, g_free);
    out = cli(COMMAND_SECS, "state", name, "--json");
    state = vm_json_state(out, name, uuid);
    g_assert_cmpstr(state, ==, "ready");
    g_clear_pointer(&state, g_free);
    g_clear_pointer(&out, g_free);

    since_boot = proc_spawn((const char *const[]) { "console", name, "--since-boot", NULL });
    proc_read(since_boot, out_has, "VMRS_READY 10.0.2.15", COMMAND_SECS);
    g_assert_true(g_str_has_prefix(since_boot->out->str, "GUEST cmdline=") ||
                  strstr(since_boot->out->str, "\nGUEST cmdline="));
    run_cli(&held, COMMAND_SECS, "console", name, "--follow");
    g_assert_cmpint(held.status, ==, 1);
    g_assert_nonnull(strstr(held.err, "--force"));
    from_now = proc_spawn((const char *const[]) { "console", name, "--force", NULL });
    proc_read(from_now, err_has, "follows", COMMAND_SECS);
    proc_read(since_boot, NULL, NULL, COMMAND_SECS);
    wait_status = vmc_test_reap(since_boot->pid, g_get_monotonic_time() + COMMAND_SECS *
                                G_USEC_PER_SEC, since_boot->what);
    g_assert_true(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 1);
    g_assert_nonnull(strstr(since_boot->err->str, "ended"));

    /* The guest says when it gets the power button. */
    out = cli(COMMAND_SECS, "down", name, "--timeout", "30", "--json");
    state = vm_json_state(out, name, uuid);
    g_assert_cmpstr(state, ==, "stopped");
    proc_read(from_now, NULL, NULL, COMMAND_SECS);
    g_printerr("# console printed:\n%s# console --since-boot printed:\n%s", from_now->out->str,
               since_boot->out->str);
    wait_status = vmc_test_reap(from_now->pid, g_get_monotonic_time() + COMMAND_SECS *
                                G_USEC_PER_SEC, from_now->what);
    g_assert_true(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
    g_assert_nonnull(strstr(from_now->out->str, "GUEST acpi=power-button"));
    g_assert_nonnull(strstr(from_now->err->str, "ended"));
    /* What was printed before it came is not shown again. */
    g_assert_null(strstr(from_now->out->str, "GUEST cmdline="));
    g_assert_null(strstr(from_now->out->str, "VMRS_READY"));

    run_cli(&stopped, COMMAND_SECS, "console", name);
    g_assert_cmpint(stopped.status, ==, 1);
    g_assert_nonnull(strstr(stopped.err, "is not running"));
    g_clear_pointer(&out, g_free);
    out = cli(COMMAND_SECS, "delete", name, "--json");
    g_assert_nonnull(strstr(out, "\"deleted\""));
    g_assert_nonnull(strstr(out, uuid));
    run_cli(&missing, COMMAND_SECS, "console", name);
    g_assert_cmpint(missing.status, ==, 4);
}

int
main(int argc, char **argv)
{
    g_autofree char *own_dir = NULL;
    int status;

    g_test_init(&argc, &argv, NULL);
    vmc_test_require(VMC_TEST_NEEDS_ROOT | VMC_TEST_NEEDS_DAEMON);
    if (!g_getenv("VMC_CLI"))
        g_error("VMC_CLI must name the virt-vmconfig binary");

    /* The parent picks the names and the directory; its subprocesses
     * find them in the environment. */
    if (!g_getenv("VMC_CLI_WATCH_TEST_ID")) {
        g_autofree char *id = g_strdup_printf("%d", (int) getpid());
        own_dir = g_strdup("/var/tmp/vmc-cli-watch-XXXXXX");
        g_assert_nonnull(g_mkdtemp_full(own_dir, 0755));
        g_setenv("VMC_CLI_WATCH_TEST_ID", id, TRUE);
        g_setenv("VMC_CLI_WATCH_TEST_DIR", own_dir, TRUE);
    }
    test_id = g_getenv("VMC_CLI_WATCH_TEST_ID");
    work_dir = g_getenv("VMC_CLI_WATCH_TEST_DIR");

    g_test_add_func("/cli-watch/usage", test_usage);
    g_test_add_func("/cli-watch/wait-not-found", test_wait_not_found);
    g_test_add_func("/cli-watch/events", test_watch_events);
    g_test_add_func("/cli-watch/wait-timeout", test_wait_timeout);
    g_test_add_func("/cli-watch/console", test_console);
    status = g_test_run();

    if (own_dir)
        vmc_test_rm_rf(own_dir);
    return status;
}
