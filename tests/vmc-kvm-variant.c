/*
 * vmc-kvm-variant.c: runs a test program on one of the three kinds of KVM
 * host this project meets, making it where this machine is another kind.
 *
 *     vmc-kvm-variant VARIANT PROGRAM [ARG...]
 *
 * VARIANT is one of
 *   none     no /dev/kvm at all (libvirt offers no KVM; VMs get TCG)
 *   useless  a /dev/kvm that runs no vCPU: the machine's own where its
 *            probe vCPU does not run (nested, no vmx/svm), else a node
 *            (root:root 0600, as no udev set it up) of KVM's device number
 *            where the module is absent (opening it fails with ENODEV), or,
 *            on a host whose KVM works, a character device that opens but
 *            is no KVM (/dev/null's number)
 *   working  the machine's own /dev/kvm where a probe vCPU really runs; a
 *            machine without one cannot be made into one, so there the
 *            program is not run and the TAP plan says why ("1..0 # SKIP")
 *
 * A variant the machine is not is made in a private mount namespace: /dev
 * becomes an overlay of the machine's /dev (its other mounts, /dev/pts and
 * /dev/shm, moved into it), in which /dev/kvm is removed or made, so
 * nothing outside this process and its children sees a change. The
 * program runs with $VMC_TEST_KVM_VARIANT set to the variant, so that it
 * can assert what a host of that kind must show (vmc_test_kvm_variant()).
 * Making a namespace needs root: without it, boot_tests=auto skips and
 * enabled fails (vmc_test_require()).
 */
#include "vmc-test.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define KVM_DEVICE "/dev/kvm"
#define KVM_MAJOR 10
#define KVM_MINOR 232

static void G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN
die(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list args;

    va_start(args, fmt);
    msg = g_strdup_vprintf(fmt, args);
    va_end(args);
    fprintf(stderr, "vmc-kvm-variant: %s\n", msg);
    printf("Bail out! vmc-kvm-variant: %s\n", msg);
    fflush(stdout);
    exit(1);
}

/* The mounts below /dev but /dev itself, from this process's mount table,
 * each once, parents before children. */
static GPtrArray *
dev_submounts(void)
{
    g_autofree char *table = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *mounts = g_ptr_array_new_with_free_func(g_free);

    if (!g_file_get_contents("/proc/self/mountinfo", &table, NULL, NULL))
        die("cannot read /proc/self/mountinfo");
    lines = g_strsplit(table, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        g_auto(GStrv) fields = g_strsplit(*l, " ", 6);
        const char *point;

        if (g_strv_length(fields) < 5)
            continue;
        point = fields[4];
        if (!g_str_has_prefix(point, "/dev/"))
            continue;
        if (!g_ptr_array_find_with_equal_func(mounts, point, g_str_equal, NULL))
            g_ptr_array_add(mounts, g_strdup(point));
    }
    return mounts;
}

/* Whether @point lies below one of @moved. */
static gboolean
below_one_of(GPtrArray *moved, const char *point)
{
    for (guint i = 0; i < moved->len; i++) {
        const char *parent = g_ptr_array_index(moved, i);

        if (g_str_has_prefix(point, parent) && point[strlen(parent)] == '/')
            return TRUE;
    }
    return FALSE;
}

/* This process (and what it runs) gets a /dev of its own: an overlay of
 * the machine's, writable, whose changes no one else sees. The machine's
 * /dev is not left beneath it: its mounts would still stand in the mount
 * table under their names (libvirt, which moves /dev/pts and /dev/shm into
 * QEMU's namespace by those names, fails on the hidden second one). */
