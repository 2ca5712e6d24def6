/* pair: the cost of one malloc+free pair.
 *
 *   pair size iterations          fixed-size malloc(size); touch; free(), in a loop
 *   pair ring iterations [size]   ring of 1000 live blocks (default 16 B): each step
 *                                 frees the oldest block and mallocs a new one
 *
 * The first mode gives ns per pair per tier (16 B, 512 B = Tiny, 4 KiB,
 * 64 KiB = Mid, 1 MiB = Huge).  The second is what `make bench-guard` runs
 * under callgrind: the 1000 live blocks keep a realistic heap (several
 * slabs/pages in use, not one hot block), while every pair stays on the
 * Tiny fast path of a thread-local cache.  Instructions per pair are taken as
 * (I(N2) - I(N1)) / (N2 - N1) so start-up and the ring fill cancel out.
 *
 * Output: ns per pair (timing is meaningless under callgrind; the count is
 * what matters there). */
#include "bench_util.h"

#define RING 1000

static void *ring[RING];

/* noinline: keeps the loop a clean unit in callgrind's per-function profile. */
__attribute__((noinline)) static void ring_loop(long iters, size_t size)
{
    size_t i = 0;
    for (long k = 0; k < iters; k++) {
        free(ring[i]);
        char *p = malloc(size);
        if (!p)
            abort();
        p[0] = (char)k;
        ring[i] = p;
        if (++i == RING)
            i = 0;
    }
}

__attribute__((noinline)) static void fixed_loop(long iters, size_t size)
{
    for (long k = 0; k < iters; k++) {
        char *p = malloc(size);
        if (!p)
            abort();
        p[0] = (char)k;
        escape(p);
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s size iterations | %s ring iterations [size]\n", argv[0], argv[0]);
        return 2;
    }
    int ring_mode = strcmp(argv[1], "ring") == 0;
    long iters = parse_long(argv[2], "iterations");
    long size = ring_mode ? (argc == 4 ? parse_long(argv[3], "size") : 16)
                          : parse_long(argv[1], "size");
    if (iters < 0 || size < 1 || (!ring_mode && argc != 3)) {
        fprintf(stderr, "pair: need iterations>=0, size>=1\n");
        return 2;
    }
    printf("pair: mode=%s size=%ld iterations=%ld malloc=%s\n",
           ring_mode ? "ring" : "fixed", size, iters, malloc_provider());

    double t0, elapsed;
    if (ring_mode) {
        for (int i = 0; i < RING; i++)
            if (!(ring[i] = malloc((size_t)size)))
                return 1;
        t0 = now_sec();
        ring_loop(iters, (size_t)size);
        elapsed = now_sec() - t0;
        for (int i = 0; i < RING; i++)
            free(ring[i]);
    } else {
        /* warm-up: the first pair pays for heap/thread-cache creation */
        fixed_loop(1000, (size_t)size);
        t0 = now_sec();
        fixed_loop(iters, (size_t)size);
        elapsed = now_sec() - t0;
    }
    double ns = iters ? elapsed * 1e9 / (double)iters : 0;
    printf("pair: %.3f s, %.2f ns per malloc+free pair\n", elapsed, ns);
    printf("RESULT ns_per_pair=%.2f vmhwm_kib=%ld\n", ns, proc_status_kib("VmHWM"));
    return 0;
}
