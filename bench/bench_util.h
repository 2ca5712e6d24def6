/* Shared helpers for the hakmem benchmarks: clock, seeded RNG, RSS reading,
 * argument parsing and the RESULT line the runner parses.
 *
 * The benchmarks call plain malloc/free; the allocator under test is chosen
 * by LD_PRELOAD (bench/run.py), never linked in, so one binary serves all. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + sys) of the whole process so far: the measure for
 * benchmarks whose wall time includes waiting that is no allocator's. */
static inline double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* xorshift64*: cheap enough that the RNG does not dominate a malloc/free
 * pair, and seeded so every allocator sees the same request sequence. */
typedef struct rng { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    /* splitmix64 step: turns small seeds (0, 1, 2...) into well-mixed states */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [lo, hi] (inclusive); the modulo bias is irrelevant here. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
    return lo + (size_t)((rng_next(r) >> 11) % (uint64_t)(hi - lo + 1));
}

/* Keep the compiler from deleting a malloc/free pair whose result is
 * otherwise unused (GCC removes `free(malloc(n))` at -O2). */
static inline void escape(void *p)
{
    __asm__ volatile("" : : "g"(p) : "memory");
}

static inline long parse_long(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || *end || end == s) {
        fprintf(stderr, "bad %s: '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static inline double parse_double(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s) {
        fprintf(stderr, "bad %s: '%s'\n", what, s);
        exit(2);
    }
    return v;
}

/* Reads "VmHWM:" or "VmRSS:" from /proc/self/status, in KiB (-1 if absent).
 * Uses only stdio on a stack buffer: the allocator under test may be the one
 * whose RSS we are measuring, so a few stdio allocations are accepted. */
static inline long proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t klen = strlen(key);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Names the shared object that `malloc` resolves to, so every output says
 * which allocator actually ran (a wrong LD_PRELOAD path fails silently). */
static inline const char *malloc_provider(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        return slash ? slash + 1 : info.dli_fname;
    }
    return "unknown";
}

#endif
