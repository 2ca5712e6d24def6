/* os.c: mmap/munmap/mremap/mprotect/madvise/mincore/getrandom/clocks (the vDSO), errno preserved.
 * The contracts in os.h and proofs/README.md are what the proofs assume. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <sys/auxv.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "os.h"
#include "layout.h"

static void os_clock(clockid_t id, struct timespec *ts);

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

void *os_reserve(size_t len, size_t align, size_t phase, int rw)
{
    int e = errno;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    size_t over = len + align;
    if (over < len) { errno = e; return NULL; }
    char *raw = mmap(NULL, over, rw ? PROT_READ | PROT_WRITE : PROT_NONE, flags, -1, 0);
    if (raw == MAP_FAILED) { errno = e; return NULL; }
    char *p = (char *)align_up((uintptr_t)raw - phase, align) + phase;
    if (p < raw) p += align;
    if (p > raw) munmap(raw, (size_t)(p - raw));
    size_t tail = (size_t)((raw + over) - (p + len));
    if (tail) munmap(p + len, tail);
    errno = e;
    return p;
}

int os_protect(void *p, size_t len, int rw)
{
    int e = errno;
    int r = mprotect(p, len, rw ? PROT_READ | PROT_WRITE : PROT_NONE);
    errno = e;
    return r;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4      /* Linux 5.7 */
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000   /* Linux 4.17; older kernels take it as a hint */
#endif

int os_move(void *src, size_t len, void *dst, int keep)
{
    int e = errno;
    int r = -1;
    if (keep)
        r = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dst) == dst ? 1 : -1;
    else
        r = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst ? 0 : -1;
    errno = e;
    return r;
}

int os_hole(void *p, size_t len)
{
    int e = errno;
    void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    errno = e;
    return q == p ? 0 : -1;
}

int os_hole_at(void *p, size_t len)
{
    int e = errno;
    void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (q != MAP_FAILED && q != p) munmap(q, len);   /* taken as a hint elsewhere */
    errno = e;
    return q == p ? 0 : -1;
}

int os_grow(void *p, size_t oldlen, size_t newlen)
{
    int e = errno;
    void *q = mremap(p, oldlen, newlen, 0);
    errno = e;
    return q == p ? 0 : -1;
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
        os_clock(CLOCK_MONOTONIC, &ts);
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

/* The clock comes from the kernel's vDSO, found here by its symbol, not
 * through libc's clock_gettime: that wrapper and sysconf sit in two 64 KiB
 * stretches of libc's text that nothing else of a small program touches, and
 * the kernel maps a whole such stretch (fault-around) on the first call, so
 * every process paid 64 KiB of resident memory for a clock read (issue 10's
 * pair rows).  getauxval and syscall lie next to mmap in libc, which every
 * process maps anyway.  Without a vDSO (Valgrind hides it) the clock is the
 * system call. */
typedef int (*vdso_clock_fn)(clockid_t, struct timespec *);

/* strcmp's equality, in place: libc's string functions are chosen at load
 * time and live far from mmap (the same reason) */
static int same_str(const char *a, const char *b)
{
    while (*a != 0 && *a == *b) a++, b++;
    return *a == *b;
}

/* the address of symbol `name` of the vDSO image at base, or NULL */
static void *vdso_sym(uintptr_t base, const char *name)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
    if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
        eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3) return NULL;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
    uintptr_t bias = 0;
    const ElfW(Dyn) *dyn = NULL;
    int have_load = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !have_load) { bias = base + ph[i].p_offset - ph[i].p_vaddr; have_load = 1; }
        if (ph[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(base + ph[i].p_offset);
    }
    if (!have_load || dyn == NULL) return NULL;
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    const uint32_t *hash = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB) sym = (const ElfW(Sym) *)(bias + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB) str = (const char *)(bias + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_HASH) hash = (const uint32_t *)(bias + dyn->d_un.d_ptr);
    }
    if (sym == NULL || str == NULL || hash == NULL) return NULL;   /* every vDSO has a DT_HASH */
    for (uint32_t i = 0; i < hash[1]; i++) {   /* hash[1]: the number of symbols */
        if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || sym[i].st_shndx == SHN_UNDEF) continue;
        if (same_str(str + sym[i].st_name, name)) return (void *)(bias + sym[i].st_value);
    }
    return NULL;
}

static vdso_clock_fn vdso_clock;   /* found once; NULL: the system call */
static int vdso_looked;

static void os_clock(clockid_t id, struct timespec *ts)
{
    if (!__atomic_load_n(&vdso_looked, __ATOMIC_ACQUIRE)) {
        /* two racing first calls find the same address: no lock needed */
        uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
        vdso_clock_fn f = NULL;
        if (base != 0) {
            f = (vdso_clock_fn)vdso_sym(base, "__vdso_clock_gettime");      /* x86-64 */
            if (f == NULL) f = (vdso_clock_fn)vdso_sym(base, "__kernel_clock_gettime");   /* arm64 */
        }
        vdso_clock = f;
        __atomic_store_n(&vdso_looked, 1, __ATOMIC_RELEASE);
    }
    if (vdso_clock == NULL || vdso_clock(id, ts) != 0)
        if (syscall(SYS_clock_gettime, id, ts) != 0) ts->tv_sec = ts->tv_nsec = 0;
}

uint64_t os_now_ms(void)
{
    struct timespec ts;
    int e = errno;   /* every os_ function preserves errno */
    os_clock(CLOCK_MONOTONIC_COARSE, &ts);
    errno = e;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t os_page_size(void)
{
    return (size_t)getauxval(AT_PAGESZ);
}
