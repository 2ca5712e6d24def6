/* xmalloc: threads in a ring that each allocate and free (xmalloc-test style,
 * the symmetric case next to xthread's pure producer/consumer).
 *
 *   xmalloc threads batches batch_size min max seed
 *
 * Thread i mallocs batches of batch_size blocks of random size in
 * [min, max], writes to each, and hands every batch to thread i + 1 (mod
 * threads) through a bounded single-producer/single-consumer ring; it frees
 * the batches thread i - 1 hands it, after reading each block.  So every
 * free is remote, and every thread is at once a producer whose slabs receive
 * remote frees while it keeps allocating from them, and a consumer.  A
 * thread that can neither hand off (its ring is full) nor free (its inbox
 * is empty) yields.  threads >= 2.
 *
 * Output: blocks moved (one malloc plus one free) per CPU-second, per wall
 * second, CPU seconds and peak RSS. */
#include "bench_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RING_SLOTS 16       /* batches in flight between two neighbours */
#define MAX_BATCH 4096
#define MAX_THREADS 64

struct slot {
    atomic_int full;
    uint32_t n;
    void *blk[MAX_BATCH];
};

struct worker {
    struct slot ring[RING_SLOTS];   /* this thread's outbox: the next thread's inbox */
    struct worker *prev;            /* whose outbox is our inbox */
    pthread_t t;
    uint64_t batches;
    uint32_t batch;
    size_t min, max;
    uint64_t seed;
    uint64_t checksum;
};

static int produce(struct worker *w, rng_t *r, uint64_t b)
{
    struct slot *s = &w->ring[b % RING_SLOTS];
    if (atomic_load_explicit(&s->full, memory_order_acquire)) return 0;
    for (uint32_t i = 0; i < w->batch; i++) {
        size_t sz = rng_range(r, w->min, w->max);
        unsigned char *p = malloc(sz);
        if (!p) {
            fprintf(stderr, "xmalloc: malloc(%zu) failed\n", sz);
            exit(1);
        }
        p[0] = (unsigned char)i;
        p[sz - 1] = (unsigned char)b;
        s->blk[i] = p;
    }
    s->n = w->batch;
    atomic_store_explicit(&s->full, 1, memory_order_release);
    return 1;
}

static int consume(struct worker *w, uint64_t b)
{
    struct slot *s = &w->prev->ring[b % RING_SLOTS];
    if (!atomic_load_explicit(&s->full, memory_order_acquire)) return 0;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        sum += *(unsigned char *)s->blk[i];
        free(s->blk[i]);
    }
    w->checksum += sum;
    atomic_store_explicit(&s->full, 0, memory_order_release);
    return 1;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    rng_t r;
    rng_seed(&r, w->seed);
    uint64_t made = 0, freed = 0;
    unsigned idle = 0;
    while (made < w->batches || freed < w->batches) {
        int moved = 0;
        if (made < w->batches && produce(w, &r, made)) { made++; moved = 1; }
        if (freed < w->batches && consume(w, freed)) { freed++; moved = 1; }
        if (moved) idle = 0;
        else if (++idle > 64) { sched_yield(); idle = 0; }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s threads batches batch_size min max seed\n"
                "  e.g. %s 2 50000 100 16 512 42\n", argv[0], argv[0]);
        return 2;
    }
    long threads = parse_long(argv[1], "threads");
    long batches = parse_long(argv[2], "batches");
    long batch = parse_long(argv[3], "batch_size");
    long min = parse_long(argv[4], "min");
    long max = parse_long(argv[5], "max");
    long seed = parse_long(argv[6], "seed");
    if (threads < 2 || threads > MAX_THREADS || batches < 1 || batch < 1 || batch > MAX_BATCH || min < 1 ||
        max < min) {
        fprintf(stderr, "xmalloc: need 2<=threads<=%d, batches>=1, 1<=batch<=%d, 1<=min<=max\n", MAX_THREADS,
                MAX_BATCH);
        return 2;
    }
    printf("xmalloc: threads=%ld batches=%ld batch_size=%ld min=%ld max=%ld seed=%ld malloc=%s\n", threads,
           batches, batch, min, max, seed, malloc_provider());

    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws)
        return 1;
    for (long i = 0; i < threads; i++) {
        ws[i].prev = &ws[(i + threads - 1) % threads];
        ws[i].batches = (uint64_t)batches;
        ws[i].batch = (uint32_t)batch;
        ws[i].min = (size_t)min;
        ws[i].max = (size_t)max;
        ws[i].seed = (uint64_t)seed * 31337u + (uint64_t)i;
    }
    double t0 = now_sec(), c0 = cpu_sec();
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&ws[i].t, NULL, run, &ws[i])) {
            fprintf(stderr, "xmalloc: pthread_create failed\n");
            return 1;
        }
    }
    uint64_t sum = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(ws[i].t, NULL);
        sum += ws[i].checksum;
    }
    double wall = now_sec() - t0, cpu = cpu_sec() - c0;
    free(ws);
    double ops = (double)threads * (double)batches * (double)batch;
    printf("xmalloc: %.0f blocks in %.3f s wall, %.3f s CPU, checksum %llu\n", ops, wall, cpu,
           (unsigned long long)sum);
    printf("RESULT ops_per_cpu_sec=%.0f ops_per_sec=%.0f cpu_sec=%.3f vmhwm_kib=%ld\n", ops / cpu, ops / wall, cpu,
           proc_status_kib("VmHWM"));
    return 0;
}
