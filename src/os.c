/* os.c: mmap/munmap/mremap/madvise/mincore/getrandom, errno preserved.
 * The contracts in os.h and proofs/README.md are what the proofs assume. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "os.h"
#include "layout.h"

static uintptr_t align_up(uintptr_t x, size_t a) { return (x + a - 1) / a * a; }

void *os_map(size_t len, size_t align)
{
    int e = errno;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (align <= HAK_PAGE) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
        errno = e;
        return p == MAP_FAILED ? NULL : p;
    }
    /* over-map, then trim both ends to the alignment */
    size_t over = len + align;
    if (over < len) { errno = e; return NULL; }
    char *raw = mmap(NULL, over, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (raw == MAP_FAILED) { errno = e; return NULL; }
    char *p = (char *)align_up((uintptr_t)raw, align);
    if (p > raw) munmap(raw, (size_t)(p - raw));
    size_t tail = (size_t)((raw + over) - (p + len));
    if (tail) munmap(p + len, tail);
    errno = e;
    return p;
}

void os_unmap(void *p, size_t len)
{
    int e = errno;
    munmap(p, len);
    errno = e;
}

void os_purge(void *p, size_t len)
{
    int e = errno;
    madvise(p, len, MADV_DONTNEED);
    errno = e;
}

void *os_remap(void *p, size_t oldlen, size_t newlen, size_t align)
{
    int e = errno;
    /* Try in place first: keeps the address, hence the alignment. */
    void *q = mremap(p, oldlen, newlen, 0);
    if (q != MAP_FAILED) { errno = e; return q; }
    /* Reserve an aligned target, then move the pages there without copying. */
    size_t over = newlen + align;
    char *raw = mmap(NULL, over, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) { errno = e; return NULL; }
    char *t = (char *)align_up((uintptr_t)raw, align);
    q = mremap(p, oldlen, newlen, MREMAP_MAYMOVE | MREMAP_FIXED, t);
    if (q == MAP_FAILED) { munmap(raw, over); errno = e; return NULL; }
    /* the target range was replaced; drop the reserve around it */
    if (t > raw) munmap(raw, (size_t)(t - raw));
    size_t tail = (size_t)((raw + over) - (t + newlen));
    if (tail) munmap(t + newlen, tail);
    errno = e;
    return q;
}

int os_page_mapped(uintptr_t page)
{
    int e = errno;
    unsigned char v;
    /* mincore rejects unaligned addresses with EINVAL (DESIGN.md 1): the
     * caller passes page-aligned ones; non-canonical ones answer ENOMEM. */
    int r = (int)syscall(SYS_mincore, (void *)page, (size_t)HAK_PAGE, &v);
    errno = e;
    return r == 0;
}

void os_random(void *buf, size_t n)
{
    int e = errno;
    unsigned char *b = buf;
    size_t got = 0;
    while (got < n) {
        long r = syscall(SYS_getrandom, b + got, n - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < n) {
        /* no getrandom (old kernel, seccomp): mix time and addresses */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts ^ (uintptr_t)buf;
        for (; got < n; got++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            b[got] = (unsigned char)x;
        }
    }
    errno = e;
}

void os_write(int fd, const char *buf, size_t n)
{
    int e = errno;
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        buf += w;
        n -= (size_t)w;
    }
    errno = e;
}

_Noreturn void os_abort(void)
{
    /* abort() may flush stdio (which could allocate on a corrupted heap):
     * raise the signal directly, then make sure we die. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGABRT);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGABRT);
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
    _exit(127);
}

size_t os_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

uint32_t os_now_ms(void)
{
    struct timespec ts;
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    errno = e;
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}
