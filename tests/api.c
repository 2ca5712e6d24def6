/* api.c: API conformance of the malloc family and every hak_* function.
 *
 * Built twice (tests.mk): `api` links libhakmem.a, so the plain names resolve to
 * hakmem at link time; `api_dyn` links nothing of hakmem and runs under
 * LD_PRELOAD=libhakmem.so, reaching hak_* through dlsym.  The same generic
 * checks run over two "families": the glibc names and the hak_* names.
 * With -DHAK_CORE_ONLY (linked with libhakmem-core.a, for ASan/Valgrind
 * builds that keep the system malloc) only the hak_* family runs.
 * Reference behaviour is glibc 2.36's (malloc(3), posix_memalign(3)). */
#include <malloc.h>
#include <unistd.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "testlib.h"
#include <valgrind/memcheck.h>

/* The leak tests below peek at bytes of fresh blocks that the program never
 * wrote, looking for allocator metadata there.  Under the tools a fresh
 * block is exactly its requested size and its bytes are undefined, so they
 * peek at no more than the usable size and mark their own copy defined
 * (a no-op natively; the block itself is left as it is). */
#define T_PEEKED(copy, n) VALGRIND_MAKE_MEM_DEFINED((copy), (n))

/* C23 names; glibc 2.36 neither declares nor defines them, so the references
 * are weak: under LD_PRELOAD they bind to libhakmem.so at run time, and main()
 * fails the test when they are missing. */
__attribute__((weak)) void free_sized(void *p, size_t size);
__attribute__((weak)) void free_aligned_sized(void *p, size_t alignment, size_t size);

typedef struct family {
    const char *name;
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    size_t (*usable)(const void *);
    void (*free_sized)(void *, size_t);
    void (*free_aligned_sized)(void *, size_t, size_t);
} family;

static size_t plain_usable(const void *p) { return malloc_usable_size((void *)p); }

/* Sizes around every tier boundary plus a few ordinary ones. */
static const size_t edge_sizes[] = {
    1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129,
    255, 256, 257, 511, 512, 513, 1000, 1008, 1015, 1016, 1023, 1024, 1025, 1040,
    2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537,
    131072, 262128, 262143, 262144, 262145, 262160, 300000, 524288, 1048576, 1048577,
    2097152 - 16, 2097152, 2097152 + 1, 4194304, 16777216 + 3,
};
#define NEDGE (sizeof edge_sizes / sizeof edge_sizes[0])

static const char *tier(size_t n)
{
    return n <= HAKMEM_TINY_MAX ? "tiny" : n <= HAKMEM_MID_MAX ? "mid" : "huge";
}

/* ---------------------------------------------------------------- malloc */
static void test_malloc_sizes(const family *f)
{
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NEDGE; k++) {
        size_t n = edge_sizes[k];
        unsigned char *p = f->malloc(n);
        CHECK_LOOP(p != NULL, "%s malloc(%zu) = NULL", f->name, n);
        if (!p)
            continue;
        size_t want = n > 8 ? 16 : 8;
        CHECK_LOOP((uintptr_t)p % want == 0, "%s malloc(%zu) = %p not %zu-aligned (%s)",
                   f->name, n, (void *)p, want, tier(n));
        size_t u = f->usable(p);
        CHECK_LOOP(u >= n, "%s usable(malloc(%zu)) = %zu", f->name, n, u);
        /* the whole usable size must be ours to write */
        t_fill(p, u, (uintptr_t)p);
        CHECK_LOOP(t_verify(p, u, (uintptr_t)p) == (size_t)-1, "%s pattern (%zu)", f->name, n);
        f->free(p);
    }
    CHECK_LOOP_END("malloc edge sizes: non-NULL, aligned, usable >= n, writable");

    /* every size 1..3000 (all Tiny classes and the first Mid ones), all live at once */
    enum { N = 3000 };
    static unsigned char *ps[N + 1];
    CHECK_LOOP_BEGIN();
    for (size_t n = 1; n <= N; n++) {
        ps[n] = f->malloc(n);
        CHECK_LOOP(ps[n] != NULL, "%s malloc(%zu)", f->name, n);
        if (!ps[n])
            continue;
        CHECK_LOOP(n <= 8 || (uintptr_t)ps[n] % 16 == 0, "%s malloc(%zu) = %p misaligned",
                   f->name, n, (void *)ps[n]);
        CHECK_LOOP(f->usable(ps[n]) >= n, "%s usable %zu < %zu", f->name, f->usable(ps[n]), n);
        t_fill_all(ps[n], n, n);
    }
    for (size_t n = 1; n <= N; n++) {
        if (!ps[n])
            continue;
        CHECK_LOOP(t_verify_all(ps[n], n, n) == (size_t)-1,
                   "%s block of %zu overwritten at %zu", f->name, n, t_verify_all(ps[n], n, n));
        f->free(ps[n]);
    }
    CHECK_LOOP_END("malloc 1..3000 all live: aligned, usable, no overlap");

    /* malloc(0): a unique, freeable pointer (glibc returns a minimum chunk) */
    void *z1 = f->malloc(0), *z2 = f->malloc(0);
    CHECK(z1 != NULL && z2 != NULL && z1 != z2, "%s malloc(0) = %p, %p", f->name, z1, z2);
    f->free(z1);
    f->free(z2);
}

