/*
 * glibc_robust_bench.c - baseline numbers for process-shared robust mutexes.
 *
 * The Java library's benchmarks are compared against what glibc itself
 * achieves with PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST mutexes, with
 * and without priority inheritance.  This program produces those numbers.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -pthread -o glibc_robust_bench glibc_robust_bench.c
 *
 * Usage:
 *   glibc_robust_bench uncontended ITERATIONS REPEATS
 *       prints "robust_pi_ns X.XX" and "robust_normal_ns X.XX"
 *       (median ns per lock+unlock pair on a single thread)
 *   glibc_robust_bench contended SECONDS pi|normal [apart]
 *       prints "contended_<kind>_ops_per_sec N"
 *       (lock+unlock pairs per second, summed over two competing processes);
 *       the counter incremented under the lock shares the mutex's cache line,
 *       or with "apart" has a line of its own, as in the Java run, where a
 *       mutex record fills its 64-byte line)
 *   glibc_robust_bench syscall ITERATIONS REPEATS
 *       prints "syscall_gettid_ns X.XX" and "syscall_futex_eagain_ns X.XX"
 *       (median ns per syscall(SYS_gettid), and per syscall(SYS_futex) of a
 *       FUTEX_WAIT whose expected value is stale, failing with EAGAIN: the
 *       calls the Java benchmark makes through its binding)
 *   glibc_robust_bench pingpong ROUND_TRIPS ROUNDS pi|normal
 *       prints "pingpong_<kind>_ns R1 R2 ..." (ns per round trip of each
 *       measured round) and "pingpong_<kind>_median_ns X.XX": two processes
 *       hand a turn back and forth through two process-shared condition
 *       variables of one robust mutex
 *
 * stdout carries only "key value" lines so a script can parse it; every
 * diagnostic goes to stderr and makes the program exit with status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NUM_CHILDREN 2
/* Reading the clock costs tens of ns; amortise it over this many pairs. */
#define CLOCK_CHECK_MASK 1023u

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("glibc_robust_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* pthread functions return the error code instead of setting errno. */
static void check(int rc, const char *what)
{
    if (rc != 0)
        die("%s failed: %s", what, strerror(rc));
}

/* CLOCK_MONOTONIC is system-wide, so timestamps taken in different
 * processes can be compared directly (used for the shared deadline). */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime failed: %s", strerror(errno));
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double ns_per_op(uint64_t start, uint64_t end, uint64_t ops)
{
    return (double)(end - start) / (double)ops;
}

/* Stops the compiler from hoisting or merging work across the lock calls;
 * costs no instruction, so it is portable to both x86_64 and aarch64. */
static inline void compiler_barrier(void)
{
    __asm__ __volatile__("" ::: "memory");
}

/*
 * Every lock goes through this so that the measured path includes the same
 * robustness handling a real user needs.  EOWNERDEAD can only occur if a
 * holder died, which this program never lets happen, but if it does the
 * mutex must be made consistent or it becomes permanently unusable.
 */
static inline void lock_mutex(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    if (__builtin_expect(rc != 0, 0)) {
        if (rc != EOWNERDEAD)
            die("pthread_mutex_lock failed: %s", strerror(rc));
        fprintf(stderr, "glibc_robust_bench: unexpected EOWNERDEAD, recovering\n");
        check(pthread_mutex_consistent(m), "pthread_mutex_consistent");
    }
}

static inline void unlock_mutex(pthread_mutex_t *m)
{
    int rc = pthread_mutex_unlock(m);
    if (__builtin_expect(rc != 0, 0))
        die("pthread_mutex_unlock failed: %s", strerror(rc));
}

/* The Java library shares mutexes between processes through mapped memory,
 * so the baseline mutexes live in MAP_SHARED pages too. */
static void *map_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap failed: %s", strerror(errno));
    return p;
}

static void init_mutex(pthread_mutex_t *m, int protocol)
{
    pthread_mutexattr_t attr;
    check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
          "pthread_mutexattr_setpshared");
    check(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST),
          "pthread_mutexattr_setrobust");
    check(pthread_mutexattr_setprotocol(&attr, protocol),
          "pthread_mutexattr_setprotocol");
    check(pthread_mutex_init(m, &attr), "pthread_mutex_init");
    check(pthread_mutexattr_destroy(&attr), "pthread_mutexattr_destroy");
}

/* Parses a strictly positive decimal integer; strtoull alone would accept
 * "-1" (wrapping it) and trailing garbage. */
static uint64_t parse_count(const char *s, const char *name)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v == 0)
        die("%s must be a positive integer, got '%s'", name, s);
    return (uint64_t)v;
}

