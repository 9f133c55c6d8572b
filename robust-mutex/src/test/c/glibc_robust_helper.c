/*
 * Process-shared robust glibc pthread mutexes in a file, for SharedRobustListTest, loaded into the test JVM
 * through JNR-FFI. It shows what glibc does with a thread's robust list while the robust-mutex library uses the
 * same thread: glibc links the mutexes it locks into the list it registered for the thread
 * (set_robust_list at thread start), and the kernel releases only the mutexes on the list registered when the
 * thread dies.
 *
 * Mutex i lives at offset i * SLOT in the file; odd-numbered ones use PTHREAD_PRIO_INHERIT (FUTEX_LOCK_PI in
 * glibc), even-numbered ones do not (futex word and FUTEX_WAIT). Every function acts on the calling thread.
 *
 * Build: gcc -O2 -Wall -Werror -shared -fPIC -o libglibc_robust_helper.so glibc_robust_helper.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* One mutex per 64 bytes, so none shares a cache line with another. */
#define SLOT 64
_Static_assert(sizeof(pthread_mutex_t) <= SLOT, "pthread_mutex_t fits a slot");

static char *base;
static int count;

static pthread_mutex_t *mutex_at(int i) {
    return (pthread_mutex_t *) (base + (size_t) i * SLOT);
}

static int map_file(const char *path, int n, int create) {
    int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (create && ftruncate(fd, (off_t) n * SLOT) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!create) {
        off_t size = lseek(fd, 0, SEEK_END);
        if (size < SLOT) {
            close(fd);
            return -EINVAL;
        }
        n = (int) (size / SLOT);
    }
    void *p = mmap(NULL, (size_t) n * SLOT, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        return -e;
    }
    base = p;
    count = n;
    return n;
}

/* Creates (or truncates) the file with n mutexes and maps it in this process. Returns n or -errno. */
int helper_init(const char *path, int n) {
    if (n < 1) {
        return -EINVAL;
    }
    int r = map_file(path, n, 1);
    if (r < 0) {
        return r;
    }
    for (int i = 0; i < n; i++) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        if (i % 2 == 1) {
            pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
        }
        int e = pthread_mutex_init(mutex_at(i), &attr);
        pthread_mutexattr_destroy(&attr);
        if (e != 0) {
            return -e;
        }
    }
    return n;
}

/* Maps an existing file in this process. Returns its number of mutexes or -errno. */
int helper_map(const char *path) {
    return map_file(path, 0, 0);
}

/* Whether mutex i uses priority inheritance. */
int helper_is_pi(int i) {
    return i % 2 == 1;
}

/* pthread_mutex_lock: 0, or EOWNERDEAD (after making the mutex consistent again), or another error. */
int helper_lock(int i) {
    int e = pthread_mutex_lock(mutex_at(i));
    if (e == EOWNERDEAD) {
        pthread_mutex_consistent(mutex_at(i));
    }
    return e;
}

/* As helper_lock, giving up after millis: ETIMEDOUT when the mutex stayed held (by a live or a lost owner). */
int helper_lock_timed(int i, int millis) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += millis / 1000;
    deadline.tv_nsec += (long) (millis % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int e = pthread_mutex_timedlock(mutex_at(i), &deadline);
    if (e == EOWNERDEAD) {
        pthread_mutex_consistent(mutex_at(i));
    }
    return e;
}

/*
 * The lock word of mutex i (__data.__lock): the owner's TID, with FUTEX_OWNER_DIED when the kernel released it
 * for a dead owner and FUTEX_WAITERS. Read before locking a mutex whose owner may be dead: when the kernel did not
 * release it, glibc's lock of a PI robust mutex gets ESRCH from the kernel and aborts the process.
 */
int helper_word(int i) {
    return __atomic_load_n(&mutex_at(i)->__data.__lock, __ATOMIC_SEQ_CST);
}

/* pthread_mutex_unlock's result. */
int helper_unlock(int i) {
    return pthread_mutex_unlock(mutex_at(i));
}

/*
 * The address glibc links into the robust list for mutex i: its __data.__list.__next field. The kernel finds the
 * lock word from it through the head's futex_offset (glibc's is -32 on 64-bit).
 */
int64_t helper_entry(int i) {
    return (int64_t) (uintptr_t) ((char *) mutex_at(i) + offsetof(pthread_mutex_t, __data.__list.__next));
}

/* The offset of the lock word from a list entry, as glibc registers it in futex_offset. */
int64_t helper_futex_offset(void) {
    return (int64_t) offsetof(pthread_mutex_t, __data.__lock)
            - (int64_t) offsetof(pthread_mutex_t, __data.__list.__next);
}

/* The calling thread's registered robust list head (get_robust_list), or 0; its length in *len. */
int64_t helper_head(int64_t *len) {
    struct robust_list_head *head = NULL;
    size_t size = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &size) != 0) {
        return -errno;
    }
    *len = (int64_t) size;
    return (int64_t) (uintptr_t) head;
}

/*
 * Walks the list the kernel would walk if the calling thread died now: from its registered head, following next
 * (bit 0, the PI flag, masked) until back at the head. Stores up to max entry addresses in out and returns how
 * many there are; -1 when the list does not close within max entries, -2 when no head is registered.
 */
int helper_walk(int64_t *out, int max) {
    struct robust_list_head *head = NULL;
    size_t size = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &size) != 0 || head == NULL) {
        return -2;
    }
    uintptr_t start = (uintptr_t) &head->list;
    uintptr_t entry = (uintptr_t) head->list.next & ~(uintptr_t) 1;
    int n = 0;
    while (entry != start) {
        if (n == max || entry == 0) {
            return -1;
        }
        out[n++] = (int64_t) entry;
        entry = (uintptr_t) ((struct robust_list *) entry)->next & ~(uintptr_t) 1;
    }
    return n;
}

/*
 * glibc unlinks a mutex through its __data.__list.__prev, which must name the entry before it on the list (or
 * glibc's head). For every mutex of this file found on the registered list, checks that; returns the index of
 * the first whose __prev is wrong, or -1 when all are right (or none is on the list).
 */
int helper_prev_mismatch(void) {
    struct robust_list_head *head = NULL;
    size_t size = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &size) != 0 || head == NULL) {
        return -1;
    }
    uintptr_t start = (uintptr_t) &head->list;
    uintptr_t previous = start;
    uintptr_t entry = (uintptr_t) head->list.next & ~(uintptr_t) 1;
    for (int steps = 0; entry != start && entry != 0 && steps < 4096; steps++) {
        for (int i = 0; i < count; i++) {
            if ((uintptr_t) helper_entry(i) == entry
                    && ((uintptr_t) mutex_at(i)->__data.__list.__prev & ~(uintptr_t) 1) != previous) {
                return i;
            }
        }
        previous = entry;
        entry = (uintptr_t) ((struct robust_list *) entry)->next & ~(uintptr_t) 1;
    }
    return -1;
}
