/* harden.c: the checks of issue 12 from the side of a correct program, and
 * the bad inputs that are not a bad pointer to free (those are in the fault
 * catalogue, tests/faults/).
 *
 *  - malloc(0): unique, 16-aligned, faults on any read or write, frees,
 *    reallocs, a second free is DOUBLE, counted in the live blocks.
 *  - sized frees never reject what a correct program does: every producer
 *    (malloc, calloc, realloc chains, aligned_alloc, posix_memalign,
 *    memalign, C++ new/new[]/aligned new/nothrow new) freed with its own size
 *    and alignment frees the block, through the plain names and the
 *    checked call; and a size of another class is SIZE_MISMATCH, with the
 *    block left live.
 *  - the byte after every block: programs that write all of the usable size
 *    of blocks of every class, in every order, freed locally and by other
 *    threads, never trip the overflow check; one byte more does, also when
 *    another thread frees the block.
 *  - malloc_object_size(_fast) of every byte of live blocks of each tier.
 * Built twice like api.c (libhakmem.a, and LD_PRELOAD with -DHAK_DYN). */
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>

#include "testlib.h"

#ifdef HAK_DYN
#define EXT __attribute__((weak))
#else
#define EXT
#endif
EXT void free_sized(void *, size_t);
EXT void free_aligned_sized(void *, size_t, size_t);
EXT size_t malloc_object_size(const void *);
EXT size_t malloc_object_size_fast(const void *);
EXT void *_Znwm(size_t);
EXT void *_Znam(size_t);
EXT void *_ZnwmRKSt9nothrow_t(size_t, const void *);
EXT void *_ZnwmSt11align_val_t(size_t, size_t);
EXT void *_ZnamSt11align_val_t(size_t, size_t);
EXT void _ZdlPv(void *);
EXT void _ZdlPvm(void *, size_t);
EXT void _ZdaPvm(void *, size_t);
EXT void _ZdlPvSt11align_val_t(void *, size_t);
EXT void _ZdlPvmSt11align_val_t(void *, size_t, size_t);
EXT void _ZdaPvmSt11align_val_t(void *, size_t, size_t);

#define OVERFLOW_MSG "heap overflow into the next block"