static int protocol_for_kind(const char *kind)
{
    if (strcmp(kind, "pi") == 0)
        return PTHREAD_PRIO_INHERIT;
    if (strcmp(kind, "normal") == 0)
        return PTHREAD_PRIO_NONE;
    die("KIND must be 'pi' or 'normal', got '%s'", kind);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the samples and returns their median. */
static double sorted_median(double *samples, uint64_t count)
{
    qsort(samples, count, sizeof *samples, cmp_double);
    return (count % 2 == 1)
        ? samples[count / 2]
        : (samples[count / 2 - 1] + samples[count / 2]) / 2.0;
}

/* ---------------------------------------------------------------- uncontended */

static double time_round(pthread_mutex_t *m, uint64_t iterations)
{
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        lock_mutex(m);
        compiler_barrier();
        unlock_mutex(m);
    }
    return ns_per_op(start, now_ns(), iterations);
}

/* The median rather than the mean, so that one round disturbed by a
 * context switch or frequency change does not skew the baseline. */
static double median_ns(int protocol, uint64_t iterations, uint64_t repeats)
{
    pthread_mutex_t *m = map_shared(sizeof *m);
    double *samples = malloc(repeats * sizeof *samples);
    double median;

    if (samples == NULL)
        die("out of memory for %" PRIu64 " samples", repeats);
    init_mutex(m, protocol);

    /* Warm-up: faults in the page, trains branch predictors, lets the CPU
     * clock ramp up; not counted. */
    (void)time_round(m, iterations);
    for (uint64_t r = 0; r < repeats; r++)
        samples[r] = time_round(m, iterations);

    median = sorted_median(samples, repeats);

    check(pthread_mutex_destroy(m), "pthread_mutex_destroy");
    free(samples);
    if (munmap(m, sizeof *m) != 0)
        die("munmap failed: %s", strerror(errno));
    return median;
}

static void run_uncontended(uint64_t iterations, uint64_t repeats)
{
    if (repeats > 1000000)
        die("REPEATS is unreasonably large: %" PRIu64, repeats);
    printf("robust_pi_ns %.2f\n", median_ns(PTHREAD_PRIO_INHERIT, iterations, repeats));
    printf("robust_normal_ns %.2f\n", median_ns(PTHREAD_PRIO_NONE, iterations, repeats));
}

/* ------------------------------------------------------------------ syscalls */

static volatile long syscall_sink;

static double time_gettid(uint64_t iterations)
{
    uint64_t start = now_ns();
    long sum = 0;
    for (uint64_t i = 0; i < iterations; i++)
        sum += syscall(SYS_gettid);
    syscall_sink = sum;
    return ns_per_op(start, now_ns(), iterations);
}

static double time_futex_eagain(uint64_t iterations)
{
    /* Written at run time, so that it is in an anonymous page like the Java benchmark's word. */
    static uint32_t word;
    uint64_t start;

    word = 5;
    start = now_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        if (syscall(SYS_futex, &word, FUTEX_WAIT, 6, NULL, NULL, 0) != -1 || errno != EAGAIN)
            die("futex(FUTEX_WAIT) with a stale value did not fail with EAGAIN");
    }
    return ns_per_op(start, now_ns(), iterations);
}

static double median_of(double (*round)(uint64_t), uint64_t iterations, uint64_t repeats)
{
    double *samples = malloc(repeats * sizeof *samples);
    double median;

    if (samples == NULL)
        die("out of memory for %" PRIu64 " samples", repeats);
    (void)round(iterations);
    for (uint64_t r = 0; r < repeats; r++)
        samples[r] = round(iterations);
    median = sorted_median(samples, repeats);
    free(samples);
    return median;
}

static void run_syscalls(uint64_t iterations, uint64_t repeats)
{
    if (repeats > 1000000)
        die("REPEATS is unreasonably large: %" PRIu64, repeats);
    printf("syscall_gettid_ns %.2f\n", median_of(time_gettid, iterations, repeats));
    printf("syscall_futex_eagain_ns %.2f\n", median_of(time_futex_eagain, iterations, repeats));
}

/* ------------------------------------------------------------------ contended */

struct shared_area {
    pthread_mutex_t mutex;
    uint64_t counter;            /* only touched while holding mutex; in the mutex's line */
    int start;                   /* set by the parent once all are forked */
    uint64_t deadline_ns;        /* published before start, read after it */
    uint64_t ops[NUM_CHILDREN];  /* each child's own count, written once */
    uint64_t end_ns[NUM_CHILDREN];
    _Alignas(64) uint64_t counter_apart; /* the same, in a cache line of its own */
};