/* ---------------------------------------------------------------- errno */
static void test_enomem(const family *f)
{
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, SIZE_MAX / 2 + 1,
                                   (size_t)PTRDIFF_MAX + 1, (size_t)1 << 62, (size_t)1 << 48 };
    for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        size_t n = huge[k];
        errno = 0;
        void *p = f->malloc(n);
        CHECK(p == NULL && errno == ENOMEM, "%s malloc(%#zx) = %p errno %d", f->name, n, p, errno);
        errno = 0;
        p = f->aligned_alloc(64, n);
        CHECK(p == NULL && errno == ENOMEM, "%s aligned_alloc(64, %#zx) = %p errno %d", f->name, n, p, errno);
        void *out = (void *)0x1234;
        int rc = f->posix_memalign(&out, 64, n);
        CHECK(rc == ENOMEM && out == (void *)0x1234, "%s posix_memalign(64, %#zx) = %d out %p",
              f->name, n, rc, out);
    }
    /* calloc / reallocarray: the product overflows, or is merely too large */
    static const size_t pairs[][2] = { { SIZE_MAX / 2 + 1, 2 }, { (size_t)1 << 32, (size_t)1 << 32 },
                                       { SIZE_MAX, SIZE_MAX }, { 3, SIZE_MAX / 3 + 1 },
                                       { SIZE_MAX / 2, 1 }, { 1, SIZE_MAX } };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        size_t a = pairs[k][0], b = pairs[k][1];
        errno = 0;
        void *p = f->calloc(a, b);
        CHECK(p == NULL && errno == ENOMEM, "%s calloc(%#zx, %#zx) = %p errno %d", f->name, a, b, p, errno);
        errno = 0;
        p = f->reallocarray(NULL, a, b);
        CHECK(p == NULL && errno == ENOMEM, "%s reallocarray(NULL, %#zx, %#zx) = %p errno %d",
              f->name, a, b, p, errno);
        /* failing reallocarray/realloc leave the old block untouched and live */
        unsigned char *old = f->malloc(100);
        t_fill_all(old, 100, 77);
        errno = 0;
        p = f->reallocarray(old, a, b);
        CHECK(p == NULL && errno == ENOMEM, "%s reallocarray(old, %#zx, %#zx) = %p errno %d",
              f->name, a, b, p, errno);
        CHECK(t_verify_all(old, 100, 77) == (size_t)-1, "%s old block changed by failed reallocarray", f->name);
        f->free(old);
    }
    unsigned char *old = f->malloc(5000);
    t_fill_all(old, 5000, 5);
    errno = 0;
    void *p = f->realloc(old, SIZE_MAX);
    CHECK(p == NULL && errno == ENOMEM, "%s realloc(p, SIZE_MAX) = %p errno %d", f->name, p, errno);
    errno = 0;
    p = f->realloc(old, SIZE_MAX / 2);
    CHECK(p == NULL && errno == ENOMEM, "%s realloc(p, SIZE_MAX/2) = %p errno %d", f->name, p, errno);
    CHECK(t_verify_all(old, 5000, 5) == (size_t)-1, "%s failed realloc changed the block", f->name);
    f->free(old);
    /* a non-overflowing calloc/reallocarray product still works */
    unsigned char *q = f->calloc(1000, 3);
    CHECK(q && f->usable(q) >= 3000, "%s calloc(1000, 3)", f->name);
    q = f->reallocarray(q, 2000, 3);
    CHECK(q && f->usable(q) >= 6000, "%s reallocarray(q, 2000, 3)", f->name);
    f->free(q);
}

static void test_posix_memalign_einval(const family *f)
{
    /* not a power of two, or smaller than sizeof(void *) */
    static const size_t bad[] = { 0, 1, 2, 4, 3, 12, 24, 48, 96, 4097, 65535, (size_t)3 << 20 };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        void *out = (void *)0x5678;
        int saved = errno = 4321;
        int rc = f->posix_memalign(&out, bad[k], 64);
        CHECK(rc == EINVAL && out == (void *)0x5678, "%s posix_memalign(align %zu) = %d out %p",
              f->name, bad[k], rc, out);
        CHECK(errno == saved, "%s posix_memalign(align %zu) changed errno to %d", f->name, bad[k], errno);
    }
    void *out = NULL;
    int rc = f->posix_memalign(&out, sizeof(void *), 10);
    CHECK(rc == 0 && out && (uintptr_t)out % sizeof(void *) == 0, "%s posix_memalign(8, 10) = %d", f->name, rc);
    f->free(out);
}

