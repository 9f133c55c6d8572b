/*
 * A C process that follows the PI robust-mutex protocol of docs kernel-abi.md section 5 on a mutex record
 * written by robust-mutex (word at offset 0 of a 64-byte record, robust list next at offset 32, so
 * futex_offset -32). Used by the interoperability tests to show that Java and C holders exclude each
 * other and that a C holder's death is reported to Java.
 *
 *   robust_peer increment FILE OFFSET COUNTER_OFFSET N   N increments of the u64 at COUNTER_OFFSET
 *   robust_peer hold FILE OFFSET                         take the mutex, print HELD, sleep until killed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WAITERS 0x80000000u
#define OWNER_DIED 0x40000000u
#define TID_MASK 0x3fffffffu

struct robust_list_head_ { void *next; long futex_offset; void *pending; };
static struct robust_list_head_ head;

static void die(const char *what) { perror(what); exit(2); }

static void lock_pi(uint32_t *word, uint32_t tid) {
    void *entry = (char *) word + 32;
    head.pending = (void *) ((uintptr_t) entry | 1);              /* pending before the CAS */
    __asm__ volatile("" ::: "memory");
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(word, &expected, tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        while (syscall(SYS_futex, word, FUTEX_LOCK_PI, 0, NULL, NULL, 0) != 0) {
            if (errno != EINTR && errno != EAGAIN) die("FUTEX_LOCK_PI");
        }
    }
    uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (now & OWNER_DIED) {
        /* The state field (offset 4) becomes INCONSISTENT, as the Java side does; then the bit goes. */
        __atomic_store_n((uint32_t *) ((char *) word + 4), 1, __ATOMIC_RELEASE);
        while (!__atomic_compare_exchange_n(word, &now, now & ~OWNER_DIED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        }
        printf("OWNER_DIED\n");
        fflush(stdout);
    }
    *(void **) entry = &head;                                       /* link: the list holds one entry */
    __asm__ volatile("" ::: "memory");
    head.next = (void *) ((uintptr_t) entry | 1);
    __asm__ volatile("" ::: "memory");
    head.pending = NULL;
}

static void unlock_pi(uint32_t *word, uint32_t tid) {
    void *entry = (char *) word + 32;
    head.pending = (void *) ((uintptr_t) entry | 1);
    __asm__ volatile("" ::: "memory");
    head.next = &head;                                              /* unlink */
    __asm__ volatile("" ::: "memory");
    uint32_t expected = tid;
    if (!__atomic_compare_exchange_n(word, &expected, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
        while (syscall(SYS_futex, word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) != 0) {
            if (errno != EINTR && errno != EAGAIN) die("FUTEX_UNLOCK_PI");
        }
    }
    __asm__ volatile("" ::: "memory");
    head.pending = NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: robust_peer increment FILE OFFSET COUNTER_OFFSET N | hold FILE OFFSET\n");
        return 2;
    }
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) die("open");
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat");
    char *base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) die("mmap");
    uint32_t *word = (uint32_t *) (base + atol(argv[3]));
    uint32_t tid = (uint32_t) syscall(SYS_gettid);

    head.next = &head;
    head.futex_offset = -32;
    head.pending = NULL;
    if (syscall(SYS_set_robust_list, &head, sizeof(head)) != 0) die("set_robust_list");

    if (strcmp(argv[1], "increment") == 0 && argc == 6) {
        uint64_t *counter = (uint64_t *) (base + atol(argv[4]));
        long n = atol(argv[5]);
        printf("READY\n");
        fflush(stdout);
        for (long i = 0; i < n; i++) {
            lock_pi(word, tid);
            uint64_t value = *(volatile uint64_t *) counter;
            *(volatile uint64_t *) counter = value + 1;
            unlock_pi(word, tid);
        }
        printf("DONE\n");
        return 0;
    }
    if (strcmp(argv[1], "hold") == 0) {
        lock_pi(word, tid);
        printf("HELD\n");
        fflush(stdout);
        for (;;) pause();
    }
    fprintf(stderr, "bad arguments\n");
    return 2;
}