static void child_loop(struct shared_area *sh, int idx, uint64_t *counter)
{
    uint64_t n = 0, deadline, t = 0;

    /* Spin politely: on small machines the parent may need this CPU to
     * finish forking and set the flag. */
    while (!__atomic_load_n(&sh->start, __ATOMIC_ACQUIRE))
        sched_yield();
    deadline = sh->deadline_ns;

    for (;;) {
        lock_mutex(&sh->mutex);
        (*counter)++;
        unlock_mutex(&sh->mutex);
        n++;
        if ((n & CLOCK_CHECK_MASK) == 0 && (t = now_ns()) >= deadline)
            break;
    }
    sh->ops[idx] = n;
    sh->end_ns[idx] = t;
}

static void run_contended(double seconds, const char *kind, int apart)
{
    struct shared_area *sh = map_shared(sizeof *sh);
    pid_t pids[NUM_CHILDREN];
    uint64_t start, last_end = 0, total = 0;
    int failed = 0;

    init_mutex(&sh->mutex, protocol_for_kind(kind));

    /* Anything still buffered would otherwise be duplicated in children. */
    fflush(NULL);
    for (int i = 0; i < NUM_CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork failed: %s", strerror(errno));
        if (pids[i] == 0) {
            child_loop(sh, i, apart ? &sh->counter_apart : &sh->counter);
            _exit(0);
        }
    }

    /* A common deadline, instead of each child timing itself from when it
     * noticed the flag, keeps both children competing for the whole run. */
    start = now_ns();
    sh->deadline_ns = start + (uint64_t)(seconds * 1e9);
    __atomic_store_n(&sh->start, 1, __ATOMIC_RELEASE);

    for (int i = 0; i < NUM_CHILDREN; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR)
                die("waitpid failed: %s", strerror(errno));
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "glibc_robust_bench: child %d did not exit cleanly (status 0x%x)\n",
                    i, (unsigned)status);
            failed = 1;
        }
    }
    if (failed)
        exit(2);

    for (int i = 0; i < NUM_CHILDREN; i++) {
        total += sh->ops[i];
        if (sh->end_ns[i] > last_end)
            last_end = sh->end_ns[i];
    }
    /* A mismatch would mean the mutex failed to provide mutual exclusion. */
    if ((apart ? sh->counter_apart : sh->counter) != total)
        die("counter mismatch: counter=%" PRIu64 " but children counted %" PRIu64
            " (%" PRIu64 " + %" PRIu64 ")", apart ? sh->counter_apart : sh->counter, total, sh->ops[0],
            sh->ops[1]);

    /* Divide by the time actually spent: children overshoot the deadline by
     * up to 1024 iterations.  Rounded by hand to avoid needing -lm. */
    printf("contended_%s_ops_per_sec %" PRIu64 "\n", kind,
           (uint64_t)((double)total * 1e9 / (double)(last_end - start) + 0.5));

    check(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    if (munmap(sh, sizeof *sh) != 0)
        die("munmap failed: %s", strerror(errno));
}

/* ------------------------------------------------------------------ ping-pong */

/* The same layout idea as the Java run: one robust mutex, a condition per
 * side, and the turn they hand back and forth, all in one shared mapping. */
struct pingpong_area {
    pthread_mutex_t mutex;
    pthread_cond_t to_parent;    /* the parent waits on it for its turn */
    pthread_cond_t to_child;     /* the child waits on it for its turn */
    int turn;                    /* 0: the parent's turn, 1: the child's */
    int stop;                    /* set by the parent, with turn = 1, at the end */
};

static void init_cond(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr), "pthread_condattr_init");
    check(pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
          "pthread_condattr_setpshared");
    check(pthread_cond_init(c, &attr), "pthread_cond_init");
    check(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
}

/* A wait re-acquires the mutex, so it reports EOWNERDEAD as a lock does. */
static inline void wait_cond(pthread_cond_t *c, pthread_mutex_t *m)
{
    int rc = pthread_cond_wait(c, m);
    if (__builtin_expect(rc != 0, 0)) {
        if (rc != EOWNERDEAD)
            die("pthread_cond_wait failed: %s", strerror(rc));
        fprintf(stderr, "glibc_robust_bench: unexpected EOWNERDEAD, recovering\n");
        check(pthread_mutex_consistent(m), "pthread_mutex_consistent");
    }
}

static inline void signal_cond(pthread_cond_t *c)
{
    int rc = pthread_cond_signal(c);
    if (__builtin_expect(rc != 0, 0))
        die("pthread_cond_signal failed: %s", strerror(rc));
}

