/*
 * Death injection on the real kernel (x86_64): a victim thread is stopped at one instruction of a robust
 * unlock and killed there with SIGKILL, with and without a waiter asleep in the kernel on the word, and with
 * and without a peer thread of the victim's process that takes the released lock, unmaps the memory and
 * maps other data holding the victim's TID at the same address before the kernel handles the death.
 * Afterwards the helper reads the lock word, the peer's data and the waiter's report, and prints one line
 * per case for kernels/inject-check.sh, which compares it with the reference model.
 *
 *   inject vdso64 | vdso32   the vDSO's __vdso_futex_robust_list{64,32}_try_unlock (kernel-abi.md 4.2)
 *   inject classic           the same instructions in this program's own text: a user-space CAS and a plain
 *                            store clearing list_op_pending, which no kernel protects (section 4)
 *   options: --lifetime      the peer keeps the mapping while the victim's list_op_pending names it (the
 *                            library's lifetime rule) instead of unmapping at once
 *            --step          reach the instruction by single-stepping from the function's entry instead of
 *                            a hardware breakpoint on it
 *
 * How the victim is stopped: a hardware instruction breakpoint (DR0) on the instruction is a fault-class
 * debug exception: it is taken before the instruction executes, from user mode, through the kernel's
 * exception entry (arch/x86/kernel/traps.c, exc_debug_user(), which enters through
 * irqentry_enter_from_user_mode(); that records rseq's user_irq event, include/linux/rseq_entry.h,
 * rseq_note_user_irq_entry()). The resulting SIGTRAP is pending on the way back to user mode, so
 * __exit_to_user_mode_loop() (kernel/entry/common.c) calls futex_fixup_robust_unlock(regs) with the
 * instruction pointer at the breakpoint before arch_do_signal_or_restart() stops the task for the tracer.
 * The SIGKILL sent during that stop is then taken in the same get_signal(): the task dies with exactly the
 * state an interrupt at that instruction followed by a fatal signal leaves (kernel-abi.md 4.3). With --step,
 * every earlier instruction of the sequence also went through that path once (the fixup ran at each step),
 * which is why the breakpoint is the primary means and single-stepping the cross-check.
 *
 * Each line:
 *   ==== harness inject: MODE method=bp|step point=K/N ip=+OFF waiter=0|1 peer=0|1 lifetime=0|1:
 *        reached=yes|no zf=0|1 word=0x... outcome=released|owner-died|held-by-dead|other
 *        peer=remapped|busy|deferred|- other=intact|CORRUPTED|- waiter=woken|asleep|-
 * K = N means "just after the function returned". Exit status 0 when every case ran (the verdict is the
 * host's), 1 when the helper itself could not run a case.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAITERS 0x80000000u
#define OWNER_DIED 0x40000000u
#define TID_MASK 0x3fffffffu
#define MAX_POINTS 64
#define OTHER_FILL 0x5a5a5a5au

typedef uint32_t (*try_unlock_fn)(uint32_t *lock, uint32_t tid, void *pop);

/* The classic sequence in this program's text: CAS tid -> 0, then clear list_op_pending. */
extern uint32_t classic_unlock(uint32_t *lock, uint32_t tid, void *pop);
extern char classic_unlock_end[];
__asm__(".text\n"
        ".globl classic_unlock\n"
        ".type classic_unlock, @function\n"
        "classic_unlock:\n"
        "  mov %esi, %eax\n"
        "  xor %ecx, %ecx\n"
        "  lock cmpxchg %ecx, (%rdi)\n"
        "  jnz 1f\n"
        "  movq %rcx, (%rdx)\n"
        "1: ret\n"
        ".globl classic_unlock_end\n"
        "classic_unlock_end:\n"
        ".size classic_unlock, classic_unlock_end - classic_unlock\n");

struct robust_head { void *next; long futex_offset; void *pending; };

static const char *lock_path = "/dev/shm/robust-mutex-inject-lock";
static const char *other_path = "/dev/shm/robust-mutex-inject-other";

