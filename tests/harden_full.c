/* harden_full.c: full mode, HAKMEM_HARDEN=full (src/harden.c), and that
 * the default mode is left as it was.  Run twice by run.sh: with
 * HAKMEM_HARDEN=full, the full-mode checks; without it, the default ones.
 *
 * Full mode:
 *  - a write after free aborts with "write after free" naming the pointer:
 *    written while quarantined (caught when the block leaves the ring), or
 *    after it went back to its slab (caught when malloc hands it out);
 *    Tiny, Mid and aligned blocks; in a child process.
 *  - freed memory reads zero (Tiny, Mid, aligned), Huge faults.
 *  - the quarantine: a freed block is not handed out again before
 *    HAK_QUARANTINE other frees, and is handed out again after that (the
 *    ring is bounded).
 *  - a second free of a quarantined block is DOUBLE (checked call and plain
 *    free in a child); of a block back on its slab too; racing frees of one
 *    pointer: exactly one wins.
 *  - calloc is zero although it skips the memset (dirty frees, recycled
 *    spans); realloc keeps the data; aligned, Mid, sized frees work, and an
 *    aligned block's sized free wants its exact size;
 *    a thread's quarantine goes back when it exits (heap check clean).
 *  - an 8-byte overflow into a free Tiny block aborts at free.
 * Default mode: a freed block is handed out again at once (no quarantine,
 * the fast path), and the heap checks clean.
 * Built against libhakmem.a, with -Isrc for the constants (internal.h). */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testlib.h"
#include "internal.h"

#define DFREE_MSG "invalid pointer (double-free)"
#define OVERFLOW_MSG "heap overflow into the next block"

static const size_t sizes[] = { 1, 8, 16, 40, 128, 1000, 1024, 1025, 4000, 20000, 65536 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* the hex form of p in a message, as report.c writes it */
static const char *hex(const void *p, char *buf) { sprintf(buf, "0x%lx", (unsigned long)(uintptr_t)p); return buf; }

/* ------------------------------------------------------- write after free */
static size_t waf_size;
static long waf_off;

/* the child says which pointer it freed: the message must name it */
static void say(const void *p)
{
    char buf[32];
    printf("%s\n", hex(p, buf));
    fflush(stdout);
}

/* free, write one byte, then enough frees of the size that the block leaves the ring */
static int waf_quarantined(void *arg)
{
    (void)arg;
    char *p = malloc(waf_size);
    say(p);
    free(p);
    p[waf_off] = 'a';
    for (unsigned i = 0; i < 4 * HAK_QUARANTINE; i++) free(malloc(waf_size));
    return 0;
}

/* free, let it leave the ring (frees of another class: nothing else of its
 * class moves), write, then one malloc of the size hands it out again */
static int waf_on_slab(void *arg)
{
    (void)arg;
    char *p = malloc(waf_size);
    say(p);
    void *others[HAK_QUARANTINE];
    size_t other = waf_size < 2048 ? 3000 : 16;
    for (unsigned i = 0; i < HAK_QUARANTINE; i++) others[i] = malloc(other);
    free(p);
    for (unsigned i = 0; i < HAK_QUARANTINE; i++) free(others[i]);   /* p leaves the ring */
    p[waf_off] = 'a';
    (void)malloc(waf_size);   /* p comes back */
    return 0;
}

/* an aligned block: the alias pointer is what the message names */
static int waf_aligned(void *arg)
{
    (void)arg;
    char *p = aligned_alloc(64, waf_size);
    say(p);
    free(p);
    p[waf_off] = 'a';
    for (unsigned i = 0; i < 4 * HAK_QUARANTINE; i++) free(aligned_alloc(64, waf_size));
    return 0;
}

/* the child aborted with the message, naming the block of the pointer it
 * printed (an aligned pointer's block may start up to its alignment before) */
static bool waf_caught(const t_child *c, size_t slack)
{
    unsigned long said, named;
    const char *m = strstr(c->err, HAK_WAF_MSG " at ");
    if (!c->signaled || c->sig != SIGABRT || !m || sscanf(c->out, "%lx", &said) != 1 ||
        sscanf(m + strlen(HAK_WAF_MSG " at "), "%lx", &named) != 1)
        return false;
    return named <= said && said - named <= slack;
}

static void test_write_after_free(void)
{
    t_section("full: a write after free aborts, naming the block");
    static const size_t ws[] = { 16, 128, 1000, 4000, 40000 };
    for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
        waf_size = ws[k];
        waf_off = (long)(ws[k] / 2 + 4);   /* past the link words */
        t_child c;
        t_run_fn(waf_quarantined, NULL, 30, &c);
        CHECK(waf_caught(&c, 0),
              "malloc(%zu), free, write p[%ld], more frees: want SIGABRT and \"%s\", got %s\n  stderr: %s", ws[k],
              waf_off, HAK_WAF_MSG, t_how(&c), c.err);
        t_run_fn(waf_on_slab, NULL, 30, &c);
        CHECK(waf_caught(&c, 0),
              "malloc(%zu), free, out of the ring, write p[%ld], malloc: want SIGABRT and \"%s\", got %s\n  stderr: %s",
              ws[k], waf_off, HAK_WAF_MSG, t_how(&c), c.err);
        t_run_fn(waf_aligned, NULL, 30, &c);
        CHECK(waf_caught(&c, 64 + HAK_ALIAS_SIZE_OFF),
              "aligned_alloc(64, %zu), free, write: want SIGABRT and \"%s\", got %s\n  stderr: %s", ws[k], HAK_WAF_MSG,
              t_how(&c), c.err);
    }
}