/* The child's side: each time the turn is its own, hand it back. */
static void pingpong_child(struct pingpong_area *sh)
{
    lock_mutex(&sh->mutex);
    for (;;) {
        while (sh->turn != 1)
            wait_cond(&sh->to_child, &sh->mutex);
        if (sh->stop)
            break;
        sh->turn = 0;
        signal_cond(&sh->to_parent);
    }
    unlock_mutex(&sh->mutex);
}

/* The parent's side: one round trip is handing the turn over and waiting
 * until it comes back. The mutex is held throughout, except in the waits. */
static void pingpong_parent(struct pingpong_area *sh, uint64_t round_trips)
{
    for (uint64_t i = 0; i < round_trips; i++) {
        sh->turn = 1;
        signal_cond(&sh->to_child);
        while (sh->turn != 0)
            wait_cond(&sh->to_parent, &sh->mutex);
    }
}

static void run_pingpong(uint64_t round_trips, uint64_t rounds, const char *kind)
{
    struct pingpong_area *sh = map_shared(sizeof *sh);
    double *samples;
    double median;
    pid_t pid;
    int status;

    if (rounds > 1000000)
        die("ROUNDS is unreasonably large: %" PRIu64, rounds);
    samples = malloc(rounds * sizeof *samples);
    if (samples == NULL)
        die("out of memory for %" PRIu64 " samples", rounds);
    init_mutex(&sh->mutex, protocol_for_kind(kind));
    init_cond(&sh->to_parent);
    init_cond(&sh->to_child);

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        die("fork failed: %s", strerror(errno));
    if (pid == 0) {
        pingpong_child(sh);
        _exit(0);
    }

    lock_mutex(&sh->mutex);
    /* Warm-up: the child gets going, both sides fault their pages in; not
     * counted. */
    pingpong_parent(sh, round_trips);
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t start = now_ns();
        pingpong_parent(sh, round_trips);
        samples[r] = ns_per_op(start, now_ns(), round_trips);
    }
    sh->stop = 1;
    sh->turn = 1;
    signal_cond(&sh->to_child);
    unlock_mutex(&sh->mutex);

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die("waitpid failed: %s", strerror(errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the ping-pong child did not exit cleanly (status 0x%x)", (unsigned)status);

    printf("pingpong_%s_ns", kind);
    for (uint64_t r = 0; r < rounds; r++)
        printf(" %.1f", samples[r]);
    printf("\n");
    median = sorted_median(samples, rounds);
    printf("pingpong_%s_median_ns %.2f\n", kind, median);

    check(pthread_cond_destroy(&sh->to_parent), "pthread_cond_destroy");
    check(pthread_cond_destroy(&sh->to_child), "pthread_cond_destroy");
    check(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    free(samples);
    if (munmap(sh, sizeof *sh) != 0)
        die("munmap failed: %s", strerror(errno));
}

static double parse_seconds(const char *s)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v > 0.0) || v > 86400.0)
        die("SECONDS must be a positive number of at most 86400, got '%s'", s);
    return v;
}

static void usage(void)
{
    die("usage: glibc_robust_bench uncontended ITERATIONS REPEATS\n"
        "       glibc_robust_bench syscall ITERATIONS REPEATS\n"
        "       glibc_robust_bench contended SECONDS pi|normal [apart]\n"
        "       glibc_robust_bench pingpong ROUND_TRIPS ROUNDS pi|normal");
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "uncontended") == 0)
        run_uncontended(parse_count(argv[2], "ITERATIONS"),
                        parse_count(argv[3], "REPEATS"));
    else if (argc == 4 && strcmp(argv[1], "syscall") == 0)
        run_syscalls(parse_count(argv[2], "ITERATIONS"),
                     parse_count(argv[3], "REPEATS"));
    else if (argc == 4 && strcmp(argv[1], "contended") == 0)
        run_contended(parse_seconds(argv[2]), argv[3], 0);
    else if (argc == 5 && strcmp(argv[1], "contended") == 0 && strcmp(argv[4], "apart") == 0)
        run_contended(parse_seconds(argv[2]), argv[3], 1);
    else if (argc == 5 && strcmp(argv[1], "pingpong") == 0)
        run_pingpong(parse_count(argv[2], "ROUND_TRIPS"),
                     parse_count(argv[3], "ROUNDS"), argv[4]);
    else
        usage();

    /* A failed write to stdout (e.g. a full disk) must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout))
        die("writing to stdout failed");
    return 0;
}