static void fatal(const char *what) {
    fprintf(stderr, "inject: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ------------------------------------------------------------------------------------ the vDSO symbol */

static int vdso_symbol(const char *wanted, uint64_t *address, uint64_t *size) {
    const unsigned char *base = (const unsigned char *) getauxval(AT_SYSINFO_EHDR);
    if (base == NULL) return -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *) base;
    const Elf64_Phdr *ph = (const Elf64_Phdr *) (base + eh->e_phoff);
    uint64_t bias = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) { bias = ph[i].p_vaddr - ph[i].p_offset; break; }
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *) (base + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        const Elf64_Sym *syms = (const Elf64_Sym *) (base + sh[i].sh_offset);
        const char *strings = (const char *) (base + sh[sh[i].sh_link].sh_offset);
        for (size_t s = 0; s < sh[i].sh_size / sizeof(Elf64_Sym); s++) {
            if (syms[s].st_shndx != SHN_UNDEF && strcmp(strings + syms[s].st_name, wanted) == 0) {
                *address = (uint64_t) base + syms[s].st_value - bias;
                *size = syms[s].st_size;
                return 0;
            }
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------------------ configuration */

static enum { VDSO64, VDSO32, CLASSIC } mode;
static const char *mode_name;
static int lifetime_rule;
static int single_step;
static uint64_t fn_address, fn_size;

/* ------------------------------------------------------------------------------------ the victim */

struct victim_info { uint32_t tid; uint64_t lock_address; };

static struct robust_head head;
static uint32_t *victim_word;
static int peer_cmd[2], peer_reply[2];
static uint32_t victim_tid;

__attribute__((noinline)) static void after_unlock(void) {
    __asm__ volatile("" ::: "memory");
}

/* The peer: on command, take the lock if it is free, release it, and, as its last user, unmap the memory
 * and map other data there (or keep it while the victim's list_op_pending names it, under the lifetime
 * rule). Replies with one byte: 'r' remapped, 'b' busy (the lock was held), 'd' deferred. */
static void *peer_main(void *arg) {
    (void) arg;
    char c;
    if (read(peer_cmd[0], &c, 1) != 1) return NULL;
    uint32_t tid = (uint32_t) syscall(SYS_gettid);
    uint32_t expected = 0;
    char reply;
    if (!__atomic_compare_exchange_n(victim_word, &expected, tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        reply = 'b';
    } else {
        __atomic_store_n(victim_word, 0, __ATOMIC_RELEASE);
        void *entry = (char *) victim_word + 32;
        if (lifetime_rule && __atomic_load_n(&head.pending, __ATOMIC_ACQUIRE) == entry) {
            reply = 'd';
        } else {
            int fd = open(other_path, O_RDWR);
            if (fd < 0) fatal("open other");
            if (munmap(victim_word, 4096) != 0) fatal("munmap");
            if (mmap(victim_word, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != victim_word) {
                fatal("mmap other");
            }
            close(fd);
            reply = 'r';
        }
    }
    if (write(peer_reply[1], &reply, 1) != 1) fatal("peer reply");
    pause();
    return NULL;
}

static void victim_main(int info_fd) {
    int fd = open(lock_path, O_RDWR);
    if (fd < 0) fatal("open lock");
    /* Below 4 GiB, like the static program's list head: list_op_pending's upper half is then 0, so the
     * 32-bit try-unlock, which clears the low half, clears the whole slot. */
    victim_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_32BIT, fd, 0);
    if (victim_word == MAP_FAILED) fatal("mmap lock");
    close(fd);
    victim_tid = (uint32_t) syscall(SYS_gettid);
    void *entry = (char *) victim_word + 32;
    /* As the library leaves it right before the release: the entry unlinked, list_op_pending naming it. */
    head.next = &head;
    head.futex_offset = -32;
    head.pending = entry;
    if (syscall(SYS_set_robust_list, &head, sizeof(head)) != 0) fatal("set_robust_list");
    __atomic_store_n(victim_word, victim_tid, __ATOMIC_RELEASE);
    pthread_t peer;
    if (pthread_create(&peer, NULL, peer_main, NULL) != 0) fatal("pthread_create");
    struct victim_info info = { victim_tid, (uint64_t) victim_word };
    if (write(info_fd, &info, sizeof(info)) != sizeof(info)) fatal("info");
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) fatal("PTRACE_TRACEME");
    raise(SIGSTOP);
    try_unlock_fn fn = (try_unlock_fn) fn_address;
    /* The 32-bit form clears the low half of the slot (little endian): all of it here, see above. */
    fn(victim_word, victim_tid, &head.pending);
    after_unlock();
    for (;;) pause();
}

/* ------------------------------------------------------------------------------------ the waiter */

/* Sets WAITERS on the victim's word and sleeps in FUTEX_WAIT (shared key) for at most 30 s; reports
 * "rc errno word" on its pipe. */
static void waiter_main(uint32_t tid, int report_fd) {
    int fd = open(lock_path, O_RDWR);
    if (fd < 0) fatal("waiter open");
    uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (word == MAP_FAILED) fatal("waiter mmap");
    uint32_t expected = tid;
    if (!__atomic_compare_exchange_n(word, &expected, tid | WAITERS, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        dprintf(report_fd, "-1 0 0x%08x\n", expected);
        _exit(0);
    }
    struct timespec limit = { 30, 0 };
    long rc = syscall(SYS_futex, word, FUTEX_WAIT, tid | WAITERS, &limit, NULL, 0);
    int err = rc == 0 ? 0 : errno;
    dprintf(report_fd, "%ld %d 0x%08x\n", rc, err, __atomic_load_n(word, __ATOMIC_ACQUIRE));
    _exit(0);
}

/* Whether a process is asleep in futex(): /proc/PID/syscall starts with the syscall number (202). */
static int asleep_in_futex(pid_t pid) {
    char path[64], buf[128];
    snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    return strncmp(buf, "202 ", 4) == 0;
}

/* ------------------------------------------------------------------------------------ the tracer */

static void sleep_ms(int ms) {
    struct timespec t = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* waitpid with a bound: returns 0 and the status, or -1 after `ms` milliseconds. */
static int wait_bounded(pid_t pid, int *status, int ms) {
    for (int waited = 0; waited <= ms; waited += 2) {
        pid_t r = waitpid(pid, status, WNOHANG | __WALL);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) return -1;
        sleep_ms(2);
    }
    return -1;
}

static int read_bounded(int fd, void *buf, size_t len, int ms) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, ms) != 1) return -1;
    return (int) read(fd, buf, len);
}

