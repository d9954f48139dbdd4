/*
 * vmc-test.h: helpers the test programs share
 */
#pragma once

#include <vmconfig/vmconfig.h>

typedef struct {
    VmcError code;
    char *fragment;
} VmcTestExpectation;

/* Beside each bad data file NAME.json, NAME.expect holds one line that
 * says what it must produce:
 *     INVALID_CONFIG networks[1].mac
 * The code is a VmcError name, the rest a fragment of the message. */
gboolean vmc_test_read_expectation(const char *path, VmcTestExpectation *out);
void vmc_test_expectation_clear(VmcTestExpectation *exp);

/* The sorted names of the files in @dir that end in @suffix. */
GPtrArray *vmc_test_list_dir(const char *dir, const char *suffix);

/* C14N form of @xml, so that formatting and attribute order do not count. */
char *vmc_test_canonical_xml(const char *xml);

/* The text of a test data file under tests/data/, or NULL if absent. */
char *vmc_test_read_data(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Golden VM configs in tests/data/xml/in/: "@DATA@" in a path stands for
 * tests/data/xml, so that disk fixtures can be read wherever the tree is. */
char *vmc_test_xml_data_dir(void);
VmcConfig *vmc_test_load_golden(const char *name);
VmcRenderOptions *vmc_test_golden_options(const char *name);
GPtrArray *vmc_test_golden_names(void);

/* True when goldens should be rewritten instead of compared. */
gboolean vmc_test_regenerate(void);

void vmc_test_rm_rf(const char *path);

/* A file of the test guest (tests/guest/build-guest.sh), in $VMC_GUEST_DIR
 * or /var/tmp/virt-vmconfig-guest; a missing one fails the test. */
char *vmc_test_guest_file(const char *name);

/* What a finished command printed and how it ended. */
typedef struct {
    int status;
    char *out;
    char *err;
} VmcTestRun;

void vmc_test_run_clear(VmcTestRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VmcTestRun, vmc_test_run_clear)

/* libvirt's domain schema ($VMC_LIBVIRT_DOMAIN_RNG), loaded on first use:
 * the test fails naming @what when @xml does not validate against it. */
void vmc_test_assert_schema_valid(const char *what, const char *xml);

/* ---- this process ---- */

/* VmRSS of this process, in KiB. */
guint64 vmc_test_rss_kib(void);

/* Whether RSS says anything about leaks here: not under ASan (its
 * quarantine keeps freed memory; LeakSanitizer checks leaks instead) nor
 * under valgrind (which checks them itself). */
gboolean vmc_test_rss_is_meaningful(void);

/* "FD -> target" for each open file descriptor of this process (but the
 * one that lists them). */
GPtrArray *vmc_test_open_fds(void);

/* ---- what a test needs of the host ---- */

/* The tests that need root or the system daemon are meson's boot_tests
 * option ($VMC_BOOT_TESTS): "auto" skips them, with the reason, on a host
 * that lacks what they need; "enabled" (and a program run by hand, with
 * the variable unset) fails them with the reason instead, so that CI
 * cannot pass by skipping; "disabled" does not define the programs, and
 * skips such tests in the others. */
typedef enum {
    VMC_TEST_NEEDS_ROOT = 1 << 0,     /* TAP devices, namespaces, mounts, QEMU as libvirt-qemu */
    VMC_TEST_NEEDS_DAEMON = 1 << 1,   /* libvirtd answering on /run/libvirt/libvirt-sock */
} VmcTestNeeds;

/* What this host lacks of @needs, as a sentence, or NULL if nothing. */
char *vmc_test_missing(VmcTestNeeds needs);

/* For main() of a program whose every test needs @needs, right after
 * g_test_init(): if the host lacks some, under "auto" prints the TAP plan
 * "1..0 # SKIP <reason>" and exits 0 (so does "disabled", whatever the
 * host has); under "enabled" prints "Bail out! <reason>" and exits 1. */
void vmc_test_require(VmcTestNeeds needs);

/* The same for one test function: TRUE when it can run; under "auto",
 * FALSE after g_test_skip() with the reason; else the test fails. */
gboolean vmc_test_check_needs(VmcTestNeeds needs);

/* The kind of KVM host a test runs on, as tests/vmc-kvm-variant.c made it
 * ($VMC_TEST_KVM_VARIANT): NATIVE where no variant was asked for (the
 * test then follows the probes), else no /dev/kvm at all, a /dev/kvm that
 * runs no vCPU, or one whose probe vCPU runs. */
typedef enum {
    VMC_TEST_KVM_NATIVE,
    VMC_TEST_KVM_NONE,
    VMC_TEST_KVM_USELESS,
    VMC_TEST_KVM_WORKING,
} VmcTestKvm;

/* "none", "useless", "working" (NATIVE has no name). */
gboolean vmc_test_kvm_variant_from_string(const char *name, VmcTestKvm *out);
const char *vmc_test_kvm_variant_to_string(VmcTestKvm variant);
VmcTestKvm vmc_test_kvm_variant(void);

/* The accelerator a host of this test's variant must give a VM when none
 * is asked for: TCG without a vCPU that runs, KVM with one; for NATIVE,
 * what this machine's probe says. */
VmcAccel vmc_test_kvm_expected_accel(void);

/* ---- processes ---- */

/* For g_spawn's child setup: the child is killed when the test dies. */
void vmc_test_die_with_parent(gpointer data);

/* Reads what is there on @fd into @buf; FALSE at end of file (or EIO: a
 * pseudo-terminal whose other side was closed). */
gboolean vmc_test_drain(int fd, GString *buf);

/* Waits for @pid until @deadline (monotonic µs); past it, kills it and
 * fails the test naming @what. Returns the wait status. */
int vmc_test_reap(GPid pid, gint64 deadline, const char *what);

/* Runs @argv (no shell, looked up in PATH) to its end within @secs, with
 * stdout and stderr captured (with @tty, stderr is a pseudo-terminal 200
 * columns wide and run->err what it showed). Past @secs the command is
 * killed and the test fails with what it printed; so does a command
 * killed by a signal. */
void vmc_test_spawn(VmcTestRun *run, gboolean tty, guint secs, const char *const *argv);
/* A pseudo-terminal (50 rows, 200 columns): its master, and *@slave. */
int vmc_test_open_pty(int *slave);

/* ---- isolation ---- */

typedef void (*VmcTestTeardown)(gpointer data);

/* For a test that makes things outside this process (domains on a
 * daemon, QEMU processes, TAP devices, namespaces): call it first in the
 * test function. In the parent it runs the test function again in a
 * GTest subprocess (at most @secs; its stderr is shown), then runs
 * @teardown whatever became of it (a failed assertion, a crash, a hang
 * past @secs), then marks the test failed if the subprocess did not pass,
 * without aborting, so that the teardowns of later tests and main's own
 * cleanup run too. Returns TRUE in the subprocess, where the body runs. */
gboolean vmc_test_isolated(guint secs, VmcTestTeardown teardown, gpointer data);

/* Best effort, for teardowns: forces the domain @name off and undefines
 * it (with its NVRAM) on @uri, with virsh, not through the library under
 * test (nor libvirt in this process: see vmc-test.c). */
void vmc_test_purge_domain(const char *uri, const char *name);
