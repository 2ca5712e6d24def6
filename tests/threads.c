/* threads.c: multi-threaded stress with cross-thread frees, and thread churn.
 *
 * Knobs (environment): T_THREADS (default 4), T_ITERS (per thread, default
 * 200000), T_SEED (default 1), T_ROUNDS (churn rounds, default 60).  The same
 * seed gives the same per-thread operation sequence (the interleaving, and so
 * which thread frees what, is up to the scheduler).
 *
 * stress: each thread keeps a private set of live blocks (malloc, calloc,
 * realloc, aligned_alloc, free) and trades blocks through a shared mailbox:
 * it swaps a block of its own into a random slot and frees whatever it finds
 * there, a block another thread allocated.  Every block carries a pattern
 * derived from its address and size, verified before each free or realloc.
 *
 * churn: rounds of short-lived threads that allocate, free some blocks
 * themselves, leave the rest in a shared pool and exit; the next round's
 * threads and the main thread free those blocks after their owner died.
 * Memory held from the OS must not grow with the number of rounds. */
#include <pthread.h>
#include <stdatomic.h>

#include "testlib.h"

/* A block and its size travel together; the key of its pattern is p ^ size. */
typedef struct { unsigned char *p; size_t n; } blk;

static uint64_t key_of(const blk *b) { return (uintptr_t)b->p ^ b->n; }

/* Failures from worker threads are collected here and turned into CHECKs. */
static atomic_long bad_pattern, bad_align, bad_null, bad_zero, bad_realloc;

static void verify_blk(const blk *b)
{
    if (t_verify(b->p, b->n, key_of(b)) != (size_t)-1) {
        if (atomic_fetch_add(&bad_pattern, 1) < 5)
            fprintf(stderr, "block %p (%zu bytes) corrupted at %zu\n", (void *)b->p, b->n,
                    t_verify(b->p, b->n, key_of(b)));
    }
}

/* Size mix: mostly Tiny, a quarter Mid, a rare Huge. */
static size_t pick_size(t_rng *r)
{
    uint64_t x = t_next(r) % 1000;
    if (x < 700)
        return t_range(r, 1, HAKMEM_TINY_MAX);
    if (x < 997)
        return t_range(r, HAKMEM_TINY_MAX + 1, 65536);
    return t_range(r, HAKMEM_MID_MAX + 1, 3 << 20);
}

static blk make_blk(t_rng *r)
{
    blk b;
    b.n = pick_size(r);
    uint64_t how = t_next(r) % 10;
    if (how == 0) {
        b.p = calloc(1, b.n);
        if (b.p && b.n <= 256)
            for (size_t i = 0; i < b.n; i++)
                if (b.p[i]) {
                    atomic_fetch_add(&bad_zero, 1);
                    break;
                }
    } else if (how == 1) {
        b.p = aligned_alloc((size_t)64 << (t_next(r) % 7), b.n);
    } else {
        b.p = malloc(b.n);
    }
    if (!b.p) {
        atomic_fetch_add(&bad_null, 1);
        return b;
    }
    if (b.n > 8 && (uintptr_t)b.p % 16)
        atomic_fetch_add(&bad_align, 1);
    t_fill(b.p, b.n, key_of(&b));
    return b;
}

/* ---------------------------------------------------------------- stress */
#define MAILBOX 1024
static struct { atomic_flag lock; blk b; } mailbox[MAILBOX];

typedef struct { int id; uint64_t seed; long iters; long crossed; } worker_arg;

#define LOCAL 256