static int set_breakpoint(pid_t pid, int slot, uint64_t address) {
    if (ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[slot]), (void *) address) != 0) return -1;
    return 0;
}

static int enable_breakpoints(pid_t pid, int count) {
    /* DR7: local enable of slots 0..count-1, execute breakpoints of length 1 (RW and LEN bits 0). */
    unsigned long dr7 = 0;
    for (int i = 0; i < count; i++) dr7 |= 1ul << (i * 2);
    return ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), (void *) dr7) == 0 ? 0 : -1;
}

/* Runs the tracee until it stops; returns the stop signal, or -1 if it did not stop within 20 s. */
static int resume(pid_t pid, int request) {
    int status;
    if (ptrace(request, pid, NULL, NULL) != 0) fatal("ptrace resume");
    if (wait_bounded(pid, &status, 20000) != 0) return -1;
    if (!WIFSTOPPED(status)) return -2;
    return WSTOPSIG(status);
}

struct started { pid_t pid; struct victim_info info; };

static int start_victim(struct started *v) {
    int info[2];
    if (pipe(info) != 0 || pipe(peer_cmd) != 0 || pipe(peer_reply) != 0) fatal("pipe");
    pid_t pid = fork();
    if (pid < 0) fatal("fork");
    if (pid == 0) {
        close(info[0]);
        victim_main(info[1]);
        _exit(0);
    }
    close(info[1]);
    close(peer_cmd[0]);
    close(peer_reply[1]);
    if (read_bounded(info[0], &v->info, sizeof(v->info), 20000) != sizeof(v->info)) {
        close(info[0]);
        return -1;
    }
    close(info[0]);
    v->pid = pid;
    int status;
    if (wait_bounded(pid, &status, 20000) != 0 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) return -1;
    return 0;
}

static void finish_victim(pid_t pid) {
    int status;
    kill(pid, SIGKILL);
    if (wait_bounded(pid, &status, 20000) != 0) {
        fprintf(stderr, "inject: the victim %d did not die within 20 s\n", pid);
        exit(1);
    }
    close(peer_cmd[1]);
    close(peer_reply[0]);
}

/* The instruction addresses of the function on its uncontended path, learnt by single-stepping one victim
 * through it; the last point is the return address. */
static int learn_points(uint64_t *points) {
    struct started v;
    if (start_victim(&v) != 0) return -1;
    int n = 0, inside = 0;
    for (int steps = 0; steps < 100000 && n < MAX_POINTS; steps++) {
        struct user_regs_struct regs;
        if (ptrace(PTRACE_GETREGS, v.pid, NULL, &regs) != 0) fatal("GETREGS");
        int in_fn = regs.rip >= fn_address && regs.rip < fn_address + fn_size;
        if (in_fn) {
            inside = 1;
            points[n++] = regs.rip;
        } else if (inside) {
            points[n++] = regs.rip;
            break;
        }
        if (resume(v.pid, PTRACE_SINGLESTEP) != SIGTRAP) return -1;
    }
    finish_victim(v.pid);
    return inside ? n : -1;
}

