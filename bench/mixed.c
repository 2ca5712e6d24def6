/* mixed: random sizes over a working set, random replacement.
 *
 *   mixed ops_per_thread threads working_set min max seed
 *
 * Each thread owns `working_set` slots, fills them, then `ops_per_thread`
 * times frees a random slot and refills it with malloc(random size in
 * [min, max]) (default use: 16..1040 B, i.e. the whole Tiny tier and the
 * first Mid classes).  Threads share nothing, so this measures the
 * thread-local paths and how the allocator copes with size churn.
 *
 * Output: replacements (free + malloc) per second over all threads. */
#include "bench_util.h"

#include <pthread.h>

struct worker {
    pthread_t tid;
    uint64_t ops;
    size_t ws, min, max;
    uint64_t seed;
    double elapsed;
    char pad[64];
};

static pthread_barrier_t start_line;

static void *work(void *arg)
{
    struct worker *w = arg;
    rng_t r;
    char **slots = malloc(w->ws * sizeof *slots);
    if (!slots)
        exit(1);
    rng_seed(&r, w->seed);
    for (size_t i = 0; i < w->ws; i++) {
        size_t sz = rng_range(&r, w->min, w->max);
        slots[i] = malloc(sz);
        if (!slots[i])
            exit(1);
        slots[i][0] = 1;
    }
    pthread_barrier_wait(&start_line);
    double t0 = now_sec();
    for (uint64_t i = 0; i < w->ops; i++) {
        size_t victim = (size_t)(rng_next(&r) % w->ws);
        size_t sz = rng_range(&r, w->min, w->max);
        free(slots[victim]);
        char *p = malloc(sz);
        if (!p) {
            fprintf(stderr, "mixed: malloc(%zu) failed\n", sz);
            exit(1);
        }
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        slots[victim] = p;
    }
    w->elapsed = now_sec() - t0;
    for (size_t i = 0; i < w->ws; i++)
        free(slots[i]);
    free(slots);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s ops_per_thread threads working_set min max seed\n"
                "  e.g. %s 2000000 2 10000 16 1040 42\n", argv[0], argv[0]);
        return 2;
    }
    long ops = parse_long(argv[1], "ops_per_thread");
    long threads = parse_long(argv[2], "threads");
    long ws = parse_long(argv[3], "working_set");
    long min = parse_long(argv[4], "min");
    long max = parse_long(argv[5], "max");
    long seed = parse_long(argv[6], "seed");
    if (ops < 1 || threads < 1 || ws < 1 || min < 1 || max < min) {
        fprintf(stderr, "mixed: need ops>=1, threads>=1, working_set>=1, 1<=min<=max\n");
        return 2;
    }
    printf("mixed: ops_per_thread=%ld threads=%ld working_set=%ld min=%ld max=%ld seed=%ld malloc=%s\n",
           ops, threads, ws, min, max, seed, malloc_provider());

    struct worker *w = calloc((size_t)threads, sizeof *w);
    if (!w)
        return 1;
    pthread_barrier_init(&start_line, NULL, (unsigned)threads);
    for (long t = 0; t < threads; t++) {
        w[t].ops = (uint64_t)ops;
        w[t].ws = (size_t)ws;
        w[t].min = (size_t)min;
        w[t].max = (size_t)max;
        w[t].seed = (uint64_t)seed * 7919u + (uint64_t)t;
        if (pthread_create(&w[t].tid, NULL, work, &w[t]) != 0) {
            fprintf(stderr, "mixed: pthread_create failed\n");
            return 1;
        }
    }
    /* Throughput from the slowest thread: all ran the same work at once. */
    double slowest = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(w[t].tid, NULL);
        if (w[t].elapsed > slowest)
            slowest = w[t].elapsed;
    }
    double ops_s = (double)ops * (double)threads / slowest;
    printf("mixed: %.3f s, throughput %.0f ops/s\n", slowest, ops_s);
    printf("RESULT ops_per_sec=%.0f ops=%.0f vmhwm_kib=%ld\n", ops_s, (double)ops * (double)threads,
           proc_status_kib("VmHWM"));
    free(w);
    return 0;
}