/* ---------------------------------------------------------------- alignment */
static void test_alignment(const family *f)
{
    static const size_t sizes[] = { 1, 8, 100, 1024, 1025, 5000, 262144, 300000 };
    CHECK_LOOP_BEGIN();
    for (size_t a = 16; a <= ((size_t)4 << 20); a <<= 1) {
        size_t extra[] = { a - 1, a, a + 1 };
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] + 3; k++) {
            size_t n = k < sizeof sizes / sizeof sizes[0] ? sizes[k] : extra[k - sizeof sizes / sizeof sizes[0]];
            for (int fn = 0; fn < 3; fn++) {
                void *p = NULL;
                const char *what = fn == 0 ? "posix_memalign" : fn == 1 ? "aligned_alloc" : "memalign";
                if (fn == 0) {
                    int rc = f->posix_memalign(&p, a, n);
                    CHECK_LOOP(rc == 0, "%s %s(%zu, %zu) = %d", f->name, what, a, n, rc);
                } else if (fn == 1) {
                    p = f->aligned_alloc(a, n);
                } else {
                    p = f->memalign(a, n);
                }
                CHECK_LOOP(p != NULL, "%s %s(%zu, %zu) = NULL", f->name, what, a, n);
                if (!p)
                    continue;
                CHECK_LOOP((uintptr_t)p % a == 0, "%s %s(%zu, %zu) = %p misaligned", f->name, what, a, n, p);
                size_t u = f->usable(p);
                CHECK_LOOP(u >= n, "%s usable(%s(%zu, %zu)) = %zu", f->name, what, a, n, u);
                t_fill(p, n, (uintptr_t)p);
                CHECK_LOOP(t_verify(p, n, (uintptr_t)p) == (size_t)-1, "%s pattern", f->name);
                f->free(p);
            }
        }
    }
    CHECK_LOOP_END("power-of-two alignments 16..4 MiB in every tier");

    /* small alignments are accepted by aligned_alloc and memalign */
    for (size_t a = 1; a <= 8; a <<= 1) {
        void *p = f->aligned_alloc(a, 64), *q = f->memalign(a, 24);
        CHECK(p && q && (uintptr_t)p % a == 0 && (uintptr_t)q % a == 0, "%s alignment %zu", f->name, a);
        f->free(p);
        f->free(q);
    }

    /* realloc of an over-aligned block keeps its content, in every tier */
    static const size_t ra[][3] = { { 256, 100, 5000 }, { 4096, 3000, 100 }, { 65536, 200, 400000 },
                                    { 1 << 20, 300000, 50 }, { 64, 1000, 1024 } };
    for (int k = 0; k < 5; k++) {
        unsigned char *p = f->aligned_alloc(ra[k][0], ra[k][1]);
        CHECK(p && (uintptr_t)p % ra[k][0] == 0, "%s aligned_alloc(%zu, %zu)", f->name, ra[k][0], ra[k][1]);
        if (!p)
            continue;
        t_fill_all(p, ra[k][1], 123);
        unsigned char *q = f->realloc(p, ra[k][2]);
        size_t keep = ra[k][1] < ra[k][2] ? ra[k][1] : ra[k][2];
        CHECK(q && t_verify_all(q, keep, 123) == (size_t)-1 && f->usable(q) >= ra[k][2],
              "%s realloc(aligned_alloc(%zu, %zu), %zu) lost content", f->name, ra[k][0], ra[k][1], ra[k][2]);
        f->free(q);
    }

    /* aligned blocks mixed with plain ones stay live and distinct */
    void *blocks[64];
    for (int i = 0; i < 64; i++) {
        size_t a = (size_t)16 << (i % 9), n = 16 + (size_t)i * 37;
        blocks[i] = f->aligned_alloc(a, n);
        t_fill_all(blocks[i], n, (uint64_t)i);
    }
    int bad = 0;
    for (int i = 0; i < 64; i++) {
        bad += t_verify_all(blocks[i], 16 + (size_t)i * 37, (uint64_t)i) != (size_t)-1;
        f->free(blocks[i]);
    }
    CHECK(bad == 0, "%s %d aligned blocks overwritten", f->name, bad);
}

/* ---------------------------------------------------------------- calloc */
static void test_calloc_dirty(const family *f)
{
    static const size_t sizes[] = { 1, 16, 24, 100, 512, 1000, 1024, 1025, 2000, 50000,
                                    262144, 262145, 1048577, 1 << 20, 3 << 20 };
    enum { B = 32 };
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        int batch = n > HAKMEM_MID_MAX ? 2 : B;
        for (int round = 0; round < 3; round++) {
            void *p[B];
            for (int i = 0; i < batch; i++) {
                p[i] = f->malloc(n);
                memset(p[i], 0xA5, f->usable(p[i]));
            }
            for (int i = batch - 1; i >= 0; i--)
                f->free(p[i]);
            for (int i = 0; i < batch; i++) {
                /* alternate the factor order: calloc(n,1) and calloc(1,n) */
                unsigned char *q = (i & 1) ? f->calloc(n, 1) : f->calloc(1, n);
                CHECK_LOOP(q != NULL, "%s calloc(%zu)", f->name, n);
                if (!q)
                    continue;
                size_t nz = 0;
                for (size_t j = 0; j < n; j++)
                    nz += q[j] != 0;
                CHECK_LOOP(nz == 0, "%s calloc(%zu) after dirty free: %zu non-zero bytes", f->name, n, nz);
                p[i] = q;
            }
            for (int i = 0; i < batch; i++)
                f->free(p[i]);
        }
    }
    CHECK_LOOP_END("calloc zeroes reused dirty blocks in every tier");

    void *z = f->calloc(0, 16), *z2 = f->calloc(16, 0);
    CHECK(z != NULL && z2 != NULL && z != z2, "%s calloc with a zero factor = %p %p", f->name, z, z2);
    f->free(z);
    f->free(z2);
}