/* -------------------------------------------------------- freed reads zero */
static int touch_read(void *arg) { return *(volatile char *)arg; }

static void test_freed_zero(void)
{
    t_section("full: freed memory reads zero; Huge faults");
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        for (int aligned = 0; aligned < 2; aligned++) {
            size_t n = sizes[k];
            if (aligned && n + 128 > HAK_HARDEN_SLAB_MAX) continue;   /* a Huge block: faults, below */
            unsigned char *p = aligned ? aligned_alloc(128, n) : malloc(n);
            size_t u = malloc_usable_size(p);
            memset(p, 0xa5, u);
            free(p);
            size_t bad = u;
            for (size_t i = 0; i < u; i++)
                if (((volatile unsigned char *)p)[i] != 0) { bad = i; break; }
            CHECK_LOOP(bad == u, "%s(%zu), filled, freed: byte %zu of %zu reads 0x%x", aligned ? "aligned_alloc" : "malloc",
                       n, bad, u, bad < u ? p[bad] : 0);
        }
    }
    CHECK_LOOP_END("freed Tiny, Mid and aligned blocks read zero");
    char *h = malloc(HAK_HARDEN_SLAB_MAX + 1);
    h[0] = 1;
    free(h);
    t_child c;
    t_run_fn(touch_read, h, 10, &c);
    CHECK(c.signaled && c.sig == SIGSEGV, "reading a freed block of %zu B: want SIGSEGV, got %s",
          (size_t)HAK_HARDEN_SLAB_MAX + 1, t_how(&c));
}

/* ------------------------------------------------------------- quarantine */
/* frees of other blocks of the size until p is handed out again: their count */
static unsigned frees_until_reuse(size_t n, unsigned limit)
{
    void *p = malloc(n);
    free(p);
    for (unsigned i = 0; i < limit; i++) {
        void *q = malloc(n);
        if (q == p) { free(q); return i; }
        free(q);
    }
    return limit;
}

