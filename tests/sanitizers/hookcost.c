/* hookcost.c: what the ASan/Valgrind hooks cost the normal build's fast path.
 *
 *   hookcost cg N      N malloc(16)+free pairs in pairs(), for callgrind
 *                      (run with --toggle-collect=pairs: Ir / N = instructions per pair)
 *   hookcost time N R  R timed runs of N pairs; prints ns/pair of each run and the median
 * Built twice by `make hookcost`: against the library as it is, and against
 * one compiled with -DHAK_NO_TOOL_HOOKS (hooks compiled out).  The
 * difference is the price of the hooks when no tool is running. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hakmem.h"

__attribute__((noinline)) static void pairs(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = hak_malloc(16);
        __asm__ volatile("" : : "r"(p) : "memory");   /* the block is "used" */
        hak_free(p);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: hookcost cg N | hookcost time N RUNS\n");
        return 2;
    }
    long n = atol(argv[2]);
    void *warm = hak_malloc(16);   /* heap, slab and class set up outside the measurement */
    hak_free(warm);
    if (!strcmp(argv[1], "cg")) {
        pairs(n);
        return 0;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100) runs = 5;
    double t[100];
    pairs(n / 10);
    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        pairs(n);
        t[r] = (now_ns() - t0) / (double)n;
        printf("run %d: %.2f ns/pair\n", r, t[r]);
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp);
    printf("median %.2f ns/pair (min %.2f)\n", t[runs / 2], t[0]);
    return 0;
}