static const size_t sizes[] = {
    0, 1, 8, 15, 16, 17, 31, 32, 33, 47, 48, 64, 100, 255, 256, 257, 500, 1000, 1023, 1024, 1025,
    1280, 1281, 2000, 4096, 5000, 16384, 65536, 100000, 262144, 524289, 1048576, 1048577, 3 << 20,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* freed means the pointer no longer classifies OK */
static bool freed(const void *p) { return HK(hak_classify_ptr)(p) != HAK_FREE_OK; }

/* ---------------------------------------------------------------- malloc(0) */
static int touch_read(void *arg) { return *(volatile char *)arg; }
static int touch_write(void *arg) { *(volatile char *)arg = 1; return 0; }

static void test_zero(void)
{
    t_section("malloc(0): unique, faulting, freeable");
    enum { N = 1000 };
    static char *z[N];
    hak_stats a, b;
    HK(hak_get_stats)(&a);
    CHECK_LOOP_BEGIN();
    for (int i = 0; i < N; i++) {
        z[i] = malloc(0);
        CHECK_LOOP(z[i] != NULL && (uintptr_t)z[i] % 16 == 0, "malloc(0) #%d = %p", i, (void *)z[i]);
        CHECK_LOOP(HK(hak_classify_ptr)(z[i]) == HAK_FREE_OK, "malloc(0) %p classifies %s", (void *)z[i],
                   t_vname(HK(hak_classify_ptr)(z[i])));
        CHECK_LOOP(malloc_usable_size(z[i]) == 0 && malloc_object_size(z[i]) == 0, "sizes of malloc(0) %p",
                   (void *)z[i]);
        for (int j = 0; j < i; j++)
            CHECK_LOOP(z[j] != z[i], "malloc(0) #%d and #%d are both %p", j, i, (void *)z[i]);
    }
    CHECK_LOOP_END("1000 live malloc(0): distinct, aligned, OK, size 0");
    HK(hak_get_stats)(&b);
    CHECK(b.live_blocks >= a.live_blocks + N, "live blocks %llu -> %llu with %d malloc(0) more",
          (unsigned long long)a.live_blocks, (unsigned long long)b.live_blocks, N);

    t_child c;
    t_run_fn(touch_read, z[7], 10, &c);
    CHECK(c.signaled && c.sig == SIGSEGV, "reading malloc(0) %p: want SIGSEGV, got %s", (void *)z[7], t_how(&c));
    t_run_fn(touch_write, z[8], 10, &c);
    CHECK(c.signaled && c.sig == SIGSEGV, "writing malloc(0) %p: want SIGSEGV, got %s", (void *)z[8], t_how(&c));
    char *cz = calloc(0, 8), *rz = realloc(NULL, 0);
    t_run_fn(touch_read, cz, 10, &c);
    CHECK(c.signaled && c.sig == SIGSEGV, "reading calloc(0, 8): want SIGSEGV, got %s", t_how(&c));
    t_run_fn(touch_write, rz, 10, &c);
    CHECK(c.signaled && c.sig == SIGSEGV, "writing realloc(NULL, 0): want SIGSEGV, got %s", t_how(&c));
    free(cz);
    free(rz);

    for (int i = 0; i < N; i += 2)
        free(z[i]);
    CHECK_LOOP_BEGIN();
    for (int i = 0; i < N; i += 2)
        CHECK_LOOP(HK(hak_free_checked)(z[i]) == HAK_FREE_DOUBLE, "second free of malloc(0) %p = %s",
                   (void *)z[i], t_vname(HK(hak_free_checked)(z[i])));
    CHECK_LOOP_END("a freed malloc(0) pointer frees DOUBLE");
    /* realloc of a zero pointer: a real block, the zero one gone */
    char *r = realloc(z[1], 100);
    CHECK(r && malloc_usable_size(r) >= 100 && freed(z[1]), "realloc(malloc(0), 100) = %p", (void *)r);
    memset(r, 7, 100);
    free(r);
    CHECK(realloc(z[3], 0) == NULL && freed(z[3]), "realloc(malloc(0), 0) frees it");
    /* sized: only size 0 made it */
    CHECK(HK(hak_free_sized_checked)(z[5], 0, 1) == HAK_FREE_SIZE_MISMATCH && !freed(z[5]),
          "free_sized(malloc(0), 1) must be a size mismatch");
    free_sized(z[5], 0);
    CHECK(freed(z[5]), "free_sized(malloc(0), 0) frees it");
    for (int i = 7; i < N; i += 2)
        free(z[i]);
}

/* ---------------------------------------------------------------- sized frees */
/* Same size class iff the same usable size (the classes' usable sizes are
 * strictly increasing); Huge sizes compare by the pages they map. */
static size_t usable_of_size(size_t n)
{
    void *p = malloc(n);
    size_t u = malloc_usable_size(p);
    free(p);
    return u;
}

static void test_sized_ok(void)
{
    t_section("sized frees of what each producer made: freed, never rejected");
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k];
        void *p = malloc(n);
        free_sized(p, n);
        CHECK_LOOP(freed(p), "free_sized(malloc(%zu), %zu) left it live", n, n);
        p = calloc(1, n);
        CHECK_LOOP(HK(hak_free_sized_checked)(p, 0, n) == HAK_FREE_OK, "checked free_sized(calloc(1, %zu))", n);
        if (n % 4 == 0 && n) {
            p = calloc(4, n / 4);
            free_sized(p, n);
            CHECK_LOOP(freed(p), "free_sized(calloc(4, %zu), %zu)", n / 4, n);
        }
        /* every alignment, every aligned producer */
        for (size_t al = 1; al <= ((size_t)1 << 21); al <<= 1) {
            void *q = aligned_alloc(al, n);
            CHECK_LOOP(q && (uintptr_t)q % al == 0, "aligned_alloc(%zu, %zu)", al, n);
            free_aligned_sized(q, al, n);
            CHECK_LOOP(freed(q), "free_aligned_sized(aligned_alloc(%zu, %zu)) left it live", al, n);
            if (al >= sizeof(void *) && posix_memalign(&q, al, n) == 0) {
                CHECK_LOOP(HK(hak_free_sized_checked)(q, al, n) == HAK_FREE_OK,
                           "checked free_aligned_sized(posix_memalign(%zu, %zu)) = %s", al, n,
                           t_vname(HK(hak_free_sized_checked)(q, al, n)));
            }
            q = memalign(al, n);
            /* free_sized of an aligned block: no alignment given, any will do */
            free_sized(q, n);
            CHECK_LOOP(freed(q), "free_sized(memalign(%zu, %zu)) left it live", al, n);
        }
    }
    CHECK_LOOP_END("malloc/calloc/aligned_alloc/posix_memalign/memalign, each size and alignment");

    /* realloc chains: the block always fits the last size asked */
    t_rng r;
    t_seed(&r, 12);
    CHECK_LOOP_BEGIN();
    for (int i = 0; i < 3000; i++) {
        size_t n = sizes[t_range(&r, 0, NSIZES - 1)] + t_range(&r, 0, 40);
        char *p = malloc(n);
        for (int step = 0; step < 4; step++) {
            size_t m = t_range(&r, 0, 3) == 0 ? t_range(&r, 1, 3 << 20) : t_range(&r, 1, n + 64);
            char *q = realloc(p, m);
            CHECK_LOOP(q != NULL, "realloc(%zu -> %zu)", n, m);
            p = q;
            n = m;
        }
        hak_free_status v = HK(hak_free_sized_checked)(p, 0, n);
        CHECK_LOOP(v == HAK_FREE_OK, "free_sized after a realloc chain ending at %zu = %s", n, t_vname(v));
    }
    CHECK_LOOP_END("free_sized after realloc chains (grow, shrink, within and across classes)");

    /* C++ */
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k];
        void *p = _Znwm(n);
        _ZdlPvm(p, n);
        CHECK_LOOP(freed(p), "operator delete(new(%zu), %zu)", n, n);
        p = _Znam(n);
        _ZdaPvm(p, n);
        CHECK_LOOP(freed(p), "operator delete[](new[](%zu), %zu)", n, n);
        p = _ZnwmRKSt9nothrow_t(n, NULL);
        _ZdlPv(p);
        CHECK_LOOP(freed(p), "operator delete(new(%zu, nothrow))", n);
        for (size_t al = 32; al <= ((size_t)1 << 16); al <<= 2) {
            p = _ZnwmSt11align_val_t(n, al);
            CHECK_LOOP(p && (uintptr_t)p % al == 0, "new(%zu, align %zu) = %p", n, al, p);
            _ZdlPvmSt11align_val_t(p, n, al);
            CHECK_LOOP(freed(p), "operator delete(new(%zu, align %zu), %zu, %zu)", n, al, n, al);
            p = _ZnamSt11align_val_t(n, al);
            _ZdaPvmSt11align_val_t(p, n, al);
            CHECK_LOOP(freed(p), "operator delete[] aligned %zu/%zu", n, al);
            p = _ZnwmSt11align_val_t(n, al);
            _ZdlPvSt11align_val_t(p, al);
            CHECK_LOOP(freed(p), "operator delete(new(%zu, align %zu), align %zu)", n, al, al);
        }
    }
    CHECK_LOOP_END("C++ new/delete pairs: plain, array, nothrow, aligned, sized and unsized");

    t_section("sized frees of another class: SIZE_MISMATCH, block still live");
    t_seed(&r, 99);
    CHECK_LOOP_BEGIN();
    int tried = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = t_range(&r, 1, t_range(&r, 0, 1) ? 1100 : 300000);
        size_t m = t_range(&r, 1, t_range(&r, 0, 1) ? 1100 : 300000);
        char *p = malloc(n);
        /* an over-aligned producer could explain a 32-aligned block: keep to
         * the ones only malloc can have made */
        if ((uintptr_t)p % 32 == 0 || usable_of_size(m) == malloc_usable_size(p)) {
            free(p);
            continue;
        }
        tried++;
        hak_free_status v = HK(hak_free_sized_checked)(p, 0, m);
        CHECK_LOOP(v == HAK_FREE_SIZE_MISMATCH, "free_sized(malloc(%zu) = %p, %zu) = %s", n, (void *)p, m,
                   t_vname(v));
        CHECK_LOOP(!freed(p), "the mismatched free_sized freed malloc(%zu)", n);
        free(p);
    }
    CHECK_LOOP_END("random sizes of other classes are rejected");
    CHECK(tried > 1000, "only %d mismatching pairs tried", tried);
}

