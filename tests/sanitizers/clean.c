/* clean.c: correct use of every hak_* entry point, for `make asan` and
 * `make valgrind`.  Every access here is legal, so any ASan/UBSan report or
 * Memcheck error is a false positive of hakmem's hooks (or a real bug in
 * hakmem): the tools must stay silent and every CHECK must pass.
 * It touches each block over exactly its usable size (hak_usable_size), so
 * the hooks must unpoison all of it; it reuses blocks (freed-then-reused
 * slots must be handed back addressable); it frees across threads (remote
 * free lists are written by the allocator inside freed blocks); it lets a
 * thread exit with live blocks (abandoned slabs, adopted later).
 * argv[1] scales the random phase (default 1; the Valgrind run uses 1). */
#include <pthread.h>
#include "san.h"

static const size_t sizes[] = {
    0, 1, 2, 8, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128, 129, 255, 256, 500,
    1000, 1023, 1024, 1025, 1040, 2000, 4096, 4097, 10000, 65536, 100000,
    262143, 262144, 262145, 300000, 1 << 20, (1 << 20) + 1, 3 << 20,
    HAKMEM_MID_MAX - 1, HAKMEM_MID_MAX, HAKMEM_MID_MAX + 1,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void every_size(void)
{
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k];
        unsigned char *p = hak_malloc(n);
        CHECK(p != NULL, "hak_malloc(%zu)", n);
        if (!p) continue;
        size_t u = hak_usable_size(p);
        CHECK(u >= n, "usable %zu < requested %zu", u, n);
        /* the whole usable size belongs to the caller */
        s_fill(p, u, 3);
        CHECK(s_verify(p, u, 3), "pattern of a %zu-byte block", n);
        hak_free(p);
        /* the same size again: a reused slot must be fully addressable */
        p = hak_malloc(n);
        CHECK(p != NULL, "hak_malloc(%zu) again", n);
        if (!p) continue;
        u = hak_usable_size(p);
        memset(p, 0x5a, u);
        CHECK(hak_free_checked(p) == HAK_FREE_OK, "free_checked of a live %zu-byte block", n);
    }
}

static void calloc_after_dirty(void)
{
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k];
        unsigned char *p = hak_malloc(n);
        if (p) memset(p, 0xff, hak_usable_size(p));
        hak_free(p);
        unsigned char *q = hak_calloc(1, n);
        CHECK(q != NULL, "hak_calloc(1, %zu)", n);
        if (!q) continue;
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += q[i] != 0;
        CHECK(bad == 0, "hak_calloc(1, %zu): %zu non-zero bytes", n, bad);
        hak_free(q);
    }
}

static void realloc_chain(void)
{
    /* grow through every tier, then shrink back, checking the contents */
    static const size_t steps[] = { 1, 10, 24, 100, 1000, 1024, 1025, 5000, 70000, 262144,
                                    262145, 600000, HAKMEM_MID_MAX + 1, 2 << 20, 5 << 20, 1 << 20,
                                    300000, 200000,
                                    3000, 1000, 500, 40, 8 };
    unsigned char *p = NULL;
    size_t have = 0;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        size_t n = steps[k];
        unsigned char *q = hak_realloc(p, n);
        CHECK(q != NULL, "hak_realloc(%zu)", n);
        if (!q) break;
        size_t keep = have < n ? have : n;
        for (size_t i = 0; i < keep; i++)
            if (q[i] != (unsigned char)(i * 13u)) { CHECK(0, "realloc to %zu lost byte %zu", n, i); break; }
        size_t u = hak_usable_size(q);
        CHECK(u >= n, "usable %zu after realloc to %zu", u, n);
        for (size_t i = 0; i < u; i++) q[i] = (unsigned char)(i * 13u);
        p = q;
        have = u < n ? u : n;
    }
    CHECK(hak_realloc(p, 0) == NULL, "hak_realloc(p, 0) frees");
    p = hak_reallocarray(NULL, 10, 10);
    CHECK(p != NULL, "hak_reallocarray(NULL, 10, 10)");
    if (p) memset(p, 1, 100);
    hak_free(p);
}