/* ---------------------------------------------------------------- realloc */
static void test_realloc(const family *f)
{
    /* tiny -> mid -> huge -> mid -> tiny and back, content preserved at each step */
    static const size_t path[] = { 10, 100, 1024, 1025, 3000, 70000, 262144, 262145, 1048577, 1 << 20,
                                   5 << 20, 300000, 100000, 2000, 1000, 500, 24, 1, 8 << 20, 17, 0 };
    unsigned char *p = f->realloc(NULL, path[0]);
    CHECK(p != NULL, "%s realloc(NULL, %zu)", f->name, path[0]);
    size_t cur = path[0];
    t_fill_all(p, cur, 0xC0FFEE);
    for (size_t k = 1; path[k]; k++) {
        size_t n = path[k];
        unsigned char *q = f->realloc(p, n);
        CHECK(q != NULL, "%s realloc(%zu -> %zu)", f->name, cur, n);
        if (!q)
            return;
        size_t keep = cur < n ? cur : n;
        size_t bad = t_verify_all(q, keep, 0xC0FFEE);
        CHECK(bad == (size_t)-1, "%s realloc %s(%zu) -> %s(%zu): byte %zu lost", f->name, tier(cur), cur,
              tier(n), n, bad);
        CHECK(n <= 8 || (uintptr_t)q % 16 == 0, "%s realloc to %zu misaligned %p", f->name, n, (void *)q);
        CHECK(f->usable(q) >= n, "%s usable after realloc to %zu", f->name, n);
        t_fill_all(q, n, 0xC0FFEE);
        p = q;
        cur = n;
    }
    f->free(p);

    /* grow and shrink in small steps (in-place paths), interleaved with other blocks */
    p = NULL;
    cur = 0;
    void *other[40];
    int no = 0;
    t_rng r;
    t_seed(&r, 42);
    CHECK_LOOP_BEGIN();
    for (int i = 0; i < 400; i++) {
        size_t n = i < 200 ? (size_t)i * 997 + 1 : (size_t)(400 - i) * 997 + 1;
        unsigned char *q = f->realloc(p, n);
        CHECK_LOOP(q != NULL, "%s realloc step %d", f->name, i);
        if (!q)
            break;
        size_t keep = cur < n ? cur : n;
        CHECK_LOOP(t_verify_all(q, keep, 99) == (size_t)-1, "%s step %d: %zu -> %zu lost bytes", f->name, i, cur, n);
        t_fill_all(q, n, 99);
        p = q;
        cur = n;
        if (no < 40 && (t_next(&r) & 3) == 0)
            other[no++] = f->malloc(t_range(&r, 1, 5000));
    }
    CHECK_LOOP_END("realloc in steps of 997 up to 200 KB and down");
    f->free(p);
    for (int i = 0; i < no; i++)
        f->free(other[i]);

    /* realloc(NULL, n) is malloc(n); realloc(NULL, 0) is malloc(0) */
    void *a = f->realloc(NULL, 0), *b = f->realloc(NULL, 0);
    CHECK(a && b && a != b, "%s realloc(NULL, 0) = %p %p (glibc: unique pointers)", f->name, a, b);
    f->free(a);
    f->free(b);
    /* realloc(p, 0) frees p and returns NULL without touching errno (glibc) */
    static const size_t zs[] = { 16, 2000, 1 << 20 };
    for (int k = 0; k < 3; k++) {
        void *x = f->malloc(zs[k]);
        errno = 777;
        void *y = f->realloc(x, 0);
        CHECK(y == NULL && errno == 777, "%s realloc(%s block, 0) = %p errno %d (glibc frees, returns NULL)",
              f->name, tier(zs[k]), y, errno);
        if (y)
            f->free(y);
    }
    /* realloc to the same size keeps the content */
    unsigned char *s = f->malloc(300);
    t_fill_all(s, 300, 3);
    s = f->realloc(s, 300);
    CHECK(s && t_verify_all(s, 300, 3) == (size_t)-1, "%s realloc to the same size", f->name);
    f->free(s);
}

/* ---------------------------------------------------------------- errno by free */
static void test_errno_preserved(const family *f, bool strict)
{
    static const size_t sizes[] = { 0, 16, 1000, 5000, 262144, 1 << 20 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        void *p = f->malloc(sizes[k]);
        errno = 31337;
        f->free(p);
        CHECK(errno == 31337, "%s free(%s block of %zu) changed errno to %d", f->name, tier(sizes[k]),
              sizes[k], errno);
        if (strict) {
            /* hakmem.h: every entry point preserves errno unless it fails */
            errno = 4242;
            p = f->malloc(sizes[k]);
            void *q = f->calloc(1, sizes[k]);
            q = f->realloc(q, sizes[k] * 2 + 1);
            CHECK(errno == 4242, "%s successful malloc/calloc/realloc(%zu) changed errno to %d", f->name,
                  sizes[k], errno);
            f->free(p);
            f->free(q);
        }
    }
    errno = 99;
    f->free(NULL);
    CHECK(errno == 99, "%s free(NULL) changed errno", f->name);
}

/* ---------------------------------------------------------------- C23 frees */
static void test_free_sized(const family *f)
{
    static const size_t sizes[] = { 1, 16, 1000, 1025, 100000, 262144, 1 << 20 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        void *p = f->malloc(sizes[k]);
        f->free_sized(p, sizes[k]);
        CHECK(HK(hak_classify_ptr)(p) != HAK_FREE_OK, "%s free_sized(%zu) left the block live", f->name, sizes[k]);
        size_t a = (size_t)64 << (k * 2);
        p = f->aligned_alloc(a, sizes[k]);
        CHECK(p && (uintptr_t)p % a == 0, "%s aligned_alloc(%zu, %zu)", f->name, a, sizes[k]);
        f->free_aligned_sized(p, a, sizes[k]);
        CHECK(HK(hak_classify_ptr)(p) != HAK_FREE_OK, "%s free_aligned_sized(%zu, %zu) left the block live",
              f->name, a, sizes[k]);
    }
    f->free_sized(NULL, 0);
    f->free_aligned_sized(NULL, 64, 0);
}

/* ---------------------------------------------------------------- no link shown */
/* A block handed out never shows its free-list link (issue 12).  A free slot's
 * first word is next ^ key ^ slot; left in place, one read of a fresh block
 * gives the key: the word xor the block's address and its successor's is the
 * same for every block of the slab.  Each way a slot comes back to malloc is
 * tried: carved fresh, reused after a local free, reused after a free by
 * another thread (the remote list, spliced onto the local one). */
enum { LEAK_B = 48 };

typedef struct leak_job {
    const family *f;
    void **p;
} leak_job;

static void *leak_free_remote(void *arg)
{
    leak_job *j = arg;
    for (int i = 0; i < LEAK_B; i++)
        j->f->free(j->p[i]);
    return NULL;
}

/* first words of n fresh blocks of size sz into w (before anything writes them) */
static void leak_take(const family *f, size_t sz, void **p, uint64_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = f->malloc(sz);
        w[i] = 0;
        size_t u = p[i] ? f->usable(p[i]) : 0;
        if (p[i])
            memcpy(&w[i], p[i], u < sizeof w[i] ? u : sizeof w[i]);
        T_PEEKED(&w[i], sizeof w[i]);
    }
}

