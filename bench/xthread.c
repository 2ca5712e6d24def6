/* xthread: producer/consumer cross-thread frees (xmalloc-test style).
 *
 *   xthread pairs batches_per_producer batch_size min max seed
 *
 * `pairs` producer/consumer pairs.  A producer mallocs batch_size blocks of
 * random size in [min, max], writes to each, and publishes the batch on a
 * bounded single-producer/single-consumer ring of batch slots; its consumer
 * reads each block and frees it.  Every free is therefore a remote free:
 * the block belongs to another thread's heap.  The ring itself is a static
 * array, so the only allocations are the measured ones.
 *
 * Output: blocks moved (one malloc in the producer plus one free in the
 * consumer) per second. */
#include "bench_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RING_SLOTS 16       /* batches in flight per pair */
#define MAX_BATCH 4096

struct slot {
    atomic_int full;
    uint32_t n;
    void *blk[MAX_BATCH];
};

struct pair {
    struct slot ring[RING_SLOTS];
    pthread_t prod, cons;
    uint64_t batches;
    uint32_t batch;
    size_t min, max;
    uint64_t seed;
    uint64_t checksum;        /* consumer reads the blocks: keeps the reads alive */
};

/* Busy-wait that yields: the machine may have fewer cores than threads. */
static void backoff(unsigned *spins)
{
    if (++*spins > 64) {
        sched_yield();
        *spins = 0;
    }
}

static void *producer(void *arg)
{
    struct pair *pr = arg;
    rng_t r;
    rng_seed(&r, pr->seed);
    for (uint64_t b = 0; b < pr->batches; b++) {
        struct slot *s = &pr->ring[b % RING_SLOTS];
        unsigned spins = 0;
        while (atomic_load_explicit(&s->full, memory_order_acquire))
            backoff(&spins);
        for (uint32_t i = 0; i < pr->batch; i++) {
            size_t sz = rng_range(&r, pr->min, pr->max);
            unsigned char *p = malloc(sz);
            if (!p) {
                fprintf(stderr, "xthread: malloc(%zu) failed\n", sz);
                exit(1);
            }
            p[0] = (unsigned char)i;
            p[sz - 1] = (unsigned char)b;
            s->blk[i] = p;
        }
        s->n = pr->batch;
        atomic_store_explicit(&s->full, 1, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct pair *pr = arg;
    uint64_t sum = 0;
    for (uint64_t b = 0; b < pr->batches; b++) {
        struct slot *s = &pr->ring[b % RING_SLOTS];
        unsigned spins = 0;
        while (!atomic_load_explicit(&s->full, memory_order_acquire))
            backoff(&spins);
        for (uint32_t i = 0; i < s->n; i++) {
            sum += *(unsigned char *)s->blk[i];
            free(s->blk[i]);
        }
        atomic_store_explicit(&s->full, 0, memory_order_release);
    }
    pr->checksum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s pairs batches_per_producer batch_size min max seed\n"
                "  e.g. %s 1 20000 100 16 512 42\n", argv[0], argv[0]);
        return 2;
    }
    long pairs = parse_long(argv[1], "pairs");
    long batches = parse_long(argv[2], "batches_per_producer");
    long batch = parse_long(argv[3], "batch_size");
    long min = parse_long(argv[4], "min");
    long max = parse_long(argv[5], "max");
    long seed = parse_long(argv[6], "seed");
    if (pairs < 1 || batches < 1 || batch < 1 || batch > MAX_BATCH || min < 1 || max < min) {
        fprintf(stderr, "xthread: need pairs>=1, batches>=1, 1<=batch<=%d, 1<=min<=max\n", MAX_BATCH);
        return 2;
    }
    printf("xthread: pairs=%ld batches_per_producer=%ld batch_size=%ld min=%ld max=%ld seed=%ld malloc=%s\n",
           pairs, batches, batch, min, max, seed, malloc_provider());

    struct pair *prs = calloc((size_t)pairs, sizeof *prs);
    if (!prs)
        return 1;
    double t0 = now_sec();
    for (long i = 0; i < pairs; i++) {
        prs[i].batches = (uint64_t)batches;
        prs[i].batch = (uint32_t)batch;
        prs[i].min = (size_t)min;
        prs[i].max = (size_t)max;
        prs[i].seed = (uint64_t)seed * 31337u + (uint64_t)i;
        if (pthread_create(&prs[i].cons, NULL, consumer, &prs[i]) ||
            pthread_create(&prs[i].prod, NULL, producer, &prs[i])) {
            fprintf(stderr, "xthread: pthread_create failed\n");
            return 1;
        }
    }
    uint64_t sum = 0;
    for (long i = 0; i < pairs; i++) {
        pthread_join(prs[i].prod, NULL);
        pthread_join(prs[i].cons, NULL);
        sum += prs[i].checksum;
    }
    double elapsed = now_sec() - t0;
    free(prs);
    double n = (double)pairs * (double)batches * (double)batch;
    double ops_s = n / elapsed;
    printf("xthread: %.3f s, %.0f blocks, checksum %llu, throughput %.0f ops/s\n",
           elapsed, n, (unsigned long long)sum, ops_s);
    printf("RESULT ops_per_sec=%.0f vmhwm_kib=%ld\n", ops_s, proc_status_kib("VmHWM"));
    return 0;
}
