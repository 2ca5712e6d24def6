/* Shared helpers for the hakmem fuzz targets: an input reader that never runs
 * dry (missing bytes read as 0, so every input is a valid program), content
 * patterns that tie each block to its own seed, and a fatal check that names
 * what failed.  Header-only so each target stays one file for both fuzzers. */
#ifndef HAK_FUZZ_COMMON_H
#define HAK_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem.h"

/* A failed check must be a crash for both fuzzers: print why, then abort()
 * (libFuzzer reports "deadly signal" and writes crash-*, AFL++ saves it). */
#define FZ_CHECK(cond, ...)                                                 \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s\n  ", __FILE__,    \
                    __LINE__, #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

typedef struct fz_in {
    const uint8_t *d;
    size_t n, i;
} fz_in;

static inline int fz_more(const fz_in *in) { return in->i < in->n; }

static inline uint8_t fz_u8(fz_in *in) { return in->i < in->n ? in->d[in->i++] : 0; }

static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(fz_in *in)
{
    uint64_t lo = fz_u32(in);
    return lo | (uint64_t)fz_u32(in) << 32;
}

static inline size_t fz_page(void)
{
    static size_t pg;
    if (!pg)
        pg = (size_t)sysconf(_SC_PAGESIZE);
    return pg;
}

/* Block contents: byte i of a block with seed s is tab[(s + i) % PATLEN], from
 * a fixed random table.  Fill and check go through memcpy/memcmp in runs of
 * up to PATLEN bytes, so the harness costs little next to the allocator (a
 * byte loop is slow under coverage instrumentation), and a shifted copy (a
 * realloc that moved the wrong range) still mismatches. */
#define PATLEN 65521u   /* prime: shifts by anything but a multiple of it differ */
static uint8_t fz_tab[2 * PATLEN];

static inline void fz_tab_init(void)
{
    static int done;
    if (done)
        return;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < PATLEN; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        fz_tab[i] = fz_tab[i + PATLEN] = (uint8_t)(x >> 24);
    }
    done = 1;
}

static inline uint8_t fz_pat(uint32_t seed, size_t i)
{
    return fz_tab[(seed % PATLEN + i % PATLEN) % PATLEN];
}

static inline void fz_fill_range(uint8_t *p, size_t from, size_t to, uint32_t seed)
{
    fz_tab_init();
    for (size_t i = from; i < to;) {
        size_t o = (seed % PATLEN + i % PATLEN) % PATLEN, k = to - i;
        if (k > PATLEN)
            k = PATLEN;
        memcpy(p + i, fz_tab + o, k);
        i += k;
    }
}

/* first index in [from, to) that differs from the pattern, or (size_t)-1 */
static inline size_t fz_check_range(const uint8_t *p, size_t from, size_t to, uint32_t seed)
{
    fz_tab_init();
    for (size_t i = from; i < to;) {
        size_t o = (seed % PATLEN + i % PATLEN) % PATLEN, k = to - i;
        if (k > PATLEN)
            k = PATLEN;
        if (memcmp(p + i, fz_tab + o, k) != 0) {
            for (size_t j = 0; j < k; j++)
                if (p[i + j] != fz_tab[o + j])
                    return i + j;
        }
        i += k;
    }
    return (size_t)-1;
}

/* Huge blocks are only patterned at both ends and every 64 KiB, so a
 * large block does not cost a full pass on every input. */
#define FZ_FULL_LIMIT ((size_t)64 * 1024)
#define FZ_EDGE       ((size_t)4096)

/* Calls fn on each patterned range of a block of n bytes, clipped to [0, m). */
#define FZ_RANGES(n, m, fn)                                                    \
    do {                                                                       \
        size_t n_ = (n), m_ = (m) < (n) ? (m) : (n);                           \
        if (n_ <= FZ_FULL_LIMIT) {                                             \
            fn(0, m_);                                                         \
            break;                                                             \
        }                                                                      \
        fn(0, FZ_EDGE < m_ ? FZ_EDGE : m_);                                    \
        for (size_t pg_ = 65536; pg_ + 16 <= n_ - FZ_EDGE; pg_ += 65536)      \
            if (pg_ + 16 <= m_)                                                \
                fn(pg_, pg_ + 16);                                             \
        if (n_ - FZ_EDGE < m_)                                                 \
            fn(n_ - FZ_EDGE, m_);                                              \
    } while (0)

static inline void fz_fill(uint8_t *p, size_t n, uint32_t seed)
{
#define FILL_(a, b) fz_fill_range(p, (a), (b), seed)
    FZ_RANGES(n, n, FILL_);
#undef FILL_
}

/* After a realloc: the first m bytes of p must hold what fz_fill(.., n, seed)
 * wrote there.  Returns the first bad index or (size_t)-1. */
static inline size_t fz_verify_prefix(const uint8_t *p, size_t n, uint32_t seed, size_t m)
{
    size_t bad = (size_t)-1;
#define CHECK_(a, b)                                                           \
    do {                                                                       \
        if (bad == (size_t)-1)                                                 \
            bad = fz_check_range(p, (a), (b), seed);                           \
    } while (0)
    FZ_RANGES(n, m, CHECK_);
#undef CHECK_
    return bad;
}

/* Index of the first byte that differs from the pattern, or (size_t)-1. */
static inline size_t fz_verify(const uint8_t *p, size_t n, uint32_t seed)
{
    return fz_verify_prefix(p, n, seed, n);
}

/* index of the first non-zero byte of p[0..n), or (size_t)-1 */
static inline size_t fz_nonzero(const uint8_t *p, size_t n)
{
    static const uint8_t zero[4096];
    for (size_t i = 0; i < n; i += sizeof zero) {
        size_t k = n - i < sizeof zero ? n - i : sizeof zero;
        if (memcmp(p + i, zero, k) != 0)
            for (size_t j = 0; j < k; j++)
                if (p[i + j])
                    return i + j;
    }
    return (size_t)-1;
}

/* Pages covering [lo, hi] (inclusive, may wrap around zero) as seen by the
 * kernel: returns 1 if all mapped, 0 if none, -1 if mixed.  mincore() needs a
 * page-aligned start and says ENOMEM for a hole (or a non-canonical address). */
static inline int fz_mapped_range(uintptr_t lo, uintptr_t hi)
{
    size_t pg = fz_page();
    uintptr_t a = lo & ~(uintptr_t)(pg - 1), last = hi & ~(uintptr_t)(pg - 1);
    int seen_map = 0, seen_hole = 0;
    for (;;) {
        unsigned char v;
        int r = mincore((void *)a, pg, &v);
        if (r == 0)
            seen_map = 1;
        else
            seen_hole = 1;   /* ENOMEM: hole; EINVAL cannot happen for an aligned start */
        if (a == last)
            break;
        a += pg;             /* wraps from the last page to page 0 on purpose */
    }
    return seen_map && seen_hole ? -1 : seen_map;
}

static inline int fz_is_pow2(size_t x) { return x && !(x & (x - 1)); }

static inline uint64_t fz_rejected(hak_free_status s)
{
    hak_stats st;
    hak_get_stats(&st);
    return st.rejected[s];
}

#endif