/* the words must all be 0, and must not give a constant key */
static void leak_judge(const family *f, size_t sz, const char *how, void **p, const uint64_t *w, int n)
{
    int nonzero = 0, same_key = 0, nulls = 0;
    for (int i = 0; i < n; i++) {
        nulls += p[i] == NULL;
        nonzero += w[i] != 0;
    }
    /* the key a link would give away, taking the neighbour above as the
     * successor (fresh slots are linked in address order): count the pairs
     * whose key equals the first pair's */
    uintptr_t k0 = 0;
    int have = 0;
    for (int i = 0; i + 1 < n; i++) {
        if (!p[i] || !p[i + 1] || w[i] == 0) continue;
        uintptr_t k = w[i] ^ (uintptr_t)p[i] ^ (uintptr_t)p[i + 1];
        if (!have) { k0 = k; have = 1; }
        else same_key += k == k0;
    }
    CHECK(nulls == 0, "%s malloc(%zu) %s: %d NULL", f->name, sz, how, nulls);
    CHECK(nonzero == 0, "%s malloc(%zu) %s: %d of %d fresh blocks show a non-zero first word",
          f->name, sz, how, nonzero, n);
    CHECK(same_key == 0, "%s malloc(%zu) %s: %d neighbour pairs give the same key %#lx",
          f->name, sz, how, same_key, (unsigned long)k0);
}

static void test_no_link_leak(const family *f)
{
    static const size_t sizes[] = { 1, 16, 24, 100, 512, 1000, 1024, 1025, 2000, 20000, 100000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t sz = sizes[k];
        void *p[LEAK_B];
        uint64_t w[LEAK_B];
        leak_take(f, sz, p, w, LEAK_B);
        leak_judge(f, sz, "fresh", p, w, LEAK_B);
        for (int i = 0; i < LEAK_B; i++)
            if (p[i]) memset(p[i], 0x5A, sz);
        /* free in address order: the list then hands them back in reverse */
        for (int i = 0; i < LEAK_B; i++)
            f->free(p[i]);
        leak_take(f, sz, p, w, LEAK_B);
        leak_judge(f, sz, "after a local free", p, w, LEAK_B);
        for (int i = 0; i < LEAK_B; i++)
            if (p[i]) memset(p[i], 0x5A, sz);
        leak_job j = { f, p };
        pthread_t t;
        int rc = pthread_create(&t, NULL, leak_free_remote, &j);
        CHECK(rc == 0, "pthread_create = %d", rc);
        if (rc != 0) { leak_free_remote(&j); continue; }
        pthread_join(t, NULL);
        leak_take(f, sz, p, w, LEAK_B);
        leak_judge(f, sz, "after a remote free", p, w, LEAK_B);
        for (int i = 0; i < LEAK_B; i++)
            f->free(p[i]);
    }
}

/* A freed aligned block keeps its alias header inside the real block (a
 * second free of the aligned pointer must read DOUBLE), and the next malloc
 * of that class hands the block out with the header in it.  Its check word
 * must hold no key: the keyed form gave hak_key of a known address, and
 * with the old mixer the secret (SECURITY.md).  malloc(n + a) is the real
 * block's class (sized.c), and the owner's list hands it back first. */
static void test_no_alias_key(const family *f)
{
    int found = 0, keyed = 0;
    for (size_t a = 32; a <= 4096; a *= 2) {
        unsigned char *p = f->aligned_alloc(a, 100);
        if (!p) continue;
        f->free(p);
        unsigned char *b = f->malloc(100 + a);
        if (b && b + 16 <= p && p <= b + 100 + a) {
            struct { uint32_t magic, aux; uint64_t check; } h;
            memcpy(&h, p - 16, sizeof h);
            T_PEEKED(&h, sizeof h);
            if (h.magic == 0x616c6961u) {   /* HAK_ALIAS_MAGIC */
                found++;
                if (h.check != 0) keyed++;
            }
        }
        f->free(b);
    }
    CHECK(keyed == 0, "%s: %d retired alias headers handed out with a keyed check word", f->name, keyed);
#if !defined(__SANITIZE_ADDRESS__)
    if (!RUNNING_ON_VALGRIND)
        CHECK(found > 0, "%s: no retired alias header found in a reused block (the test saw nothing)", f->name);
#endif
}

/* A released span keeps its bytes until it is purged, and a slab of another
 * class carved from it hands them out inside its blocks.  The old slots'
 * links (keyed by the span's start, so by the new slab's key too) and mid
 * headers (hak_key of a known address) must not be among them.  The test
 * knows where the old blocks were: the words there, now inside fresh blocks
 * of the new class, must read 0.  hak_trim() first, so the release below
 * stays under the purge threshold and the span is reused dirty. */
static void test_no_stale_links(const family *f, size_t old_sz, size_t new_sz, int nold)
{
    void **old = malloc(sizeof *old * (size_t)nold);
    if (!old) return;
    HK(hak_trim)();
    for (int i = 0; i < nold; i++)
        old[i] = f->malloc(old_sz);
    for (int i = 0; i < nold; i++)
        f->free(old[i]);
    /* the emptied span sits in the heap's idle set until HAKMEM_DECAY_MS
     * (500 ms) has passed; the next slow-path malloc then releases it, still
     * dirty, and the new class's slab is carved from it */
    usleep(600 * 1000);
    enum { NB = 4096 };
    static void *nb[NB];
    int nnew = 0;
    long checked = 0, shown = 0;
    for (; nnew < NB; nnew++) {
        unsigned char *q = nb[nnew] = f->malloc(new_sz);
        if (!q) break;
        uintptr_t lo = (uintptr_t)q + 8, hi = (uintptr_t)q + f->usable(q);
        /* old block addresses inside q, past q's own first word */
        for (int i = 0; i < nold; i++) {
            uintptr_t x = (uintptr_t)old[i];
            /* the link at the old pointer; for mid also the header in front of it */
            for (int back = old_sz > HAKMEM_TINY_MAX ? 16 : 0; back >= 0; back -= 8) {
                uintptr_t at = x - (uintptr_t)back;
                if (at < lo || at + 8 > hi) continue;
                uint64_t w;
                memcpy(&w, (void *)at, sizeof w);
                T_PEEKED(&w, sizeof w);
                checked++;
                shown += w != 0;
            }
        }
        if (checked > 2000) { nnew++; break; }
    }
    CHECK(checked > 0, "%s: no block of %zu B reused the span of the %zu B blocks (test has nothing to check)",
          f->name, new_sz, old_sz);
    CHECK(shown == 0, "%s: %ld of %ld words where %zu B blocks were show their old links/headers in fresh %zu B blocks",
          f->name, shown, checked, old_sz, new_sz);
    for (int i = 0; i < nnew; i++)
        f->free(nb[i]);
    free(old);
}

