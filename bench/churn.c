/* churn: threads come and go while objects migrate between them, like
 * mimalloc-bench's mstress / test-stress.
 *
 *   churn threads rounds slots ops seed
 *
 * Each round starts `threads` threads and joins them.  They share `slots`
 * pointers (slot i belongs to thread i % threads in a round, the mapping
 * rotating every round, so a block is usually freed by another thread than
 * the one that allocated it, often after that thread exited).  Each thread
 * does `ops` steps on its slots: free what is there and put a new block of
 * 8..2048 bytes (1 in 64: up to 64 KiB), writing its first bytes.
 *
 * Output: operations (malloc+free pairs) per CPU second (user+sys), since
 * thread start-up costs wall time that is no allocator's. */
#include "bench_util.h"   /* first: it sets _GNU_SOURCE */
#include <pthread.h>

static void **slots;
static long nslots, nthreads, nops;

struct arg { long id; uint64_t seed; };

static void *worker(void *p)
{
    struct arg *a = p;
    rng_t r;
    rng_seed(&r, a->seed);
    long mine = (nslots - a->id + nthreads - 1) / nthreads;
    for (long k = 0; k < nops; k++) {
        long i = a->id + nthreads * (long)(rng_next(&r) % (uint64_t)mine);
        free(slots[i]);
        size_t n = (rng_next(&r) & 63) == 0 ? rng_range(&r, 2049, 65536) : rng_range(&r, 8, 2048);
        char *q = malloc(n);
        if (!q) { fprintf(stderr, "churn: malloc(%zu) failed\n", n); exit(1); }
        memset(q, (int)k, n < 32 ? n : 32);
        slots[i] = q;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s threads rounds slots ops seed\n  e.g. %s 8 200 20000 5000 42\n", argv[0], argv[0]);
        return 2;
    }
    nthreads = parse_long(argv[1], "threads");
    long rounds = parse_long(argv[2], "rounds");
    nslots = parse_long(argv[3], "slots");
    nops = parse_long(argv[4], "ops");
    long seed = parse_long(argv[5], "seed");
    if (nthreads < 1 || nthreads > 256 || rounds < 1 || nslots < nthreads || nops < 1) {
        fprintf(stderr, "churn: need 1<=threads<=256, rounds>=1, slots>=threads, ops>=1\n");
        return 2;
    }
    printf("churn: threads=%ld rounds=%ld slots=%ld ops=%ld seed=%ld malloc=%s\n", nthreads, rounds, nslots, nops,
           seed, malloc_provider());
    slots = calloc((size_t)nslots, sizeof *slots);
    pthread_t t[256];
    struct arg a[256];
    double c0 = cpu_sec(), t0 = now_sec();
    for (long k = 0; k < rounds; k++) {
        for (long i = 0; i < nthreads; i++) {
            /* rotate: thread i of round k serves the slots thread (i+k) served before */
            a[i] = (struct arg){ (i + k) % nthreads, (uint64_t)seed * 1000003u + (uint64_t)(k * nthreads + i) };
            if (pthread_create(&t[i], NULL, worker, &a[i])) { fprintf(stderr, "churn: pthread_create\n"); return 1; }
        }
        for (long i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    }
    double cpu = cpu_sec() - c0, wall = now_sec() - t0;
    long rss_end = proc_status_kib("VmRSS");
    for (long i = 0; i < nslots; i++) free(slots[i]);
    double ops = (double)rounds * (double)nthreads * (double)nops;
    printf("churn: %.0f ops in %.3f s wall, %.3f s CPU\n", ops, wall, cpu);
    printf("RESULT ops_per_cpu_sec=%.0f ops_per_sec=%.0f cpu_sec=%.3f vmhwm_kib=%ld final_rss_kib=%ld\n", ops / cpu,
           ops / wall, cpu, proc_status_kib("VmHWM"), rss_end);
    return 0;
}