/* ---------------------------------------------------------------- overflow */
/* Write every usable byte of many blocks of every class and free them in a
 * shuffled order: the bytes after the blocks stay theirs. */
static void test_full_use(void)
{
    t_section("writing all of the usable size never trips the overflow check");
    enum { N = 3000 };
    static char *p[N];
    t_rng r;
    t_seed(&r, 5);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t n = round < 2 ? t_range(&r, 1, 1100) : t_range(&r, 1, 300000);
            p[i] = malloc(n);
            memset(p[i], 0xa5 + round, malloc_usable_size(p[i]));
        }
        for (int i = N - 1; i > 0; i--) {
            int j = (int)t_range(&r, 0, (size_t)i);
            char *t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        for (int i = 0; i < N; i++)
            free(p[i]);
    }
    CHECK(HK(hak_heap_check)() == 0, "heap check after full-size writes");
}

struct xfree { char **blocks; int n; };

static void *free_all(void *arg)
{
    struct xfree *x = arg;
    for (int i = 0; i < x->n; i++)
        free(x->blocks[i]);
    return NULL;
}

/* The same through another thread's frees (the remote path). */
static void test_full_use_remote(void)
{
    enum { N = 2000 };
    static char *p[N];
    t_rng r;
    t_seed(&r, 6);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(t_range(&r, 1, i % 2 ? 1100 : 70000));
        memset(p[i], 0x5a, malloc_usable_size(p[i]));
    }
    struct xfree x = { p, N };
    pthread_t t;
    pthread_create(&t, NULL, free_all, &x);
    pthread_join(t, NULL);
    CHECK(HK(hak_heap_check)() == 0, "heap check after remote frees of full blocks");
}