static void test_quarantine(void)
{
    t_section("full: a freed block comes back only after HAK_QUARANTINE other frees");
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        unsigned got = frees_until_reuse(sizes[k], 8 * HAK_QUARANTINE);
        CHECK_LOOP(got >= HAK_QUARANTINE - 1, "malloc(%zu): the freed block came back after %u other frees (ring: %u)",
                   sizes[k], got, HAK_QUARANTINE);
        CHECK_LOOP(got < 8 * HAK_QUARANTINE, "malloc(%zu): the freed block never came back (ring unbounded?)", sizes[k]);
    }
    CHECK_LOOP_END("reuse delayed by the ring, and bounded");
}

/* ------------------------------------------------------------ double frees */
static void *dfree_ptr;
static int plain_double_free(void *arg) { (void)arg; free(dfree_ptr); return 0; }

/* two racers free the same pointer each round, released at the same instant */
enum { RACE_ROUNDS = 1000 };
static void *race_ptr;
static _Atomic int race_go, race_done;
static hak_free_status race_st[2][RACE_ROUNDS];

static void *racer(void *arg)
{
    int me = (int)(uintptr_t)arg;
    for (int r = 0; r < RACE_ROUNDS; r++) {
        while (atomic_load(&race_go) <= r) sched_yield();
        race_st[me][r] = HK(hak_free_checked)(race_ptr);
        atomic_fetch_add(&race_done, 1);
    }
    return NULL;
}

static void test_double_free(void)
{
    t_section("full: double frees of quarantined blocks are DOUBLE");
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        for (int aligned = 0; aligned < 2; aligned++) {
            size_t n = sizes[k];
            void *p = aligned ? aligned_alloc(256, n) : malloc(n);
            CHECK_LOOP(HK(hak_free_checked)(p) == HAK_FREE_OK, "first free of %zu", n);
            hak_free_status st = HK(hak_free_checked)(p);
            CHECK_LOOP(st == HAK_FREE_DOUBLE, "%s(%zu) freed twice while quarantined: %s", aligned ? "aligned" : "malloc", n,
                       t_vname(st));
        }
        /* back on its slab: still DOUBLE */
        void *p = malloc(sizes[k]);
        free(p);
        /* frees of another class push p out of the ring, and no malloc can hand it out again */
        for (unsigned i = 0; i < 2 * HAK_QUARANTINE; i++) free(malloc(sizes[k] < 2048 ? 3000 : 16));
        hak_free_status st = HK(hak_free_checked)(p);
        CHECK_LOOP(st == HAK_FREE_DOUBLE, "malloc(%zu) freed twice after leaving the ring: %s", sizes[k], t_vname(st));
    }
    CHECK_LOOP_END("second free is DOUBLE");
    dfree_ptr = malloc(40);
    free(dfree_ptr);
    t_child c;
    t_run_fn(plain_double_free, NULL, 10, &c);
    CHECK(c.signaled && c.sig == SIGABRT && strstr(c.err, DFREE_MSG), "free() twice: want SIGABRT and \"%s\", got %s: %s",
          DFREE_MSG, t_how(&c), c.err);

    t_section("full: racing frees of one pointer: exactly one wins");
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, racer, (void *)(uintptr_t)i);
    int bad = 0;
    for (int r = 0; r < RACE_ROUNDS; r++) {
        race_ptr = malloc(r % 2 ? 48 : 3000);
        atomic_store(&race_done, 0);
        atomic_store(&race_go, r + 1);
        while (atomic_load(&race_done) < 2) sched_yield();
        hak_free_status a = race_st[0][r], b = race_st[1][r];
        if (!((a == HAK_FREE_OK && b == HAK_FREE_DOUBLE) || (a == HAK_FREE_DOUBLE && b == HAK_FREE_OK))) bad++;
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(bad == 0, "%d of %d races without exactly one OK and one DOUBLE", bad, (int)RACE_ROUNDS);
    /* the window forced: both frees found the block live before either claimed it */
    CHECK_LOOP_BEGIN();
    for (int r = 0; r < 4; r++) {
        void *p = r % 2 ? malloc(48) : r == 2 ? malloc(3000) : aligned_alloc(64, 100);
        hak_where_t w1, w2;
        hak_free_status c1 = hak_classify_all(p, &w1), c2 = hak_classify_all(p, &w2);
        hak_free_status f1 = hak_free_found(&w1, p, 1), f2 = hak_free_found(&w2, p, 1);
        CHECK_LOOP(c1 == HAK_FREE_OK && c2 == HAK_FREE_OK && f1 == HAK_FREE_OK && f2 == HAK_FREE_DOUBLE,
                   "round %d: both classified %s/%s, frees %s then %s", r, t_vname(c1), t_vname(c2), t_vname(f1),
                   t_vname(f2));
    }
    CHECK_LOOP_END("the second of two frees that both found the block live is DOUBLE");
    CHECK(HK(hak_heap_check)() == 0, "heap check after the races (threads exited, their rings flushed)");
}