static void aligned(void)
{
    for (size_t a = 16; a <= ((size_t)4 << 20); a <<= 1) {
        static const size_t ns[] = { 1, 100, 3000, 70000, 300000, HAKMEM_MID_MAX + 1 };
        for (int k = 0; k < 6; k++) {
            size_t n = ns[k];
            unsigned char *p = hak_aligned_alloc(a, n);
            CHECK(p != NULL && (uintptr_t)p % a == 0, "hak_aligned_alloc(%zu, %zu) = %p", a, n, (void *)p);
            if (!p) continue;
            size_t u = hak_usable_size(p);
            CHECK(u >= n, "usable %zu of aligned(%zu, %zu)", u, a, n);
            memset(p, 0x77, u);
            hak_free(p);
            void *q = NULL;
            CHECK(hak_posix_memalign(&q, a, n) == 0 && (uintptr_t)q % a == 0, "posix_memalign(%zu, %zu)", a, n);
            if (q) memset(q, 1, n);
            hak_free_aligned_sized(q, a, n);
            q = hak_memalign(a, n);
            CHECK(q != NULL && (uintptr_t)q % a == 0, "memalign(%zu, %zu)", a, n);
            if (q) memset(q, 2, n);
            hak_free_sized(q, n);
        }
    }
}

/* random churn: many live blocks of mixed sizes, freed in random order */
static void churn(int scale)
{
    enum { LIVE = 2000 };
    static unsigned char *blk[LIVE];
    static size_t len[LIVE];
    uint64_t seed = 12345;
    long rounds = 20000L * scale;
    for (long r = 0; r < rounds; r++) {
        unsigned i = (unsigned)(s_rand(&seed) % LIVE);
        if (blk[i]) {
            CHECK(s_verify(blk[i], len[i], (unsigned)i) || (printf("block %u\n", i), 0), "churn pattern");
            hak_free(blk[i]);
            blk[i] = NULL;
            continue;
        }
        uint64_t x = s_rand(&seed);
        size_t n = x % 16 == 0 ? (size_t)(x >> 8) % 100000 : (size_t)(x >> 8) % 1100;
        blk[i] = hak_malloc(n);
        if (!blk[i]) { CHECK(0, "hak_malloc(%zu) in churn", n); continue; }
        len[i] = n;
        s_fill(blk[i], n, i);
    }
    for (unsigned i = 0; i < LIVE; i++) {
        if (!blk[i]) continue;
        CHECK(s_verify(blk[i], len[i], i), "churn pattern at the end");
        hak_free(blk[i]);
        blk[i] = NULL;
    }
}

/* ---- threads: a producer hands blocks to a consumer, which frees them
 * (remote frees); a third thread exits with blocks still live, which the
 * main thread frees afterwards (abandoned slabs). */
enum { Q = 4096 };
static void *queue[Q];
static size_t qlen[Q];
static unsigned qhead, qtail;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static int qdone, consumer_bad;

static void *producer(void *arg)
{
    uint64_t seed = 777;
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        size_t sz = (size_t)(s_rand(&seed) % 3000);
        unsigned char *p = hak_malloc(sz);
        if (!p) continue;
        s_fill(p, sz, 9);
        pthread_mutex_lock(&qlock);
        while (qtail - qhead == Q) pthread_cond_wait(&qcond, &qlock);
        queue[qtail % Q] = p;
        qlen[qtail % Q] = sz;
        qtail++;
        pthread_cond_broadcast(&qcond);
        pthread_mutex_unlock(&qlock);
    }
    pthread_mutex_lock(&qlock);
    qdone = 1;
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
    return NULL;
}

static void *consumer(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (qhead == qtail && !qdone) pthread_cond_wait(&qcond, &qlock);
        if (qhead == qtail && qdone) { pthread_mutex_unlock(&qlock); break; }
        unsigned char *p = queue[qhead % Q];
        size_t sz = qlen[qhead % Q];
        qhead++;
        pthread_cond_broadcast(&qcond);
        pthread_mutex_unlock(&qlock);
        if (!s_verify(p, sz, 9)) consumer_bad++;
        hak_free(p);
    }
    return NULL;
}

