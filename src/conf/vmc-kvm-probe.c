/*
 * vmc-kvm-probe.c: does KVM really run a vCPU on this host?
 *
 * "/dev/kvm exists" and "libvirt offers KVM" are not "KVM works": under
 * nested virtualization without vmx/svm a KVM vCPU may run, but emulated,
 * hundreds of times slower than hardware (measured here: 1 million `loop`
 * iterations a second, against hundreds of millions), so that a real
 * guest never gets to print a byte. The probe creates a VM with one vCPU
 * in long mode whose code is a loop of a million iterations and a `hlt`,
 * runs it, and waits a bounded time for the HLT exit. A vCPU that has not
 * exited by then is kicked out of KVM_RUN
 * with a signal that only the probe's own thread can take: the thread
 * blocks it, and KVM_SET_SIGNAL_MASK unblocks it inside KVM_RUN alone,
 * where it makes the ioctl return EINTR without running any handler. So
 * no process-wide signal disposition is touched.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VMC_KVM_DEVICE "/dev/kvm"
/* How long the vCPU gets to reach its `hlt`, and how long a kicked
 * KVM_RUN gets to return before the probe gives up on the thread. */
#define VMC_KVM_PROBE_RUN_MS 100
#define VMC_KVM_PROBE_KICK_MS 2000
#define VMC_KVM_PROBE_SIGNAL SIGUSR1
/* A million iterations of `loop` take hardware a few milliseconds; a vCPU
 * that needs more than VMC_KVM_PROBE_RUN_MS for them is not worth more
 * than TCG. */
#define VMC_KVM_PROBE_LOOPS 1000000
#define VMC_KVM_GUEST_SIZE 0x10000
#define VMC_KVM_GUEST_CODE 0x1000

typedef struct {
    GMutex lock;
    GCond cond;
    gboolean done;
    gboolean ok;
    char *reason;          /* why not, when !ok */
} VmcKvmProbe;

static void
vmc_kvm_probe_clear(gpointer data)
{
    VmcKvmProbe *p = data;

    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p->reason);
}

static void
vmc_kvm_probe_unref(VmcKvmProbe *p)
{
    g_atomic_rc_box_release_full(p, vmc_kvm_probe_clear);
}

static char *
vmc_kvm_errno(const char *what, int err)
{
    return g_strdup_printf("%s failed: %s", what, g_strerror(err));
}

static const char *
vmc_kvm_exit_name(guint32 reason)
{
    switch (reason) {
    case KVM_EXIT_HLT:
        return "hlt";
    case KVM_EXIT_FAIL_ENTRY:
        return "fail-entry (the CPU refused to enter the guest)";
    case KVM_EXIT_INTERNAL_ERROR:
        return "internal-error";
    case KVM_EXIT_SHUTDOWN:
        return "shutdown (triple fault)";
    case KVM_EXIT_INTR:
        return "intr";
    default:
        return "unexpected";
    }
}

/* Long mode, an identity-mapped 2 MiB page at 0, and the code at
 * VMC_KVM_GUEST_CODE: mov rcx, VMC_KVM_PROBE_LOOPS; 1: loop 1b; hlt. */
static void
vmc_kvm_guest_setup(guint8 *mem, struct kvm_sregs *sregs, struct kvm_regs *regs)
{
    static const guint8 code[] = {
        0x48, 0xc7, 0xc1, VMC_KVM_PROBE_LOOPS & 0xff, (VMC_KVM_PROBE_LOOPS >> 8) & 0xff,
        (VMC_KVM_PROBE_LOOPS >> 16) & 0xff, (VMC_KVM_PROBE_LOOPS >> 24) & 0xff, /* mov rcx */
        0xe2, 0xfe,                                                             /* loop . */
        0xf4,                                                                   /* hlt */
    };
    guint64 *pml4 = (guint64 *) (mem + 0x2000);
    guint64 *pdpt = (guint64 *) (mem + 0x3000);
    guint64 *pd = (guint64 *) (mem + 0x4000);
    struct kvm_segment seg = {
        .base = 0, .limit = 0xffffffff, .selector = 8, .present = 1, .type = 11,
        .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
    };

    pml4[0] = 0x3000 | 0x3;    /* present, writable */
    pdpt[0] = 0x4000 | 0x3;
    pd[0] = 0x80 | 0x3;        /* a 2 MiB page */
    sregs->cr3 = 0x2000;
    sregs->cr4 = 1 << 5;       /* PAE */
    sregs->cr0 = 0x80050033;   /* PG, AM, WP, NE, ET, MP, PE */
    sregs->efer = 0x500;       /* LME, LMA */
    sregs->cs = seg;
    seg.type = 3;
    seg.selector = 16;
    seg.l = 0;
    seg.db = 1;
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = seg;

    memcpy(mem + VMC_KVM_GUEST_CODE, code, sizeof(code));
    regs->rip = VMC_KVM_GUEST_CODE;
    regs->rsp = 0x8000;
    regs->rflags = 0x2;
}