static void *stress_worker(void *arg)
{
    worker_arg *w = arg;
    t_rng r;
    t_seed(&r, w->seed * 1000003 + (uint64_t)w->id);
    blk local[LOCAL] = { { 0 } };
    for (long it = 0; it < w->iters; it++) {
        uint64_t op = t_next(&r) % 100;
        size_t i = t_next(&r) % LOCAL;
        if (op < 15) {
            /* trade through the mailbox: the found block is freed here */
            blk mine = make_blk(&r);
            if (!mine.p)
                continue;
            size_t s = t_next(&r) % MAILBOX;
            while (atomic_flag_test_and_set_explicit(&mailbox[s].lock, memory_order_acquire))
                ;
            blk theirs = mailbox[s].b;
            mailbox[s].b = mine;
            atomic_flag_clear_explicit(&mailbox[s].lock, memory_order_release);
            if (theirs.p) {
                verify_blk(&theirs);
                free(theirs.p);
                w->crossed++;
            }
        } else if (op < 25 && local[i].p) {
            /* realloc keeps the old pattern on the common prefix */
            blk nb = { NULL, pick_size(&r) };
            verify_blk(&local[i]);
            size_t keep = nb.n < local[i].n ? nb.n : local[i].n;
            uint64_t oldkey = key_of(&local[i]);
            nb.p = realloc(local[i].p, nb.n);
            if (!nb.p) {
                atomic_fetch_add(&bad_null, 1);
                continue;
            }
            size_t off = t_verify_prefix(nb.p, keep, local[i].n, oldkey);
            if (off != (size_t)-1 && atomic_fetch_add(&bad_realloc, 1) < 5)
                fprintf(stderr, "realloc %zu -> %zu lost byte %zu\n", local[i].n, nb.n, off);
            t_fill(nb.p, nb.n, key_of(&nb));
            local[i] = nb;
        } else if (local[i].p) {
            verify_blk(&local[i]);
            free(local[i].p);
            local[i].p = NULL;
        } else {
            local[i] = make_blk(&r);
        }
    }
    for (size_t i = 0; i < LOCAL; i++)
        if (local[i].p) {
            verify_blk(&local[i]);
            free(local[i].p);
        }
    return NULL;
}

static void test_stress(int nthreads, long iters, uint64_t seed)
{
    hak_stats s0, s1;
    HK(hak_get_stats)(&s0);
    pthread_t th[64];
    worker_arg wa[64];
    double t0 = t_now();
    for (int i = 0; i < nthreads; i++) {
        wa[i] = (worker_arg){ i, seed, iters, 0 };
        CHECK(pthread_create(&th[i], NULL, stress_worker, &wa[i]) == 0, "pthread_create %d", i);
    }
    long crossed = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        crossed += wa[i].crossed;
    }
    /* the threads are gone: their mailbox blocks are freed by main */
    long left = 0;
    for (int s = 0; s < MAILBOX; s++)
        if (mailbox[s].b.p) {
            verify_blk(&mailbox[s].b);
            free(mailbox[s].b.p);
            mailbox[s].b.p = NULL;
            left++;
        }
    double dt = t_now() - t0;
    printf("stress: %d threads x %ld ops, seed %llu: %ld cross-thread frees, %ld freed after exit, %.2f s\n",
           nthreads, iters, (unsigned long long)seed, crossed, left, dt);
    CHECK(atomic_load(&bad_pattern) == 0, "%ld corrupted blocks", atomic_load(&bad_pattern));
    CHECK(atomic_load(&bad_align) == 0, "%ld misaligned blocks", atomic_load(&bad_align));
    CHECK(atomic_load(&bad_zero) == 0, "%ld calloc blocks not zeroed", atomic_load(&bad_zero));
    CHECK(atomic_load(&bad_realloc) == 0, "%ld reallocs lost content", atomic_load(&bad_realloc));
    CHECK(atomic_load(&bad_null) == 0, "%ld failed allocations", atomic_load(&bad_null));
    CHECK(crossed > iters / 20, "only %ld cross-thread frees", crossed);
    CHECK(HK(hak_heap_check)() == 0, "hak_heap_check after stress");
    HK(hak_get_stats)(&s1);
    /* glibc's own per-thread allocations (e.g. for TLS) may leave a few blocks */
    long d = (long)(s1.live_blocks - s0.live_blocks);
    CHECK(d >= -8 && d <= 8 + nthreads, "live blocks %llu before, %llu after: every block was freed",
          (unsigned long long)s0.live_blocks, (unsigned long long)s1.live_blocks);
}

/* ---------------------------------------------------------------- churn */
#define POOL 4096
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static blk pool[POOL];
static int pool_n;

typedef struct { uint64_t seed; } churn_arg;

