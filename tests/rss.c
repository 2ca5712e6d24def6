/* rss.c: memory goes back to the OS.
 *
 * 1. Tiny + Mid: allocate T_RSS_MIB (default 200) MiB, half in Tiny blocks
 *    (1..1024 bytes) and half in Mid blocks (1 KiB..1 MiB), every byte
 *    written; free everything in random order; malloc_trim(0) and hak_trim().
 *    Pass: VmRSS ends within TOL of the start, TOL = 10 % of the allocation
 *    (20 MiB for 200 MiB) plus 4 MiB for the bookkeeping of the test itself.
 * 2. Huge: 16 blocks of 6 MiB, written, then freed.  Freed huge pages are
 *    cached for reuse within a budget (32 MiB when little else is in use, see
 *    README): without any trim call RSS returns within that budget + 4 MiB of
 *    the start; after malloc_trim(0) RSS is within 4 MiB of the start and
 *    committed is back where it was.
 * 3. Empty spans decay: in a fresh thread, one block of every Mid class is
 *    allocated and freed (each class its own span, 27 MB in all): at most the
 *    idle budget (2 MiB) plus 256 KiB stays committed; after twice the decay
 *    delay and one slow-path malloc, nothing of it does.
 * 4. With T_RSS_ZERO=1 (run.sh sets HAKMEM_IDLE_KB=0 HAKMEM_PURGE_KB=0 with
 *    it), only this: a malloc/free loop of one 16-byte block, 200000 times,
 *    takes fewer than 2000 page faults.  A heap that released its one empty
 *    span at every free purged it and faulted it back at the next malloc
 *    (at least one fault a cycle: 200000).
 * 5. Free Mid blocks decay inside spans still in use: in a fresh thread, 512
 *    blocks of 24 KiB, written, every other one freed (6 MiB free, no span
 *    empty, so no span can go back): after twice the decay delay and some
 *    slow-path mallocs, RSS has fallen by at least 3 MiB; the same with
 *    malloc_trim(0) at once instead of the wait.
 * The pointer arrays live in an mmap of their own, released before the final
 * reading, so they do not count. */
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/mman.h>

#include "testlib.h"

static long mib(long kib) { return kib / 1024; }

static void test_small(size_t total_mib)
{
    size_t total = total_mib << 20, half = total / 2;
    size_t cap = half / 16 + half / 1024 + 16;    /* upper bound of the block count */
    size_t bytes = cap * sizeof(void *) * 2;
    void **ptr = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ptr != MAP_FAILED, "mmap for the pointer array");
    if (ptr == MAP_FAILED)
        return;
    size_t *len = (size_t *)(ptr + cap);

    t_rng r;
    t_seed(&r, 5);
    free(malloc(100));     /* the library is initialised before the baseline */
    long base = t_rss_kib();
    double t0 = t_now();
    size_t n = 0, tiny = 0, mid = 0;
    while (tiny < half && n < cap) {
        len[n] = t_range(&r, 1, HAKMEM_TINY_MAX);
        ptr[n] = malloc(len[n]);
        if (!ptr[n])
            break;
        memset(ptr[n], 0x5c, len[n]);
        tiny += len[n++];
    }
    while (mid < half && n < cap) {
        len[n] = t_range(&r, HAKMEM_TINY_MAX + 1, HAKMEM_MID_MAX);
        ptr[n] = malloc(len[n]);
        if (!ptr[n])
            break;
        memset(ptr[n], 0x5c, len[n]);
        mid += len[n++];
    }
    long full = t_rss_kib();
    CHECK(tiny >= half && mid >= half, "allocated only %zu + %zu bytes", tiny, mid);
    CHECK(full - base >= (long)(total * 9 / 10 / 1024), "RSS rose only by %ld MiB for %zu MiB written",
          mib(full - base), total_mib);

    /* free in random order so slabs empty unevenly */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = t_next(&r) % (i + 1);
        void *tp = ptr[i];
        ptr[i] = ptr[j];
        ptr[j] = tp;
    }
    for (size_t i = 0; i < n; i++)
        free(ptr[i]);
    long after_free = t_rss_kib();
    munmap(ptr, bytes);
    malloc_trim(0);
    HK(hak_trim)();
    long after_trim = t_rss_kib();
    hak_stats s;
    HK(hak_get_stats)(&s);
    long tol = (long)(total / 10 / 1024) + 4096;
    printf("tiny+mid: %zu blocks, %zu MiB; VmRSS start %ld MiB, full %ld MiB, after free %ld MiB, "
           "after trim %ld MiB (tolerance +%ld MiB); committed after trim %llu KiB; %.2f s\n",
           n, total_mib, mib(base), mib(full), mib(after_free), mib(after_trim), mib(tol),
           (unsigned long long)s.committed / 1024, t_now() - t0);
    CHECK(after_trim - base <= tol, "VmRSS after free+trim is %ld MiB above the start (tolerance %ld MiB)",
          mib(after_trim - base), mib(tol));
    CHECK(s.committed <= (uint64_t)tol * 1024, "hakmem still holds %llu KiB after trim",
          (unsigned long long)s.committed / 1024);
    CHECK(HK(hak_heap_check)() == 0, "heap check");
}