static int overflow_remote(void *arg)
{
    (void)arg;
    char *p = malloc(48);
    p[malloc_usable_size(p)] = 0;
    struct xfree x = { &p, 1 };
    pthread_t t;
    pthread_create(&t, NULL, free_all, &x);
    pthread_join(t, NULL);
    return 0;
}

static int overflow_checked(void *arg)
{
    (void)arg;
    char *p = malloc(5000);
    p[malloc_usable_size(p)] ^= 1;
    HK(hak_free_checked)(p);
    return 0;
}

static int overflow_realloc(void *arg)
{
    (void)arg;
    char *p = malloc(20);
    p[malloc_usable_size(p)] = 0;
    p = realloc(p, 2000);      /* moves, and frees the old block */
    return p == NULL;
}

static int overflow_sized(void *arg)
{
    (void)arg;
    char *p = malloc(20);
    p[malloc_usable_size(p)] = 0;
    free_sized(p, 20);
    return 0;
}

/* Is the page of address a readable here (a mapping with 'r' in /proc/self/maps)? */
static bool page_readable(uintptr_t a)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) return true;
    char line[512];
    bool r = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && lo <= a && a < hi) {
            r = perm[0] == 'r';
            break;
        }
    }
    fclose(f);
    return r;
}

/* A chunk's last Tiny slot (stride 16: 4095 slots fill a unit to its end),
 * where the next chunk is not ours yet (the arena's PROT_NONE rest): a
 * one-byte overflow that forges FREE into the end mark after it must be
 * reported.  Until issue 11's proof of the free fast path the owner then
 * read the "FREE slot's" link from past the chunk and died of SIGSEGV.
 * Exit 3: no such slot found, 4: not a 16-byte slot (the test could not
 * be set up).  Run first, from a parent that has taken few chunks: a
 * child of a busy parent fills the parent's empty chunks first. */