/* -------------------------------------------------- calloc, realloc, aligned */
static void *thread_churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = malloc(sizes[i % NSIZES]);
        memset(p, 0x5a, sizes[i % NSIZES]);
        free(p);
    }
    return NULL;
}

static void test_apis(void)
{
    t_section("full: calloc zero without its memset, realloc, aligned, sized, threads");
    /* dirty every class, then recycle the spans for others */
    enum { M = 300 };
    static void *v[M];
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < M; i++) { size_t n = sizes[(i + r) % NSIZES]; v[i] = malloc(n); memset(v[i], 0xff, n); }
        for (int i = 0; i < M; i++) free(v[i]);
        for (unsigned i = 0; i < 2 * HAK_QUARANTINE; i++) free(malloc(8));   /* out of the ring */
        malloc_trim(0);
    }
    CHECK_LOOP_BEGIN();
    for (int i = 0; i < M; i++) {
        size_t n = sizes[(i * 7) % NSIZES];
        unsigned char *p = calloc(1, n);
        size_t bad = n;
        for (size_t j = 0; j < n; j++) if (p[j]) { bad = j; break; }
        CHECK_LOOP(bad == n, "calloc(1, %zu): byte %zu is 0x%x", n, bad, bad < n ? p[bad] : 0);
        v[i] = p;
    }
    CHECK_LOOP_END("calloc after dirty frees and recycled spans");
    for (int i = 0; i < M; i++) free(v[i]);

    unsigned char *p = malloc(10);
    t_fill(p, 10, 7);
    size_t keep = 10;
    CHECK_LOOP_BEGIN();
    for (size_t n = 11; n < 3 * HAK_HARDEN_SLAB_MAX; n = n * 3 / 2) {
        p = realloc(p, n);
        CHECK_LOOP(p && t_verify_prefix(p, keep, keep, 7) == (size_t)-1, "realloc to %zu kept the data", n);
        t_fill(p, n, 7);
        keep = n;
    }
    CHECK_LOOP_END("realloc across Tiny, Mid and Huge keeps the data");
    free(p);
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++)
        for (size_t al = 32; al <= 8192; al *= 4) {
            void *q = aligned_alloc(al, sizes[k]);
            CHECK_LOOP(q && (uintptr_t)q % al == 0, "aligned_alloc(%zu, %zu)", al, sizes[k]);
            memset(q, 1, sizes[k]);
            CHECK_LOOP(HK(hak_free_sized_checked)(q, al, sizes[k]) == HAK_FREE_OK, "free_aligned_sized(%zu, %zu)", al,
                       sizes[k]);
            void *r = malloc(sizes[k] * 8);
            CHECK_LOOP(HK(hak_free_sized_checked)(r, 0, sizes[k] * 8) == HAK_FREE_OK, "free_sized(malloc(%zu))",
                       sizes[k] * 8);
        }
    CHECK_LOOP_END("aligned and sized frees");
    /* an aligned block's exact size is kept: a size off by a few bytes, same class, is rejected */
    CHECK_LOOP_BEGIN();
    for (size_t al = 32; al <= 8192; al *= 2) {
        void *q = aligned_alloc(al, 9000);
        hak_free_status st = HK(hak_free_sized_checked)(q, al, 8990);
        CHECK_LOOP(st == HAK_FREE_SIZE_MISMATCH, "free_aligned_sized(aligned_alloc(%zu, 9000), %zu, 8990): %s", al, al,
                   t_vname(st));
        CHECK_LOOP(HK(hak_free_sized_checked)(q, al, 9000) == HAK_FREE_OK, "then with its own size");
    }
    CHECK_LOOP_END("aligned blocks: the exact size");
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_churn, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(HK(hak_heap_check)() == 0, "heap check after threads exited with full rings");
}

