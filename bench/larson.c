/* larson: server-style allocation benchmark (after Larson & Krishnan, 1998),
 * written for hakmem.
 *
 *   larson seconds min max chunks_per_thread rounds seed threads
 *
 * There are `threads` lanes.  Each lane owns an array of chunks_per_thread
 * blocks, filled by the main thread before the clock starts.  A lane's thread
 * replaces random slots (free the old block, malloc a new one of a random
 * size in [min, max]) chunks_per_thread * rounds times, then starts a new
 * thread that inherits the array and exits.  So most blocks are freed by a
 * thread other than the one that allocated them, and thread creation and
 * exit (thread caches being set up and torn down) are part of the load.
 * After `seconds`, the lanes stop at their next replacement.
 *
 * Output: the arguments, then throughput in replacements (one free plus
 * one malloc) per second, summed over all lanes. */
#include "bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

struct lane {
    void **blocks;
    size_t nblocks;
    size_t min, max;
    uint64_t per_thread;      /* replacements before handing the array on */
    rng_t rng;
    uint64_t ops;             /* replacements done, all generations */
    uint64_t generations;     /* threads that have run this lane */
    atomic_int done;          /* set by the last thread of the lane */
    char pad[64];             /* lanes are written by different threads */
};

static atomic_int stop_flag;
static atomic_long thread_failures;

static void *lane_run(void *arg);

static void lane_hand_on(struct lane *ln)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, lane_run, ln) != 0) {
        /* Out of threads (or memory): stop the lane rather than lose it. */
        atomic_fetch_add(&thread_failures, 1);
        atomic_store(&ln->done, 1);
    }
    pthread_attr_destroy(&attr);
}

static void *lane_run(void *arg)
{
    struct lane *ln = arg;
    rng_t r = ln->rng;
    uint64_t i;

    ln->generations++;
    for (i = 0; i < ln->per_thread; i++) {
        size_t victim = (size_t)(rng_next(&r) % ln->nblocks);
        size_t sz = rng_range(&r, ln->min, ln->max);
        char *p;
        free(ln->blocks[victim]);
        p = malloc(sz);
        if (!p) {
            fprintf(stderr, "larson: malloc(%zu) failed\n", sz);
            exit(1);
        }
        /* touch both ends, as a server filling a request buffer would */
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        ln->blocks[victim] = p;
        if (atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
            i++;
            break;
        }
    }
    ln->ops += i;
    ln->rng = r;
    if (atomic_load(&stop_flag))
        atomic_store(&ln->done, 1);
    else
        lane_hand_on(ln);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s seconds min max chunks_per_thread rounds seed threads\n"
                "  e.g. %s 5 8 1000 5000 100 4141 2\n", argv[0], argv[0]);
        return 2;
    }
    double seconds = parse_double(argv[1], "seconds");
    long min = parse_long(argv[2], "min");
    long max = parse_long(argv[3], "max");
    long chunks = parse_long(argv[4], "chunks_per_thread");
    long rounds = parse_long(argv[5], "rounds");
    long seed = parse_long(argv[6], "seed");
    long threads = parse_long(argv[7], "threads");
    if (seconds <= 0 || min < 1 || max < min || chunks < 1 || rounds < 1 || threads < 1) {
        fprintf(stderr, "larson: need seconds>0, 1<=min<=max, chunks>=1, rounds>=1, threads>=1\n");
        return 2;
    }
    printf("larson: seconds=%g min=%ld max=%ld chunks_per_thread=%ld rounds=%ld seed=%ld threads=%ld malloc=%s\n",
           seconds, min, max, chunks, rounds, seed, threads, malloc_provider());

    struct lane *lanes = calloc((size_t)threads, sizeof *lanes);
    if (!lanes)
        return 1;
    for (long t = 0; t < threads; t++) {
        struct lane *ln = &lanes[t];
        ln->nblocks = (size_t)chunks;
        ln->min = (size_t)min;
        ln->max = (size_t)max;
        ln->per_thread = (uint64_t)chunks * (uint64_t)rounds;
        rng_seed(&ln->rng, (uint64_t)seed * 1000003u + (uint64_t)t);
        ln->blocks = malloc((size_t)chunks * sizeof(void *));
        if (!ln->blocks)
            return 1;
        for (long i = 0; i < chunks; i++) {
            size_t sz = rng_range(&ln->rng, ln->min, ln->max);
            ln->blocks[i] = malloc(sz);
            if (!ln->blocks[i])
                return 1;
            memset(ln->blocks[i], 0, sz);
        }
    }

    double t0 = now_sec();
    for (long t = 0; t < threads; t++)
        lane_hand_on(&lanes[t]);
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    atomic_store(&stop_flag, 1);
    for (long t = 0; t < threads; t++)
        while (!atomic_load(&lanes[t].done))
            usleep(100);
    double elapsed = now_sec() - t0;

    uint64_t ops = 0, gens = 0;
    for (long t = 0; t < threads; t++) {
        ops += lanes[t].ops;
        gens += lanes[t].generations;
        for (long i = 0; i < chunks; i++)
            free(lanes[t].blocks[i]);
        free(lanes[t].blocks);
    }
    free(lanes);
    if (atomic_load(&thread_failures))
        fprintf(stderr, "larson: %ld thread creations failed\n", atomic_load(&thread_failures));

    double ops_s = (double)ops / elapsed;
    printf("larson: %.3f s, %llu replacements, %llu threads run, throughput %.0f ops/s\n",
           elapsed, (unsigned long long)ops, (unsigned long long)gens, ops_s);
    printf("RESULT ops_per_sec=%.0f ops=%llu vmhwm_kib=%ld\n", ops_s, (unsigned long long)ops,
           proc_status_kib("VmHWM"));
    return 0;
}