/* ---------------------------------------------------------------- glibc extras */
static int call_malloc_stats(void *arg)
{
    void *keep = malloc(1000);
    malloc_stats();
    free(keep);
    return 0;
}

T_UNUSED static void test_glibc_extras(void)
{
    long page = sysconf(_SC_PAGESIZE);
    static const size_t sizes[] = { 1, 100, 4096, 5000, 300000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        void *v = valloc(n);
        CHECK(v && (uintptr_t)v % page == 0 && malloc_usable_size(v) >= n, "valloc(%zu) = %p", n, v);
        if (v)
            memset(v, 1, n);
        free(v);
        void *pv = pvalloc(n);
        size_t rounded = (n + page - 1) / page * page;
        CHECK(pv && (uintptr_t)pv % page == 0 && malloc_usable_size(pv) >= rounded,
              "pvalloc(%zu) = %p usable %zu", n, pv, pv ? malloc_usable_size(pv) : 0);
        if (pv)
            memset(pv, 1, rounded);
        free(pv);
    }
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");

    int rc = malloc_trim(0);
    CHECK(rc == 0 || rc == 1, "malloc_trim(0) = %d", rc);

    t_child c;
    t_run_fn(call_malloc_stats, NULL, 20, &c);
    CHECK(c.exited && c.code == 0, "malloc_stats() in a child: %s", t_how(&c));

    void *keep = malloc(12345);
    struct mallinfo2 mi = mallinfo2();
    /* glibc fills uordblks with the bytes in use; any allocator must say > 0 here */
    CHECK(mi.uordblks >= 12345 || mi.hblkhd >= 12345 || mi.arena > 0,
          "mallinfo2 reports nothing while 12345 bytes are live (uordblks %zu)", mi.uordblks);
    free(keep);

    /* parameters glibc knows: accepted (1); unknown ones must not crash */
    CHECK(mallopt(M_TRIM_THRESHOLD, 256 * 1024) == 1, "mallopt(M_TRIM_THRESHOLD)");
    CHECK(mallopt(M_MMAP_THRESHOLD, 512 * 1024) == 1, "mallopt(M_MMAP_THRESHOLD)");
    CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt(M_ARENA_MAX)");
    rc = mallopt(-12345, 1);
    CHECK(rc == 0 || rc == 1, "mallopt(unknown) = %d", rc);
    void *p = malloc(100);
    CHECK(p != NULL, "malloc after mallopt");
    free(p);
}

/* ---------------------------------------------------------------- bootstrap */
/* A constructor that runs before most others (priority 101) allocates: the
 * library must initialise itself on that first call, whatever its own
 * constructor's order. */
static unsigned char *early_block;
static int early_ok;

__attribute__((constructor(101))) static void early_alloc(void)
{
    early_block = malloc(100);
    if (!early_block)
        return;
    memset(early_block, 0x42, 100);
    void *q = calloc(10, 10);
    early_ok = q != NULL && ((unsigned char *)q)[99] == 0;
    free(q);
}

T_UNUSED static void test_bootstrap(void)
{
    CHECK(early_block != NULL && early_ok, "malloc/calloc/free in an early constructor");
    if (!early_block)
        return;
    CHECK(HK(hak_classify_ptr)(early_block) == HAK_FREE_OK, "the constructor's block is hakmem's (%s)",
          t_vname(HK(hak_classify_ptr)(early_block)));
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= early_block[i] == 0x42;
    CHECK(same, "the constructor's block kept its content");
    free(early_block);
}

/* A buffer grown by realloc past the Mid tier (128 KiB) is a Huge block,
 * which grows in place (its mapping extended) instead of being copied at
 * every Mid class (four per doubling, as the Mid tier to 1 MiB did); sized
 * frees of what realloc gave still fit, and a shrink back moves it into the
 * slabs with its bytes. */
static void test_realloc_growth(void)
{
    size_t n = 200000;
    char *p = HK(hak_malloc)(n);
    CHECK(p != NULL, "malloc(%zu)", n);
    if (!p) return;
    t_fill(p, n, 5);
    unsigned moved = 0, steps = 0;
    for (n = 300000; n <= 900000; n += 20000, steps++) {
        char *q = HK(hak_realloc)(p, n);
        CHECK(q != NULL, "realloc to %zu", n);
        if (!q) return;
        if (q != p && n > 300000) moved++;
        p = q;
    }
    CHECK(t_verify(p, 200000, 5) == (size_t)-1, "bytes kept through the growth");
    /* at most a few moves (another mapping above): every Mid class crossing
     * would be a move.  Under the tools (T_TOOLS=1, sanitizers/run.sh)
     * realloc always moves, as Valgrind's and ASan's own do. */
    if (!t_env_u64("T_TOOLS", 0))
        CHECK(moved <= 2, "%u of %u reallocs above 300 KB moved the block", moved, steps);
    size_t last = n - 20000;
    CHECK(HK(hak_usable_size)(p) >= last, "usable %zu < %zu", HK(hak_usable_size)(p), last);
    char *s = HK(hak_realloc)(p, 100000);
    CHECK(s != NULL && t_verify_prefix(s, 100000, 200000, 5) == (size_t)-1, "shrink back to 100000 keeps the bytes");
    if (!s) return;
    CHECK(HK(hak_free_sized_checked)(s, 0, 100000) == HAK_FREE_OK, "free_sized after the shrink");
    char *g = HK(hak_malloc)(1000);
    char *h = HK(hak_realloc)(g, 400000);
    CHECK(h != NULL, "realloc 1000 -> 400000");
    if (h) CHECK(HK(hak_free_sized_checked)(h, 0, 400000) == HAK_FREE_OK, "free_sized(p, 400000) of realloc's block");
}