static void *leaver(void *arg)
{
    unsigned char **out = arg;
    for (int i = 0; i < 64; i++) {
        out[i] = hak_malloc((size_t)i * 40 + 1);
        if (out[i]) s_fill(out[i], (size_t)i * 40 + 1, 5);
    }
    return NULL;   /* exits with 64 live blocks */
}

static void threads(int scale)
{
    long n = 20000L * scale;
    pthread_t a, b, c;
    pthread_create(&b, NULL, consumer, NULL);
    pthread_create(&a, NULL, producer, &n);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(consumer_bad == 0, "%d blocks changed between threads", consumer_bad);

    unsigned char *left[64];
    pthread_create(&c, NULL, leaver, left);
    pthread_join(c, NULL);
    /* the main thread now allocates the same classes (may adopt the slabs) */
    void *mine[64];
    for (int i = 0; i < 64; i++) mine[i] = hak_malloc((size_t)i * 40 + 1);
    int bad = 0;
    for (int i = 0; i < 64; i++) {
        if (!left[i] || !s_verify(left[i], (size_t)i * 40 + 1, 5)) bad++;
        hak_free(left[i]);
        hak_free(mine[i]);
    }
    CHECK(bad == 0, "%d blocks of an exited thread changed", bad);
}

static int global_word;

/* the classifier must judge bad pointers without touching poisoned memory */
static void classify(void)
{
    int local = 0;
    CHECK(hak_classify_ptr(NULL) == HAK_FREE_NULL, "classify(NULL)");
    CHECK(hak_classify_ptr(&local) == HAK_FREE_FOREIGN, "classify(stack)");
    CHECK(hak_classify_ptr(&global_word) == HAK_FREE_FOREIGN, "classify(global)");
    static const size_t ns[] = { 24, 1000, 5000, 300000, HAKMEM_MID_MAX + 1 };
    for (int k = 0; k < 5; k++) {
        unsigned char *p = hak_malloc(ns[k]);
        CHECK(hak_classify_ptr(p) == HAK_FREE_OK, "classify(live %zu)", ns[k]);
        CHECK(hak_classify_ptr(p + 1) == HAK_FREE_INVALID, "classify(interior+1 of %zu)", ns[k]);
        CHECK(hak_usable_size(p + 16) == 0, "usable_size(interior+16 of %zu)", ns[k]);
        unsigned char *keep = hak_malloc(ns[k]);   /* the slab stays in use */
        hak_free(p);
        /* interior of a freed block: the alias check must not read it */
        hak_free_status in = hak_classify_ptr(p + 16);
        CHECK(in == HAK_FREE_INVALID || in == HAK_FREE_UNMAPPED || in == HAK_FREE_FOREIGN,
              "classify(freed %zu + 16) = %s", ns[k], hak_free_status_name(in));
        if (ns[k] <= HAKMEM_MID_MAX)
            CHECK(hak_free_checked(p) == HAK_FREE_DOUBLE, "free_checked(freed %zu) = %s", ns[k],
                  hak_free_status_name(hak_classify_ptr(p)));
        hak_free(keep);
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1) scale = 1;
    hak_stats s0, s1;
    hak_get_stats(&s0);
    every_size();
    calloc_after_dirty();
    realloc_chain();
    aligned();
    churn(scale);
    threads(scale);
    classify();
    hak_get_stats(&s1);
    CHECK(s1.live_blocks == s0.live_blocks, "live blocks %llu -> %llu",
          (unsigned long long)s0.live_blocks, (unsigned long long)s1.live_blocks);
    CHECK(hak_heap_check() == 0, "hak_heap_check");
    int t = hak_trim();
    CHECK(t == 0 || t == 1, "hak_trim() = %d", t);
    CHECK(hak_heap_check() == 0, "hak_heap_check after trim");
    /* after trim, released slabs are poisoned again; allocating must re-open them */
    for (size_t k = 0; k < NSIZES; k++) {
        unsigned char *p = hak_malloc(sizes[k]);
        if (p) memset(p, 3, hak_usable_size(p));
        hak_free(p);
    }
    return s_done();
}