static void test_huge(void)
{
    enum { NB = 16 };
    const size_t sz = 6u << 20;
    long page = sysconf(_SC_PAGESIZE);
    long base = t_rss_kib();
    unsigned char *p[NB];
    for (int i = 0; i < NB; i++) {
        p[i] = malloc(sz);
        if (p[i])
            memset(p[i], 0x33, sz);
    }
    long full = t_rss_kib();
    CHECK(full - base >= (long)(NB * (sz >> 10) * 9 / 10), "RSS rose by %ld MiB for %d x 6 MiB", mib(full - base), NB);
    hak_stats s0, s1;
    HK(hak_get_stats)(&s0);
    for (int i = 0; i < NB; i++)
        free(p[i]);
    long after = t_rss_kib();
    malloc_trim(0);
    long trimmed = t_rss_kib();
    HK(hak_get_stats)(&s1);
    uint64_t live_huge = (uint64_t)NB * sz;
    printf("huge: %d x 6 MiB; VmRSS start %ld MiB, full %ld MiB, after free (no trim) %ld MiB, after malloc_trim "
           "%ld MiB; committed %llu KiB -> %llu KiB\n", NB, mib(base), mib(full), mib(after), mib(trimmed),
           (unsigned long long)s0.committed / 1024, (unsigned long long)s1.committed / 1024);
    CHECK(after - base <= (32 << 10) + 4096, "VmRSS %ld MiB above the start after freeing huge blocks (cache budget "
          "32 MiB)", mib(after - base));
    CHECK(trimmed - base <= 4096, "VmRSS %ld MiB above the start after malloc_trim", mib(trimmed - base));
    CHECK(s0.committed >= live_huge && s1.committed <= s0.committed - live_huge,
          "committed %llu KiB with the blocks live, %llu KiB after free + trim", (unsigned long long)s0.committed / 1024,
          (unsigned long long)s1.committed / 1024);
    (void)page;
}

static void *decay_thread(void *arg)
{
    uint64_t *out = arg;   /* committed: before, after the frees, after the delay */
    hak_stats s;
    free(malloc(100));     /* the heap exists before the baseline */
    HK(hak_get_stats)(&s);
    out[0] = s.committed;
    for (size_t n = HAKMEM_TINY_MAX + 1; n <= HAKMEM_MID_MAX; n += n / 4) {
        void *p = malloc(n);
        if (p) memset(p, 1, 64);
        free(p);
    }
    HK(hak_get_stats)(&s);
    out[1] = s.committed;
    usleep(2 * 500 * 1000 + 50000);      /* twice HAKMEM_DECAY_MS's default */
    void *q = malloc(200);               /* a class this thread never used: the slow path looks */
    free(q);
    HK(hak_get_stats)(&s);
    out[2] = s.committed;
    return NULL;
}

static void test_decay(void)
{
    uint64_t c[3] = { 0, 0, 0 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, decay_thread, c) == 0, "pthread_create");
    pthread_join(t, NULL);
    printf("decay: committed %llu KiB before, %llu KiB after freeing one block of every Mid class, "
           "%llu KiB after the delay\n", (unsigned long long)c[0] / 1024, (unsigned long long)c[1] / 1024,
           (unsigned long long)c[2] / 1024);
    CHECK(c[1] <= c[0] + (2048 + 256) * 1024, "empty spans kept: %llu KiB above the start (budget 2048 KiB)",
          (unsigned long long)(c[1] - c[0]) / 1024);
    CHECK(c[2] <= c[0] + 256 * 1024, "empty spans not released after the decay delay: %llu KiB above the start",
          (unsigned long long)(c[2] - c[0]) / 1024);
}