static void prepare_lock(void) {
    uint32_t page[1024];
    memset(page, 0, sizeof(page));
    int fd = open(lock_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fatal("create lock");
    if (write(fd, page, sizeof(page)) != sizeof(page)) fatal("write lock");
    close(fd);
}

/* The other data happens to hold the dead thread's TID where the word was. */
static void prepare_other(uint32_t tid) {
    uint32_t page[1024];
    for (int i = 0; i < 1024; i++) page[i] = OTHER_FILL;
    page[0] = tid;
    int fd = open(other_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fatal("create other");
    if (write(fd, page, sizeof(page)) != sizeof(page)) fatal("write other");
    close(fd);
}

static int other_intact(uint32_t tid, uint32_t *first) {
    uint32_t page[1024];
    int fd = open(other_path, O_RDONLY);
    if (fd < 0) fatal("open other");
    if (read(fd, page, sizeof(page)) != sizeof(page)) fatal("read other");
    close(fd);
    *first = page[0];
    if (page[0] != tid) return 0;
    for (int i = 1; i < 1024; i++) if (page[i] != OTHER_FILL) return 0;
    return 1;
}

static uint32_t lock_word(void) {
    uint32_t word;
    int fd = open(lock_path, O_RDONLY);
    if (fd < 0) fatal("open lock");
    if (pread(fd, &word, 4, 0) != 4) fatal("read lock");
    close(fd);
    return word;
}

/* One case: stop the victim at points[k] (k == n - 1 is the return address), kill it, observe. */
static void run_case(const uint64_t *points, int n, int k, int with_waiter, int with_peer) {
    struct started v;
    prepare_lock();
    if (start_victim(&v) != 0) { fprintf(stderr, "inject: could not start a victim\n"); exit(1); }
    prepare_other(v.info.tid);
    pid_t waiter = -1;
    int report[2] = { -1, -1 };
    if (with_waiter) {
        if (pipe(report) != 0) fatal("pipe");
        waiter = fork();
        if (waiter < 0) fatal("fork waiter");
        if (waiter == 0) { close(report[0]); waiter_main(v.info.tid, report[1]); }
        close(report[1]);
        int asleep = 0;
        for (int waited = 0; waited < 20000 && !(asleep = asleep_in_futex(waiter)); waited += 5) sleep_ms(5);
        if (!asleep) { fprintf(stderr, "inject: the waiter did not fall asleep\n"); exit(1); }
    }

    int reached;
    struct user_regs_struct regs;
    if (!single_step) {
        /* DR0 on the instruction; DR1 on the return address, where a path that skips it arrives. */
        if (set_breakpoint(v.pid, 0, points[k]) != 0 || set_breakpoint(v.pid, 1, points[n - 1]) != 0
                || enable_breakpoints(v.pid, 2) != 0) {
            fatal("hardware breakpoint (PTRACE_POKEUSER u_debugreg)");
        }
        int sig = resume(v.pid, PTRACE_CONT);
        if (sig != SIGTRAP) { fprintf(stderr, "inject: no breakpoint stop (signal %d)\n", sig); exit(1); }
        if (ptrace(PTRACE_GETREGS, v.pid, NULL, &regs) != 0) fatal("GETREGS");
    } else {
        /* Breakpoint on the entry, then single steps to the instruction (or out of the function). */
        if (set_breakpoint(v.pid, 0, points[0]) != 0 || enable_breakpoints(v.pid, 1) != 0) fatal("breakpoint");
        if (resume(v.pid, PTRACE_CONT) != SIGTRAP) { fprintf(stderr, "inject: no entry stop\n"); exit(1); }
        if (enable_breakpoints(v.pid, 0) != 0) fatal("disable breakpoint");
        for (int s = 0;; s++) {
            if (ptrace(PTRACE_GETREGS, v.pid, NULL, &regs) != 0) fatal("GETREGS");
            if (regs.rip == points[k] || regs.rip == points[n - 1] || s > 64) break;
            if (resume(v.pid, PTRACE_SINGLESTEP) != SIGTRAP) { fprintf(stderr, "inject: step\n"); exit(1); }
        }
    }
    reached = regs.rip == points[k];
    int zf = (regs.eflags >> 6) & 1;

    char peer = '-';
    if (with_peer) {
        char go = 'g';
        if (write(peer_cmd[1], &go, 1) != 1) fatal("peer command");
        if (read_bounded(peer_reply[0], &peer, 1, 20000) != 1) { fprintf(stderr, "inject: no peer reply\n"); exit(1); }
    }
    finish_victim(v.pid);

    uint32_t word = lock_word(), first = 0;
    const char *outcome;
    if (word == 0) outcome = "released";
    else if (word & OWNER_DIED) outcome = "owner-died";
    else if ((word & TID_MASK) == v.info.tid) outcome = "held-by-dead";
    else outcome = "other";
    const char *other = "-";
    if (with_peer && (peer == 'r' || peer == 'd')) other = other_intact(v.info.tid, &first) ? "intact" : "CORRUPTED";

    const char *waiter_state = "-";
    char line[128] = "";
    if (with_waiter) {
        int got = read_bounded(report[0], line, sizeof(line) - 1, 10000);
        if (got > 0) {
            line[got] = 0;
            long rc = strtol(line, NULL, 10);
            waiter_state = rc == 0 ? "woken" : "error";
        } else {
            waiter_state = "asleep";
        }
        kill(waiter, SIGKILL);
        int status;
        wait_bounded(waiter, &status, 20000);
        close(report[0]);
    }
    const char *peer_text = peer == 'r' ? "remapped" : peer == 'b' ? "busy" : peer == 'd' ? "deferred" : "-";
    char where[32];
    if (k == n - 1) snprintf(where, sizeof(where), "returned");
    else snprintf(where, sizeof(where), "+%llu", (unsigned long long) (points[k] - points[0]));
    printf("==== harness inject: %s method=%s point=%d/%d ip=%s waiter=%d peer=%d lifetime=%d: reached=%s "
           "zf=%d word=0x%08x outcome=%s peer=%s other=%s",
           mode_name, single_step ? "step" : "bp", k, n - 1, where,
           with_waiter, with_peer, lifetime_rule, reached ? "yes" : "no", zf, word, outcome, peer_text, other);
    if (strcmp(other, "CORRUPTED") == 0) printf("(0x%08x)", first);
    printf(" waiter=%s\n", waiter_state);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: inject vdso64|vdso32|classic [--lifetime] [--step]\n");
        return 2;
    }
    mode_name = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--lifetime") == 0) lifetime_rule = 1;
        else if (strcmp(argv[i], "--step") == 0) single_step = 1;
        else { fprintf(stderr, "inject: unknown option %s\n", argv[i]); return 2; }
    }
    if (strcmp(mode_name, "vdso64") == 0 || strcmp(mode_name, "vdso32") == 0) {
        mode = mode_name[4] == '6' ? VDSO64 : VDSO32;
        const char *symbol = mode == VDSO64 ? "__vdso_futex_robust_list64_try_unlock"
                                            : "__vdso_futex_robust_list32_try_unlock";
        if (vdso_symbol(symbol, &fn_address, &fn_size) != 0 || fn_size == 0) {
            printf("==== harness inject: %s absent: the vDSO does not export %s\n", mode_name, symbol);
            return 0;
        }
    } else if (strcmp(mode_name, "classic") == 0) {
        mode = CLASSIC;
        fn_address = (uint64_t) classic_unlock;
        fn_size = (uint64_t) (classic_unlock_end - (char *) classic_unlock);
    } else {
        fprintf(stderr, "inject: unknown mode %s\n", mode_name);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((uint64_t) &head >> 32 != 0) {
        fprintf(stderr, "inject: build without PIE: the list head must lie below 4 GiB\n");
        return 1;
    }
    prepare_lock();
    uint64_t points[MAX_POINTS];
    int n = learn_points(points);
    if (n < 2) {
        fprintf(stderr, "inject: could not single-step through the function\n");
        return 1;
    }
    for (int k = 0; k < n; k++) {
        for (int with_waiter = 0; with_waiter <= 1; with_waiter++) {
            for (int with_peer = 0; with_peer <= 1; with_peer++) {
                run_case(points, n, k, with_waiter, with_peer);
            }
        }
    }
    unlink(lock_path);
    unlink(other_path);
    return 0;
}
