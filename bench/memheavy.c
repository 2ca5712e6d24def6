/* memheavy: allocate a lot, free most, and see what the allocator keeps.
 *
 *   memheavy total_mib min max keep_percent rounds seed
 *
 * Each round allocates blocks of random size in [min, max] until total_mib
 * MiB are live, touching every page, then frees all but keep_percent of
 * them, chosen at random (so the survivors are scattered over the heap, the
 * case where slabs cannot be released whole).  The next round allocates up
 * to total_mib again on top of the survivors.  At the end it reports peak
 * RSS (VmHWM) and RSS after the last free phase (VmRSS): the final figure
 * shows whether freed memory goes back to the OS.
 *
 * Output: blocks allocated+freed per second, peak and final RSS. */
#include "bench_util.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s total_mib min max keep_percent rounds seed\n"
                "  e.g. %s 256 16 65536 10 3 42\n", argv[0], argv[0]);
        return 2;
    }
    long total_mib = parse_long(argv[1], "total_mib");
    long min = parse_long(argv[2], "min");
    long max = parse_long(argv[3], "max");
    long keep = parse_long(argv[4], "keep_percent");
    long rounds = parse_long(argv[5], "rounds");
    long seed = parse_long(argv[6], "seed");
    if (total_mib < 1 || min < 1 || max < min || keep < 0 || keep > 100 || rounds < 1) {
        fprintf(stderr, "memheavy: need total_mib>=1, 1<=min<=max, 0<=keep_percent<=100, rounds>=1\n");
        return 2;
    }
    printf("memheavy: total_mib=%ld min=%ld max=%ld keep_percent=%ld rounds=%ld seed=%ld malloc=%s\n",
           total_mib, min, max, keep, rounds, seed, malloc_provider());

    size_t budget = (size_t)total_mib << 20;
    size_t cap = budget / (size_t)min + 1;
    /* The pointer table is the benchmark's own overhead: mmap-backed via
     * calloc of a large size in every allocator, and counted in RSS alike. */
    char **blk = calloc(cap, sizeof *blk);
    size_t *len = calloc(cap, sizeof *len);
    if (!blk || !len)
        return 1;
    rng_t r;
    rng_seed(&r, (uint64_t)seed);
    size_t n = 0, live = 0;
    uint64_t ops = 0;
    double t0 = now_sec();
    for (long round = 0; round < rounds; round++) {
        while (live < budget && n < cap) {
            size_t sz = rng_range(&r, (size_t)min, (size_t)max);
            char *p = malloc(sz);
            if (!p) {
                fprintf(stderr, "memheavy: malloc(%zu) failed with %zu MiB live\n", sz, live >> 20);
                return 1;
            }
            for (size_t o = 0; o < sz; o += 4096)
                p[o] = 1;
            p[sz - 1] = 1;
            blk[n] = p;
            len[n] = sz;
            n++;
            live += sz;
            ops++;
        }
        /* free all but keep_percent, compacting the survivors to the front */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if ((long)(rng_next(&r) % 100) < keep) {
                blk[kept] = blk[i];
                len[kept] = len[i];
                kept++;
            } else {
                live -= len[i];
                free(blk[i]);
                ops++;
            }
        }
        n = kept;
    }
    double elapsed = now_sec() - t0;
    long hwm = proc_status_kib("VmHWM");
    long rss = proc_status_kib("VmRSS");
    printf("memheavy: %.3f s, %llu ops, %zu blocks (%zu KiB) still live, peak RSS %ld KiB, final RSS %ld KiB\n",
           elapsed, (unsigned long long)ops, n, live >> 10, hwm, rss);
    for (size_t i = 0; i < n; i++)
        free(blk[i]);
    free(blk);
    free(len);
    double ops_s = (double)ops / elapsed;
    printf("RESULT ops_per_sec=%.0f vmhwm_kib=%ld final_rss_kib=%ld live_kib=%zu\n",
           ops_s, hwm, rss, live >> 10);
    return 0;
}