/* section 5: free Mid blocks in spans that stay in use */
enum { HALF_N = 512, HALF_SZ = 24 * 1024 };

static void *half_thread(void *arg)
{
    long *out = arg;   /* RSS KiB: after the frees, after the wait or trim */
    int trim = out[2] != 0;
    void **v = mmap(NULL, HALF_N * sizeof *v, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v == MAP_FAILED) return NULL;
    for (int i = 0; i < HALF_N; i++) {
        v[i] = malloc(HALF_SZ);
        if (v[i]) memset(v[i], 0x5a, HALF_SZ);
    }
    for (int i = 0; i < HALF_N; i += 2) { free(v[i]); v[i] = NULL; }
    out[0] = t_rss_kib();
    if (trim) {
        malloc_trim(0);
    } else {
        /* a program that goes on: every 100 ms a few mallocs that take the
         * slow path (64 blocks of a class not used before: its first span
         * and a carve per page), 1.4 s in all, almost three decay delays
         * (HAKMEM_DECAY_MS's default, 500 ms) */
        void *t[14][64];
        for (int r = 0; r < 14; r++) {
            usleep(100 * 1000);
            for (int i = 0; i < 64; i++) t[r][i] = malloc(300 + 50 * (size_t)r);
        }
        out[1] = t_rss_kib();
        for (int r = 0; r < 14; r++)
            for (int i = 0; i < 64; i++) free(t[r][i]);
    }
    if (trim) out[1] = t_rss_kib();
    for (int i = 1; i < HALF_N; i += 2) free(v[i]);
    munmap(v, HALF_N * sizeof *v);
    return NULL;
}

static void test_half_used(int trim)
{
    long r[3] = { 0, 0, trim };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, half_thread, r) == 0, "pthread_create");
    pthread_join(t, NULL);
    printf("half-used Mid spans (%s): RSS %ld KiB after freeing %d blocks of %d KiB, %ld KiB after\n",
           trim ? "malloc_trim" : "decay", r[0], HALF_N / 2, HALF_SZ / 1024, r[1]);
    CHECK(r[0] > 0 && r[0] - r[1] >= 3 * 1024, "free Mid blocks kept their pages (%s): RSS fell by %ld KiB of %d",
          trim ? "malloc_trim" : "after the decay delay", r[0] - r[1], HALF_N / 2 * HALF_SZ / 1024);
}

/* section 4: no idle budget and no dirty pool */
static void test_zero_budget(void)
{
    enum { LOOPS = 200000 };
    free(malloc(16));   /* the heap and the first span exist before the count */
    long f0 = t_minflt();
    int failed = 0;
    for (int i = 0; i < LOOPS; i++) {
        volatile char *p = malloc(16);
        if (p == NULL) { failed++; continue; }
        p[0] = (char)i;
        free((void *)p);
    }
    long f1 = t_minflt();
    CHECK(failed == 0, "malloc(16) failed %d times", failed);
    printf("zero budget: %d malloc/free pairs of one block, %ld page faults\n", LOOPS, f1 - f0);
    CHECK(f1 - f0 < 2000, "a one-block loop with HAKMEM_IDLE_KB=0 HAKMEM_PURGE_KB=0 took %ld page faults for %d pairs",
          f1 - f0, LOOPS);
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n");
        t_failed++;
        return t_done();
    }
    if (t_env_u64("T_RSS_ZERO", 0)) {
        t_section("no idle budget: a one-block loop keeps its span");
        test_zero_budget();
        return t_done();
    }
    t_section("RSS after freeing Tiny and Mid blocks");
    test_small((size_t)t_env_u64("T_RSS_MIB", 200));
    t_section("empty spans: bounded idle set, released after the decay delay");
    test_decay();
    t_section("Huge blocks: cached within the budget, unmapped by malloc_trim");
    test_huge();
    t_section("free Mid blocks in spans still in use: pages back after the decay delay, or at malloc_trim");
    test_half_used(0);
    test_half_used(1);
    return t_done();
}