/* ---------------------------------------------------------------- overflow */
static int overflow_8(void *arg)
{
    (void)arg;
    char *p = malloc(8);
    size_t u = malloc_usable_size(p);
    p[u + 7] ^= 1;   /* the next slot's link (the tag in front of it untouched) */
    free(p);
    return 0;
}

static void test_overflow(void)
{
    t_section("full: an overflow into the next free block's link aborts at free");
    t_child c;
    t_run_fn(overflow_8, NULL, 10, &c);
    CHECK(c.signaled && c.sig == SIGABRT && strstr(c.err, OVERFLOW_MSG), "want SIGABRT and \"%s\", got %s: %s",
          OVERFLOW_MSG, t_how(&c), c.err);
}

/* ---------------------------------------------------------------- default */
static void test_default(void)
{
    t_section("default: no quarantine, freed blocks reused at once");
    CHECK_LOOP_BEGIN();
    for (size_t k = 0; k < NSIZES; k++) {
        unsigned got = frees_until_reuse(sizes[k], 4);
        CHECK_LOOP(got == 0, "malloc(%zu): the freed block came back after %u other frees", sizes[k], got);
    }
    CHECK_LOOP_END("LIFO reuse, as before full mode");
    CHECK(HK(hak_heap_check)() == 0, "heap check");
}

/* Producer/consumer: one thread mallocs small blocks and writes their first
 * words (as a program does), another frees them.  The freer's neighbour
 * check must not read a neighbour the producer is popping and writing as an
 * overflow (it did: xthread and rptest aborted with "heap overflow"). */
#define XT_N 400000
#define XT_RING 4
static _Atomic(void *) xt_ring[XT_RING];

static void *xt_consumer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < XT_N; i++) {
        void *p;
        while ((p = atomic_exchange(&xt_ring[i % XT_RING], NULL)) == NULL) sched_yield();
        free(p);
    }
    return NULL;
}

static int xt_child(void *arg)
{
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, xt_consumer, NULL) != 0) return 2;
    for (unsigned i = 0; i < XT_N; i++) {
        uint64_t *p = malloc(48);
        if (!p) return 3;
        p[0] = 0x5a5a5a5a5a5a5a5aull ^ i;   /* user data where a free block's link goes */
        while (atomic_load(&xt_ring[i % XT_RING]) != NULL) sched_yield();
        atomic_store(&xt_ring[i % XT_RING], p);
    }
    pthread_join(t, NULL);
    return 0;
}

static void test_cross_thread(void)
{
    t_section("full: producer/consumer, every free by another thread: no false overflow");
    t_child c;
    t_run_fn(xt_child, NULL, 120, &c);
    CHECK(c.exited && c.code == 0, "producer/consumer in full mode: %s, stderr: %.200s", t_how(&c), c.err);
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n0 passed, 1 failed\n");
        return 1;
    }
    const char *m = getenv("HAKMEM_HARDEN");
    if (m && !strcmp(m, "full")) {
        test_quarantine();
        test_double_free();
        test_write_after_free();
        test_freed_zero();
        test_apis();
        test_overflow();
        test_cross_thread();
    } else {
        test_default();
    }
    return t_done();
}