static void
private_dev(void)
{
    g_autofree char *stage = g_strdup("/run/vmc-kvm-variant.XXXXXX");
    g_autofree char *upper = NULL, *work = NULL, *lower = NULL, *merged = NULL;
    g_autofree char *options = NULL;
    g_autoptr(GPtrArray) submounts = NULL;
    g_autoptr(GPtrArray) moved = g_ptr_array_new();
    struct stat dev, root;

    if (unshare(CLONE_NEWNS) < 0)
        die("unshare(CLONE_NEWNS): %s", g_strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("making / private: %s", g_strerror(errno));
    if (!g_mkdtemp_full(stage, 0700))
        die("mkdtemp %s: %s", stage, g_strerror(errno));
    if (mount("vmc-kvm-variant", stage, "tmpfs", 0, "mode=0700") < 0)
        die("tmpfs on %s: %s", stage, g_strerror(errno));
    upper = g_build_filename(stage, "upper", NULL);
    work = g_build_filename(stage, "work", NULL);
    lower = g_build_filename(stage, "lower", NULL);
    merged = g_build_filename(stage, "merged", NULL);
    if (g_mkdir(upper, 0755) < 0 || g_mkdir(work, 0700) < 0 || g_mkdir(lower, 0755) < 0 ||
        g_mkdir(merged, 0755) < 0)
        die("cannot make directories in %s: %s", stage, g_strerror(errno));
    /* The machine's /dev alone, without what is mounted below it. */
    if (mount("/dev", lower, NULL, MS_BIND, NULL) < 0)
        die("bind of /dev: %s", g_strerror(errno));
    options = g_strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    if (mount("overlay", merged, "overlay", 0, options) < 0)
        die("overlay (%s): %s", options, g_strerror(errno));
    /* /dev/pts, /dev/shm and the like, the ones in sight, into the
     * overlay; what is mounted below them goes with them. */
    submounts = dev_submounts();
    for (guint i = 0; i < submounts->len; i++) {
        const char *point = g_ptr_array_index(submounts, i);
        g_autofree char *to = g_build_filename(merged, point + strlen("/dev"), NULL);

        if (below_one_of(moved, point))
            continue;
        if (mount(point, to, NULL, MS_MOVE, NULL) < 0)
            die("moving %s into the overlay: %s", point, g_strerror(errno));
        g_ptr_array_add(moved, (gpointer) point);
    }
    /* Then the machine's /dev goes from this namespace, with all that is
     * still mounted on or below it, and the overlay takes its place. */
    while (stat("/dev", &dev) == 0 && stat("/", &root) == 0 && dev.st_dev != root.st_dev) {
        if (umount2("/dev", MNT_DETACH) < 0)
            die("unmounting the machine's /dev here: %s", g_strerror(errno));
    }
    if (mount(merged, "/dev", NULL, MS_MOVE, NULL) < 0)
        die("moving the overlay onto /dev: %s", g_strerror(errno));
    /* The overlay holds what it needs; the stage leaves no trace. */
    if (umount2(lower, MNT_DETACH) < 0 || umount2(stage, MNT_DETACH) < 0)
        die("unmounting %s: %s", stage, g_strerror(errno));
    if (rmdir(stage) < 0)
        die("rmdir %s: %s", stage, g_strerror(errno));
}

/* A character device at /dev/kvm, root:root 0600 as a machine without
 * udev has it. Not root:kvm 0660 as Debian's rule makes it: where QEMU's
 * user may open a /dev/kvm behind which QEMU then finds no KVM, libvirt
 * throws its QEMU capabilities away at every lookup ("KVM was not enabled
 * when probing ..., but it should be") and every define costs seconds;
 * check-host warns of that, and a useless KVM this variant is not. */
static void
make_node(unsigned int major_number, unsigned int minor_number)
{
    if (unlink(KVM_DEVICE) < 0 && errno != ENOENT)
        die("unlink " KVM_DEVICE ": %s", g_strerror(errno));
    if (mknod(KVM_DEVICE, S_IFCHR | 0600, makedev(major_number, minor_number)) < 0)
        die("mknod " KVM_DEVICE ": %s", g_strerror(errno));
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) probe = NULL;
    struct stat st;
    gboolean device, works;
    const char *variant;
    const char *made;

    if (argc < 3)
        die("usage: vmc-kvm-variant none|useless|working PROGRAM [ARG...]");
    variant = argv[1];
    if (!vmc_test_kvm_variant_from_string(variant, NULL))
        die("unknown variant '%s' (none, useless or working)", variant);

    device = stat(KVM_DEVICE, &st) == 0 && S_ISCHR(st.st_mode);
    works = device && vmc_host_kvm_runs(&probe);

    if (g_str_equal(variant, "working")) {
        if (!works) {
            printf("1..0 # SKIP this machine has no working KVM to run on (%s), and none can "
                   "be made\n", device ? probe->message : "no " KVM_DEVICE);
            return 0;
        }
        made = "this machine's own " KVM_DEVICE ", whose probe vCPU runs";
    } else if (g_str_equal(variant, "none")) {
        if (device) {
            vmc_test_require(VMC_TEST_NEEDS_ROOT);
            private_dev();
            if (unlink(KVM_DEVICE) < 0)
                die("unlink " KVM_DEVICE " in the overlay: %s", g_strerror(errno));
            made = KVM_DEVICE " hidden in a private mount namespace";
        } else {
            made = "this machine, which has no " KVM_DEVICE;
        }
    } else if (device && !works) {
        made = "this machine's own " KVM_DEVICE ", whose probe vCPU does not run";
    } else {
        vmc_test_require(VMC_TEST_NEEDS_ROOT);
        private_dev();
        if (device) {
            make_node(1, 3);
            made = "a " KVM_DEVICE " that opens but is no KVM (1:3), in a private mount "
                   "namespace";
        } else {
            make_node(KVM_MAJOR, KVM_MINOR);
            made = "a " KVM_DEVICE " node (10:232) with no KVM module behind it, in a private "
                   "mount namespace";
        }
    }
    /* stderr: the TAP stream on stdout is the program's own. */
    fprintf(stderr, "vmc-kvm-variant: %s: %s\n", variant, made);
    g_setenv("VMC_TEST_KVM_VARIANT", variant, TRUE);
    execvp(argv[2], argv + 2);
    die("cannot run %s: %s", argv[2], g_strerror(errno));
}