/* ---------------------------------------------------------------- hak_* only */
static void test_hak_only(void)
{
    /* version string matches the header macros */
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR, HAKMEM_VERSION_PATCH);
    const char *v = HK(hak_version)();
    CHECK(v && strstr(v, want), "hak_version() = %s, header says %s", v ? v : "(null)", want);

    /* every verdict has a distinct name */
    for (int i = 0; i < HAK_FREE_NSTATUS; i++) {
        const char *a = HK(hak_free_status_name)((hak_free_status)i);
        CHECK(a && *a, "hak_free_status_name(%d)", i);
        for (int j = 0; j < i; j++)
            CHECK(!a || strcmp(a, HK(hak_free_status_name)((hak_free_status)j)) != 0,
                  "verdicts %d and %d share the name %s", i, j, a);
    }

    /* classify has no side effect; free_checked frees exactly once */
    static const size_t sizes[] = { 24, 1024, 1025, 262144, 262145, 1048576, 1048577, 3 << 20 };
    for (int k = 0; k < 6; k++) {
        size_t n = sizes[k];
        unsigned char *p = HK(hak_malloc)(n);
        t_fill(p, n, 11);
        size_t u = HK(hak_usable_size)(p);
        CHECK(HK(hak_classify_ptr)(p) == HAK_FREE_OK && HK(hak_classify_ptr)(p) == HAK_FREE_OK,
              "classify(live %s block) = %s", tier(n), t_vname(HK(hak_classify_ptr)(p)));
        CHECK(HK(hak_usable_size)(p) == u && t_verify(p, n, 11) == (size_t)-1, "classify changed the %s block",
              tier(n));
        CHECK(HK(hak_usable_size)(p + 1) == 0 && HK(hak_usable_size)(p + 16) == 0,
              "usable_size of interior pointers of a %s block must be 0", tier(n));
        hak_free_status s = HK(hak_free_checked)(p);
        CHECK(s == HAK_FREE_OK, "free_checked(live %s block) = %s", tier(n), t_vname(s));
        if (n <= HAKMEM_MID_MAX) {
            /* huge blocks are unmapped by then: the address is simply gone */
            CHECK(HK(hak_usable_size)(p) == 0, "usable_size of a freed %s block = %zu", tier(n),
                  HK(hak_usable_size)(p));
        }
    }
    CHECK(HK(hak_free_checked)(NULL) == HAK_FREE_NULL, "free_checked(NULL)");
    CHECK(HK(hak_classify_ptr)(NULL) == HAK_FREE_NULL, "classify(NULL)");
    int local;
    CHECK(HK(hak_classify_ptr)(&local) == HAK_FREE_FOREIGN, "classify(&local) = %s",
          t_vname(HK(hak_classify_ptr)(&local)));

    /* statistics follow the calls */
    hak_stats a, b;
    HK(hak_get_stats)(&a);
    void *t = HK(hak_malloc)(100), *m = HK(hak_malloc)(10000), *h = HK(hak_malloc)(HAKMEM_MID_MAX + 1);
    HK(hak_get_stats)(&b);
    /* Tiny and Mid counts (and frees) are kept with HAKMEM_STATS=1 only: the
     * fast paths carry no counter; then every malloc is counted, exactly */
    const char *sv = getenv("HAKMEM_STATS");
    bool counted = sv != NULL && strcmp(sv, "1") == 0;
    CHECK(counted ? b.tiny_allocs == a.tiny_allocs + 1 && b.mid_allocs == a.mid_allocs + 1
                  : b.tiny_allocs == 0 && b.mid_allocs == 0,
          "per-tier counters (%s): tiny %llu->%llu mid %llu->%llu", counted ? "STATS=1: exact" : "not counted: 0",
          (unsigned long long)a.tiny_allocs, (unsigned long long)b.tiny_allocs,
          (unsigned long long)a.mid_allocs, (unsigned long long)b.mid_allocs);
    CHECK(b.huge_allocs >= a.huge_allocs + 1,
          "per-tier counters: tiny %llu->%llu mid %llu->%llu huge %llu->%llu",
          (unsigned long long)a.tiny_allocs, (unsigned long long)b.tiny_allocs,
          (unsigned long long)a.mid_allocs, (unsigned long long)b.mid_allocs,
          (unsigned long long)a.huge_allocs, (unsigned long long)b.huge_allocs);
    CHECK(b.live_blocks == a.live_blocks + 3, "live_blocks %llu -> %llu after 3 mallocs",
          (unsigned long long)a.live_blocks, (unsigned long long)b.live_blocks);
    CHECK(b.live_bytes >= a.live_bytes + 100 + 10000 + HAKMEM_MID_MAX + 1, "live_bytes %llu -> %llu",
          (unsigned long long)a.live_bytes, (unsigned long long)b.live_bytes);
    CHECK(b.committed >= b.live_bytes && b.peak_committed >= b.committed, "committed %llu peak %llu live %llu",
          (unsigned long long)b.committed, (unsigned long long)b.peak_committed, (unsigned long long)b.live_bytes);
    HK(hak_free)(t);
    HK(hak_free)(m);
    HK(hak_free)(h);
    HK(hak_free_checked)(&local);
    HK(hak_get_stats)(&b);
    CHECK(b.live_blocks == a.live_blocks && b.live_bytes == a.live_bytes, "live after frees: %llu blocks %llu bytes",
          (unsigned long long)b.live_blocks, (unsigned long long)b.live_bytes);
    CHECK(b.rejected[HAK_FREE_FOREIGN] == a.rejected[HAK_FREE_FOREIGN] + 1, "rejected[FOREIGN] %llu -> %llu",
          (unsigned long long)a.rejected[HAK_FREE_FOREIGN], (unsigned long long)b.rejected[HAK_FREE_FOREIGN]);
    CHECK(counted ? b.frees == a.frees + 3 : b.frees == 0, "frees counter (%s): %llu -> %llu",
          counted ? "exact" : "not counted: 0", (unsigned long long)a.frees, (unsigned long long)b.frees);

    /* hak_print_stats writes a short summary to the given fd */
    int pfd[2];
    if (pipe(pfd) == 0) {
        HK(hak_print_stats)(pfd[1]);
        close(pfd[1]);
        char buf[4096];
        ssize_t n = read(pfd[0], buf, sizeof buf - 1);
        close(pfd[0]);
        CHECK(n > 0 && n < 4000, "hak_print_stats wrote %zd bytes", n);
    }
    int tr = HK(hak_trim)();
    CHECK(tr == 0 || tr == 1, "hak_trim() = %d", tr);
    CHECK(HK(hak_heap_check)() == 0, "hak_heap_check() at the end");
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n");
        t_failed++;
        return t_done();
    }
    family plain = { "libc-names", malloc, free, calloc, realloc, reallocarray, posix_memalign,
                     aligned_alloc, memalign, plain_usable, free_sized, free_aligned_sized };
    family hak = { "hak", HK(hak_malloc), HK(hak_free), HK(hak_calloc), HK(hak_realloc),
                   HK(hak_reallocarray), HK(hak_posix_memalign), HK(hak_aligned_alloc),
                   HK(hak_memalign), HK(hak_usable_size), HK(hak_free_sized),
                   HK(hak_free_aligned_sized) };

