/* realloc_grow: buffers that grow by realloc, like string builders and
 * vectors that append without reserving.
 *
 *   realloc_grow buffers max_size steps seed
 *
 * `buffers` buffers are live at once.  Each step picks one at random and
 * grows it by a random 1..(64 + len/8) bytes (small appends while short,
 * roughly geometric growth once large, so the copying a realloc cannot avoid
 * stays bounded) and writes the first and last appended byte (filling them
 * all would make memset the benchmark); a buffer that would pass max_size is
 * freed and restarts empty.  Sizes thus sweep every
 * tier up to max_size, and the allocator is exercised on in-place growth,
 * move-and-copy, and tier changes (Tiny -> Mid -> Huge for max_size > 256 KiB).
 *
 * Output: realloc calls per second. */
#include "bench_util.h"

struct buf {
    char *p;
    size_t len;
    char tag;       /* value of the bytes appended last */
};

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s buffers max_size steps seed\n"
                "  e.g. %s 64 1048576 2000000 42\n", argv[0], argv[0]);
        return 2;
    }
    long nbuf = parse_long(argv[1], "buffers");
    long max = parse_long(argv[2], "max_size");
    long steps = parse_long(argv[3], "steps");
    long seed = parse_long(argv[4], "seed");
    if (nbuf < 1 || max < 65 || steps < 1) {
        fprintf(stderr, "realloc_grow: need buffers>=1, max_size>=65, steps>=1\n");
        return 2;
    }
    printf("realloc_grow: buffers=%ld max_size=%ld steps=%ld seed=%ld malloc=%s\n",
           nbuf, max, steps, seed, malloc_provider());

    struct buf *b = calloc((size_t)nbuf, sizeof *b);
    if (!b)
        return 1;
    rng_t r;
    rng_seed(&r, (uint64_t)seed);
    uint64_t restarts = 0, moves = 0;
    double t0 = now_sec();
    for (long s = 0; s < steps; s++) {
        struct buf *x = &b[rng_next(&r) % (uint64_t)nbuf];
        size_t add = rng_range(&r, 1, 64 + x->len / 8);
        if (x->len + add > (size_t)max) {
            free(x->p);
            x->p = NULL;
            x->len = 0;
            restarts++;
        }
        char *q = realloc(x->p, x->len + add);
        if (!q) {
            fprintf(stderr, "realloc_grow: realloc(%zu) failed\n", x->len + add);
            return 1;
        }
        if (q != x->p)
            moves++;
        /* check the old contents survived the move: the last byte written */
        if (x->len && (q[0] == 0 || q[x->len - 1] != x->tag)) {
            fprintf(stderr, "realloc_grow: contents lost at length %zu\n", x->len);
            return 1;
        }
        x->tag = (char)(s | 1);
        q[x->len] = x->tag;
        q[x->len + add - 1] = x->tag;
        x->p = q;
        x->len += add;
    }
    double elapsed = now_sec() - t0;
    for (long i = 0; i < nbuf; i++)
        free(b[i].p);
    free(b);
    double ops_s = (double)steps / elapsed;
    printf("realloc_grow: %.3f s, %llu restarts, %llu moves, throughput %.0f reallocs/s\n",
           elapsed, (unsigned long long)restarts, (unsigned long long)moves, ops_s);
    printf("RESULT ops_per_sec=%.0f vmhwm_kib=%ld\n", ops_s, proc_status_kib("VmHWM"));
    return 0;
}