/* Runs on the probe thread, with VMC_KVM_PROBE_SIGNAL blocked. Returns
 * NULL when the vCPU ran its loop to the `hlt`, else why not. */
static char *
vmc_kvm_run_vcpu(const sigset_t *run_mask)
{
    struct kvm_userspace_memory_region region = { 0 };
    struct kvm_sregs sregs;
    struct kvm_regs regs = { 0 };
    struct kvm_run *run = MAP_FAILED;
    gsize run_size = 0;
    guint8 *mem = MAP_FAILED;
    struct {
        struct kvm_signal_mask head;
        guint8 set[8];
    } mask;
    char *reason = NULL;
    int kvm, vm = -1, vcpu = -1, n;

    kvm = open(VMC_KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        int err = errno;
        if (err == ENOENT)
            return g_strdup("there is no " VMC_KVM_DEVICE " (no kvm module, or no hardware "
                            "virtualization on this host)");
        if (err == ENODEV || err == ENXIO)
            return g_strdup_printf("cannot open " VMC_KVM_DEVICE ": %s (the node is there, but "
                                   "no kvm module serves it)", g_strerror(err));
        return g_strdup_printf("cannot open " VMC_KVM_DEVICE ": %s", g_strerror(err));
    }
    n = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (n != KVM_API_VERSION) {
        reason = g_strdup_printf(VMC_KVM_DEVICE " speaks KVM API %d, not %d", n, KVM_API_VERSION);
        goto out;
    }
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        reason = vmc_kvm_errno("KVM_CREATE_VM", errno);
        goto out;
    }
    mem = mmap(NULL, VMC_KVM_GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
               0);
    if (mem == MAP_FAILED) {
        reason = vmc_kvm_errno("mmap of the guest's memory", errno);
        goto out;
    }
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = VMC_KVM_GUEST_SIZE;
    region.userspace_addr = (guint64) (guintptr) mem;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        reason = vmc_kvm_errno("KVM_SET_USER_MEMORY_REGION", errno);
        goto out;
    }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        reason = vmc_kvm_errno("KVM_CREATE_VCPU", errno);
        goto out;
    }
    n = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (n < (int) sizeof(*run)) {
        reason = vmc_kvm_errno("KVM_GET_VCPU_MMAP_SIZE", errno);
        goto out;
    }
    run_size = (gsize) n;
    run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        reason = vmc_kvm_errno("mmap of the vCPU's run area", errno);
        goto out;
    }
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        reason = vmc_kvm_errno("KVM_GET_SREGS", errno);
        goto out;
    }
    vmc_kvm_guest_setup(mem, &sregs, &regs);
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
        reason = vmc_kvm_errno("KVM_SET_SREGS", errno);
        goto out;
    }
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        reason = vmc_kvm_errno("KVM_SET_REGS", errno);
        goto out;
    }
    /* The kernel's sigset is the first 8 bytes of glibc's. */
    mask.head.len = sizeof(mask.set);
    memcpy(mask.set, run_mask, sizeof(mask.set));
    if (ioctl(vcpu, KVM_SET_SIGNAL_MASK, &mask) < 0) {
        reason = vmc_kvm_errno("KVM_SET_SIGNAL_MASK", errno);
        goto out;
    }

    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
        int err = errno;
        if (err == EINTR) {
            guint64 left = VMC_KVM_PROBE_LOOPS;
            if (ioctl(vcpu, KVM_GET_REGS, &regs) == 0 && regs.rcx <= VMC_KVM_PROBE_LOOPS)
                left = regs.rcx;
            reason = g_strdup_printf(
                "a probe vCPU ran %" G_GUINT64_FORMAT " of %d loop iterations in %d ms "
                "(hardware virtualization runs them all in a few): KVM is emulated here, "
                "slower than TCG (nested virtualization without vmx/svm?)",
                (guint64) VMC_KVM_PROBE_LOOPS - left, VMC_KVM_PROBE_LOOPS, VMC_KVM_PROBE_RUN_MS);
        } else {
            reason = vmc_kvm_errno("KVM_RUN", err);
        }
        goto out;
    }
    if (run->exit_reason != KVM_EXIT_HLT)
        reason = g_strdup_printf("a probe vCPU stopped with KVM exit %u (%s), not at its hlt",
                                 run->exit_reason, vmc_kvm_exit_name(run->exit_reason));

out:
    if (run != MAP_FAILED)
        munmap(run, run_size);
    if (vcpu >= 0)
        close(vcpu);
    if (mem != MAP_FAILED)
        munmap(mem, VMC_KVM_GUEST_SIZE);
    if (vm >= 0)
        close(vm);
    close(kvm);
    return reason;
}