#ifdef HAK_CORE_ONLY
    /* linked with libhakmem-core.a (ASan/Valgrind builds): malloc stays the
     * system's, only the hak_* family is under test */
    const family *fams[] = { &hak };
    (void)plain;
#else
    /* the plain names must be hakmem's, not glibc's */
    void *probe = malloc(40);
    t_section("malloc is hakmem");
    CHECK(free_sized != NULL && free_aligned_sized != NULL, "free_sized/free_aligned_sized not exported");
    if (!free_sized || !free_aligned_sized)
        return t_done();
    CHECK(HK(hak_classify_ptr)(probe) == HAK_FREE_OK, "classify(malloc(40)) = %s: malloc is not hakmem's",
          t_vname(HK(hak_classify_ptr)(probe)));
    free(probe);

#ifdef HAK_DYN
    /* every name must bind to libhakmem.so: a name it fails to export would
     * silently stay glibc's and mix two heaps */
    t_section("LD_PRELOAD: every malloc-family name binds to libhakmem.so");
    static const char *const names[] = {
        "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim", "malloc_stats",
        "mallinfo2", "mallopt", "free_sized", "free_aligned_sized",
        "hak_malloc", "hak_free_checked", "hak_heap_check",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info info;
        int found = sym && dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, "libhakmem");
        CHECK(found, "%s binds to %s", names[i], sym && dladdr(sym, &info) ? info.dli_fname : "(nothing)");
    }
#endif

    const family *fams[] = { &plain, &hak };
#endif
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        const family *f = fams[i];
        char name[64];
        snprintf(name, sizeof name, "%s: malloc sizes", f->name);
        t_section(name);
        test_malloc_sizes(f);
        snprintf(name, sizeof name, "%s: ENOMEM and overflow", f->name);
        t_section(name);
        test_enomem(f);
        snprintf(name, sizeof name, "%s: posix_memalign EINVAL", f->name);
        t_section(name);
        test_posix_memalign_einval(f);
        snprintf(name, sizeof name, "%s: alignment", f->name);
        t_section(name);
        test_alignment(f);
        snprintf(name, sizeof name, "%s: calloc after dirty reuse", f->name);
        t_section(name);
        test_calloc_dirty(f);
        snprintf(name, sizeof name, "%s: realloc", f->name);
        t_section(name);
        test_realloc(f);
        snprintf(name, sizeof name, "%s: errno", f->name);
        t_section(name);
        test_errno_preserved(f, f == &hak);
        snprintf(name, sizeof name, "%s: free_sized", f->name);
        t_section(name);
        test_free_sized(f);
        snprintf(name, sizeof name, "%s: no free-list link in a fresh block", f->name);
        t_section(name);
        test_no_link_leak(f);
        test_no_stale_links(f, 16, 40, 6000);        /* tiny span reused by another tiny class */
        test_no_stale_links(f, 20000, 3000, 12);     /* mid span reused by another mid class */
        test_no_alias_key(f);
    }
#ifndef HAK_CORE_ONLY
    t_section("glibc extras: valloc pvalloc trim stats mallinfo2 mallopt");
    test_glibc_extras();
    t_section("bootstrap from an early constructor");
    test_bootstrap();
#endif
    t_section("hak_* only");
    test_hak_only();
    t_section("realloc growth past the Mid tier: a Huge block, grown in place");
    test_realloc_growth();
    return t_done();
}
