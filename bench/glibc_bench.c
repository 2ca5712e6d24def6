/* glibc_bench: the two loops of glibc's own malloc benchmarks, re-written
 * (shape only: glibc's benchtests/bench-malloc-simple.c and
 * bench-malloc-thread.c).
 *
 *   glibc_bench simple threads rounds count size
 *       each thread, `rounds` times: malloc `count` blocks of `size` bytes,
 *       then free them in the same order (the allocator's list refill and
 *       drain paths, not one hot block)
 *   glibc_bench thread threads ops working_set seed
 *       each thread keeps `working_set` slots and `ops` times frees a random
 *       slot and mallocs a new block there, its size drawn with density
 *       falling as 1/size from 8 B to 32 KiB (most blocks small, a few Mid)
 *
 * Threads share nothing.  Output: operations (a malloc and its free) per
 * CPU second of the whole process, with wall-clock throughput beside. */
#include "bench_util.h"

#include <pthread.h>

struct job {
    pthread_t tid;
    int thread_mode;
    long rounds_or_ops;
    long count;            /* simple: blocks per round; thread: working set */
    size_t size;           /* simple */
    uint64_t seed;
    char pad[64];
};

/* 1/size density on [8, 32768]: size = 8 * 4096^u for u uniform in [0, 1),
 * drawn from 12 octaves (each equally likely) and a uniform offset inside */
static size_t draw_size(rng_t *r)
{
    unsigned oct = (unsigned)(rng_next(r) % 12);
    size_t lo = (size_t)8 << oct;
    return lo + (size_t)(rng_next(r) % lo);
}

static void *run_simple(struct job *j)
{
    void **v = malloc((size_t)j->count * sizeof *v);
    if (!v) exit(1);
    for (long r = 0; r < j->rounds_or_ops; r++) {
        for (long i = 0; i < j->count; i++) {
            char *p = malloc(j->size);
            if (!p) exit(1);
            p[0] = (char)i;
            v[i] = p;
        }
        for (long i = 0; i < j->count; i++) free(v[i]);
    }
    free(v);
    return NULL;
}

static void *run_thread(struct job *j)
{
    rng_t r;
    rng_seed(&r, j->seed);
    char **slot = calloc((size_t)j->count, sizeof *slot);
    if (!slot) exit(1);
    for (long k = 0; k < j->rounds_or_ops; k++) {
        size_t i = (size_t)(rng_next(&r) % (uint64_t)j->count);
        free(slot[i]);
        size_t n = draw_size(&r);
        char *p = malloc(n);
        if (!p) exit(1);
        p[0] = (char)k;
        p[n - 1] = (char)k;
        slot[i] = p;
    }
    for (long i = 0; i < j->count; i++) free(slot[i]);
    free(slot);
    return NULL;
}

static void *work(void *arg)
{
    struct job *j = arg;
    return j->thread_mode ? run_thread(j) : run_simple(j);
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[1], "simple") != 0 && strcmp(argv[1], "thread") != 0)) {
        fprintf(stderr, "usage: %s simple threads rounds count size\n"
                        "       %s thread threads ops working_set seed\n", argv[0], argv[0]);
        return 2;
    }
    int thread_mode = strcmp(argv[1], "thread") == 0;
    long threads = parse_long(argv[2], "threads");
    long a = parse_long(argv[3], thread_mode ? "ops" : "rounds");
    long b = parse_long(argv[4], thread_mode ? "working_set" : "count");
    long c = parse_long(argv[5], thread_mode ? "seed" : "size");
    if (threads < 1 || threads > 64 || a < 1 || b < 1 || c < (thread_mode ? 0 : 1)) {
        fprintf(stderr, "glibc_bench: need 1..64 threads and positive counts\n");
        return 2;
    }
    printf("glibc_bench: mode=%s threads=%ld malloc=%s\n", argv[1], threads, malloc_provider());
    struct job *jobs = calloc((size_t)threads, sizeof *jobs);
    if (!jobs) return 1;
    double c0 = cpu_sec(), t0 = now_sec();
    for (long t = 0; t < threads; t++) {
        jobs[t] = (struct job){ .thread_mode = thread_mode, .rounds_or_ops = a, .count = b,
                                .size = (size_t)c, .seed = (uint64_t)c * 1000003u + (uint64_t)t };
        if (pthread_create(&jobs[t].tid, NULL, work, &jobs[t]) != 0) return 1;
    }
    for (long t = 0; t < threads; t++) pthread_join(jobs[t].tid, NULL);
    double cpu = cpu_sec() - c0, wall = now_sec() - t0;
    double ops = (double)threads * (thread_mode ? (double)a : (double)a * (double)b);
    printf("glibc_bench: %.0f malloc+free in %.3f s wall, %.3f s CPU\n", ops, wall, cpu);
    printf("RESULT ops_per_cpu_sec=%.0f ops_per_sec=%.0f cpu_sec=%.3f vmhwm_kib=%ld\n", ops / cpu, ops / wall, cpu,
           proc_status_kib("VmHWM"));
    free(jobs);
    return 0;
}