static void *churn_worker(void *arg)
{
    t_rng r;
    t_seed(&r, ((churn_arg *)arg)->seed);
    blk mine[64];
    for (int i = 0; i < 64; i++)
        mine[i] = make_blk(&r);
    /* free some blocks that dead threads left behind */
    for (int k = 0; k < 24; k++) {
        blk b = { NULL, 0 };
        pthread_mutex_lock(&pool_lock);
        if (pool_n > 0) {
            size_t j = t_next(&r) % (size_t)pool_n;
            b = pool[j];
            pool[j] = pool[--pool_n];
        }
        pthread_mutex_unlock(&pool_lock);
        if (b.p) {
            verify_blk(&b);
            free(b.p);
        }
    }
    /* free half ourselves (they sit in this thread's cache at exit), leave
     * the other half for others */
    for (int i = 0; i < 64; i++) {
        if (!mine[i].p)
            continue;
        if (i % 2 == 0) {
            verify_blk(&mine[i]);
            free(mine[i].p);
            continue;
        }
        pthread_mutex_lock(&pool_lock);
        if (pool_n < POOL) {
            pool[pool_n++] = mine[i];
            mine[i].p = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
        if (mine[i].p)
            free(mine[i].p);
    }
    return NULL;
}

static void test_churn(int rounds, int per_round, uint64_t seed)
{
    hak_stats s;
    uint64_t committed_early = 0;
    double t0 = t_now();
    int created = 0;
    for (int round = 0; round < rounds; round++) {
        pthread_t th[16];
        /* a detached thread may read its argument after the next round began */
        static churn_arg ca_all[2][16];
        churn_arg *ca = ca_all[round % 2];
        for (int i = 0; i < per_round; i++) {
            ca[i].seed = seed * 7919 + (uint64_t)(round * per_round + i);
            if (pthread_create(&th[i], NULL, churn_worker, &ca[i]) == 0)
                created++;
            else
                th[i] = 0;
        }
        /* every other round some threads are detached: nobody joins them */
        for (int i = 0; i < per_round; i++)
            if (th[i]) {
                if (round % 2 && i == 0)
                    pthread_detach(th[i]);
                else
                    pthread_join(th[i], NULL);
            }
        if (round == rounds / 4) {
            usleep(20000);
            HK(hak_trim)();
            HK(hak_get_stats)(&s);
            committed_early = s.committed;
        }
    }
    usleep(50000);   /* let the detached threads finish */
    pthread_mutex_lock(&pool_lock);
    int left = pool_n;
    for (int j = 0; j < pool_n; j++) {
        verify_blk(&pool[j]);
        free(pool[j].p);
    }
    pool_n = 0;
    pthread_mutex_unlock(&pool_lock);
    HK(hak_trim)();
    HK(hak_get_stats)(&s);
    printf("churn: %d threads in %d rounds, %d blocks freed by main after their owners exited, "
           "committed %llu KiB at round %d, %llu KiB at the end, %.2f s\n",
           created, rounds, left, (unsigned long long)committed_early / 1024, rounds / 4,
           (unsigned long long)s.committed / 1024, t_now() - t0);
    CHECK(created == rounds * per_round, "created %d of %d threads", created, rounds * per_round);
    CHECK(atomic_load(&bad_pattern) == 0, "%ld corrupted blocks", atomic_load(&bad_pattern));
    CHECK(atomic_load(&bad_null) == 0, "%ld failed allocations", atomic_load(&bad_null));
    CHECK(HK(hak_heap_check)() == 0, "hak_heap_check after churn");
    /* caches of dead threads must be reused or returned, not leaked per thread:
     * 3/4 of the threads ran after the early reading */
    CHECK(s.committed <= 2 * committed_early + (8u << 20),
          "committed grew from %llu KiB to %llu KiB over %d more rounds",
          (unsigned long long)committed_early / 1024, (unsigned long long)s.committed / 1024,
          rounds - rounds / 4);
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n");
        t_failed++;
        return t_done();
    }
    int nthreads = (int)t_env_u64("T_THREADS", 4);
    long iters = (long)t_env_u64("T_ITERS", 200000);
    uint64_t seed = t_env_u64("T_SEED", 1);
    int rounds = (int)t_env_u64("T_ROUNDS", 60);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 64)
        nthreads = 64;
    t_section("cross-thread stress");
    test_stress(nthreads, iters, seed);
    t_section("thread churn and frees after the owner exited");
    test_churn(rounds, 8, seed);
    return t_done();
}