static void *
vmc_kvm_probe_thread(void *data)
{
    VmcKvmProbe *p = data;
    sigset_t block, old, run_mask;
    char *reason;

    /* Blocked here, so that a kick arriving outside KVM_RUN stays pending
     * and dies with this thread; unblocked only inside KVM_RUN. */
    sigemptyset(&block);
    sigaddset(&block, VMC_KVM_PROBE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    run_mask = old;
    sigdelset(&run_mask, VMC_KVM_PROBE_SIGNAL);

    reason = vmc_kvm_run_vcpu(&run_mask);

    g_mutex_lock(&p->lock);
    p->ok = reason == NULL;
    p->reason = reason;
    p->done = TRUE;
    g_cond_signal(&p->cond);
    g_mutex_unlock(&p->lock);
    vmc_kvm_probe_unref(p);
    return NULL;
}

/* Waits until the probe is done or @deadline passes; called locked. */
static gboolean
vmc_kvm_probe_wait(VmcKvmProbe *p, gint64 deadline)
{
    while (!p->done) {
        if (!g_cond_wait_until(&p->cond, &p->lock, deadline))
            return p->done;
    }
    return TRUE;
}

static char *
vmc_kvm_probe_run(void)
{
    VmcKvmProbe *p = g_atomic_rc_box_new0(VmcKvmProbe);
    pthread_t thread;
    gboolean finished;
    char *reason;
    int rc;

    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    g_atomic_rc_box_acquire(p);  /* the thread's reference */
    rc = pthread_create(&thread, NULL, vmc_kvm_probe_thread, p);
    if (rc != 0) {
        vmc_kvm_probe_unref(p);
        vmc_kvm_probe_unref(p);
        return g_strdup_printf("cannot start the KVM probe's thread: %s", g_strerror(rc));
    }

    g_mutex_lock(&p->lock);
    finished = vmc_kvm_probe_wait(p, g_get_monotonic_time() + VMC_KVM_PROBE_RUN_MS * 1000);
    if (!finished) {
        gint64 deadline = g_get_monotonic_time() + VMC_KVM_PROBE_KICK_MS * 1000;

        /* Still in KVM_RUN (the thread sets done under this lock before it
         * ends, so it is alive): kick it until it returns. */
        while (!finished && g_get_monotonic_time() < deadline) {
            pthread_kill(thread, VMC_KVM_PROBE_SIGNAL);
            finished = vmc_kvm_probe_wait(p, MIN(deadline, g_get_monotonic_time() + 100 * 1000));
        }
    }
    if (finished) {
        reason = p->ok ? NULL : g_strdup(p->reason);
    } else {
        reason = g_strdup_printf("a probe vCPU neither ran nor returned from KVM_RUN within "
                                 "%d ms: KVM does not work on this host",
                                 VMC_KVM_PROBE_RUN_MS + VMC_KVM_PROBE_KICK_MS);
    }
    g_mutex_unlock(&p->lock);

    if (finished)
        pthread_join(thread, NULL);
    else
        pthread_detach(thread);  /* stuck in the kernel: it frees its share when it ends */
    vmc_kvm_probe_unref(p);
    return reason;
}

static char *vmc_kvm_reason;

/**
 * vmc_host_kvm_runs:
 * @error: return location for a #GError, or %NULL
 *
 * Tells whether KVM really runs guests on this host: the first call opens
 * `/dev/kvm` as this process's user, creates a VM with one vCPU in long
 * mode and runs a loop of a million iterations to a `hlt`, which hardware
 * virtualization does in a few milliseconds; it waits at most 100 ms
 * before kicking the vCPU out of KVM_RUN (2 s more at worst for a vCPU that does not
 * return). The result is kept for the life of the process. The probe
 * touches no process-wide state: it runs on a thread of its own, and its
 * wake-up signal is blocked everywhere but inside that thread's KVM_RUN.
 *
 * It says nothing of a remote host, and nothing of whether QEMU's user
 * (`libvirt-qemu` under `qemu:///system`) may open `/dev/kvm`.
 *
 * Returns: %TRUE when the probe vCPU ran; else %FALSE with
 *   %VMC_ERROR_HYPERVISOR saying why (no device, no permission, a vCPU
 *   that never ran). May be called from any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_host_kvm_runs(GError **error)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        vmc_kvm_reason = vmc_kvm_probe_run();
        g_once_init_leave(&once, 1);
    }
    if (vmc_kvm_reason) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_HYPERVISOR, "KVM does not run guests at hardware speed here: %s",
                    vmc_kvm_reason);
        return FALSE;
    }
    return TRUE;
}
