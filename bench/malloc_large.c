/* malloc_large: a few large buffers replaced over and over, after
 * mimalloc-bench's malloc-large (blocks of 5-25 MiB, up to 20 live).
 *
 *   malloc_large slots iterations min_bytes max_bytes seed
 *
 * Each iteration picks one of `slots` slots at random, allocates a new
 * buffer of a random size in [min, max], zeroes all of it (the benchmark it
 * follows value-initialises a new char[]: every byte is written), then
 * frees the buffer the slot held.  So `slots` buffers are live, and every
 * iteration is one large malloc, a full write and one large free: what it
 * measures is how the allocator gets large blocks from the OS and gives
 * them back (system time, page faults), not the memset, which costs every
 * allocator the same.
 *
 * Output: CPU seconds (user + system) of the whole run, with user, system,
 * minor page faults and allocations per wall-clock second beside them. */
#include "bench_util.h"   /* first: it defines _GNU_SOURCE */

#include <sys/resource.h>

static double tv_sec(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec * 1e-6; }

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s slots iterations min_bytes max_bytes seed\n"
                "  e.g. %s 20 1000 5242880 26214400 42\n", argv[0], argv[0]);
        return 2;
    }
    long slots = parse_long(argv[1], "slots");
    long iters = parse_long(argv[2], "iterations");
    long lo = parse_long(argv[3], "min_bytes");
    long hi = parse_long(argv[4], "max_bytes");
    long seed = parse_long(argv[5], "seed");
    if (slots < 1 || iters < 1 || lo < 1 || hi < lo) {
        fprintf(stderr, "malloc_large: need slots>=1, iterations>=1, 1<=min<=max\n");
        return 2;
    }
    printf("malloc_large: slots=%ld iterations=%ld min=%ld max=%ld seed=%ld malloc=%s\n",
           slots, iters, lo, hi, seed, malloc_provider());

    char **slot = calloc((size_t)slots, sizeof *slot);
    if (!slot)
        return 1;
    rng_t r;
    rng_seed(&r, (uint64_t)seed);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_sec();
    for (long i = 0; i < iters; i++) {
        size_t k = (size_t)(rng_next(&r) % (uint64_t)slots);
        size_t n = rng_range(&r, (size_t)lo, (size_t)hi);
        char *p = malloc(n);
        if (!p) {
            fprintf(stderr, "malloc_large: malloc(%zu) failed\n", n);
            return 1;
        }
        escape(p);          /* else GCC fuses malloc + memset 0 into calloc, which
                               may skip the write on fresh pages (new char[n]() does not) */
        memset(p, 0, n);
        free(slot[k]);      /* the new buffer replaces the old one, as an assignment would */
        slot[k] = p;
    }
    double wall = now_sec() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    long hwm = proc_status_kib("VmHWM");
    for (long k = 0; k < slots; k++)
        free(slot[k]);
    free(slot);
    double user = tv_sec(ru1.ru_utime) - tv_sec(ru0.ru_utime);
    double sys = tv_sec(ru1.ru_stime) - tv_sec(ru0.ru_stime);
    printf("RESULT cpu_sec=%.3f user_sec=%.3f sys_sec=%.3f minflt=%ld ops_per_sec=%.0f vmhwm_kib=%ld\n",
           user + sys, user, sys, ru1.ru_minflt - ru0.ru_minflt, (double)iters / wall, hwm);
    return 0;
}