static int overflow_chunk_end(void *arg)
{
    (void)arg;
    enum { CHUNK = 2u << 20, STRIDE = 16 };
    for (int i = 0; i < 4000000; i++) {
        unsigned char *p = malloc(8);
        if (p == NULL) return 3;
        __asm__("" : "+r"(p));   /* the compiler must not judge the bytes around p: we do */
        if (((uintptr_t)p + STRIDE) % CHUNK != 0 || page_readable((uintptr_t)p + STRIDE)) continue;
        if (malloc_usable_size(p) != STRIDE - 1) return 4;
        p[STRIDE - 1] = (unsigned char)(p[-1] - 1);   /* its tag is cookie + ALLOC; FREE is one less */
        free(p);
        return 0;
    }
    return 3;
}

static void test_overflow_chunk_end(void)
{
    t_section("one byte too many is fatal at a chunk's end");
    t_child c;
    t_run_fn(overflow_chunk_end, NULL, 20, &c);
    CHECK(c.signaled && c.sig == SIGABRT && strstr(c.err, OVERFLOW_MSG),
          "free of a chunk's last slot after a forged FREE end mark: want SIGABRT and \"%s\", got %s\n  stderr: %s",
          OVERFLOW_MSG, t_how(&c), c.err);
}

static void test_overflow_paths(void)
{
    t_section("one byte too many is fatal on every free path");
    static const struct { const char *what; int (*fn)(void *); } cases[] = {
        { "free by another thread", overflow_remote },
        { "hak_free_checked", overflow_checked },
        { "realloc that moves", overflow_realloc },
        { "free_sized", overflow_sized },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        t_child c;
        t_run_fn(cases[k].fn, NULL, 20, &c);
        CHECK(c.signaled && c.sig == SIGABRT && strstr(c.err, OVERFLOW_MSG),
              "%s of an overflowed block: want SIGABRT and \"%s\", got %s\n  stderr: %s", cases[k].what,
              OVERFLOW_MSG, t_how(&c), c.err);
    }
}

/* ---------------------------------------------------------------- object size */
static void test_object_size(void)
{
    t_section("malloc_object_size: from any byte of a live block to its end");
    CHECK_LOOP_BEGIN();
    for (size_t k = 1; k < NSIZES; k++) {
        size_t n = sizes[k];
        for (int aligned = 0; aligned < 2; aligned++) {
            unsigned char *p = aligned ? aligned_alloc(256, n) : malloc(n);
            size_t u = malloc_usable_size(p);
            CHECK_LOOP(u >= n, "usable %zu < %zu", u, n);
            size_t step = u > 5000 ? u / 997 + 1 : 1;
            for (size_t o = 0; o < u; o += step) {
                size_t a = malloc_object_size(p + o), b = malloc_object_size_fast(p + o);
                size_t c = HK(hak_malloc_object_size)(p + o);
                CHECK_LOOP(a == u - o && b == a && c == a, "object size of %p + %zu (%s%zu bytes, usable %zu) = %zu %zu %zu",
                           (void *)p, o, aligned ? "aligned " : "", n, u, a, b, c);
            }
            CHECK_LOOP(malloc_object_size(p + u - 1) == 1, "last byte of a %zu-byte block", n);
            free(p);
        }
    }
    CHECK_LOOP_END("every tier, plain and 256-aligned");
    int local;
    static int global;
    CHECK(malloc_object_size(NULL) == 0 && malloc_object_size(&local) == 0 && malloc_object_size(&global) == 0 &&
              malloc_object_size_fast((void *)1) == 0 && HK(hak_malloc_object_size_fast)("literal") == 0,
          "not ours: 0");
    /* freed: the fast variant answers 0 without the policy */
    char *f = malloc(64);
    free(f);
    CHECK(malloc_object_size_fast(f) == 0 && malloc_object_size_fast(f + 10) == 0, "freed block: _fast gives 0");
}

int main(void)
{
#ifdef HAK_DYN
    bool missing = !free_sized || !malloc_object_size || !_Znwm;   /* weak: NULL without the library */
#else
    bool missing = false;
#endif
    if (t_load_hak() || missing) {
        printf("FAIL: libhakmem (or its plain names) not loaded\n0 passed, 1 failed\n");
        return 1;
    }
    test_overflow_chunk_end();   /* first: see there */
    test_zero();
    test_sized_ok();
    test_full_use();
    test_full_use_remote();
    test_overflow_paths();
    test_object_size();
    return t_done();
}
