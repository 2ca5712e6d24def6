/* rptest: rpmalloc's benchmark shape: every thread keeps a working set of
 * blocks of 8..16000 bytes, replaces a random part of it each loop, and
 * hands a share of its blocks to the next thread, which frees them.
 *
 *   rptest threads loops working_set handoff seed
 *
 * Each loop a thread frees and reallocates `working_set/8` random blocks of
 * its set (writing their first bytes), then sends `handoff` blocks of its
 * set to thread id+1 (through a mutex-protected mailbox, one lock per batch)
 * and replaces them, and frees whatever its own mailbox holds.
 *
 * Output: operations (malloc or free) per CPU second (user+sys). */
#include "bench_util.h"   /* first: it sets _GNU_SOURCE */
#include <pthread.h>

#define MAXT 64
struct mailbox {
    pthread_mutex_t mu;
    void **v;
    size_t n, cap;
};
static struct mailbox box[MAXT];
static long nthreads, nloops, nset, nhand;
static uint64_t gseed;
static _Atomic uint64_t total_ops;

static void *new_block(rng_t *r)
{
    /* rptest's distribution: mostly small, a long tail to 16000 */
    size_t n = (rng_next(r) & 3) ? rng_range(r, 8, 512) : rng_range(r, 8, 16000);
    char *p = malloc(n);
    if (!p) { fprintf(stderr, "rptest: malloc(%zu) failed\n", n); exit(1); }
    memset(p, 0x5a, n < 16 ? n : 16);
    return p;
}

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    rng_t r;
    rng_seed(&r, gseed + (uint64_t)id);
    void **set = malloc((size_t)nset * sizeof *set);
    void **out = malloc((size_t)nhand * sizeof *out);
    uint64_t ops = 0;
    for (long i = 0; i < nset; i++) set[i] = new_block(&r);
    ops += (uint64_t)nset;
    struct mailbox *next = &box[(id + 1) % nthreads], *mine = &box[id];
    for (long l = 0; l < nloops; l++) {
        for (long k = 0; k < nset / 8; k++) {
            long i = (long)(rng_next(&r) % (uint64_t)nset);
            free(set[i]);
            set[i] = new_block(&r);
        }
        ops += (uint64_t)(nset / 8) * 2;
        for (long k = 0; k < nhand; k++) {
            long i = (long)(rng_next(&r) % (uint64_t)nset);
            out[k] = set[i];
            set[i] = new_block(&r);
        }
        ops += (uint64_t)nhand;
        pthread_mutex_lock(&next->mu);
        if (next->n + (size_t)nhand > next->cap) {
            next->cap = (next->n + (size_t)nhand) * 2;
            next->v = realloc(next->v, next->cap * sizeof *next->v);
        }
        memcpy(next->v + next->n, out, (size_t)nhand * sizeof *out);
        next->n += (size_t)nhand;
        pthread_mutex_unlock(&next->mu);
        pthread_mutex_lock(&mine->mu);
        size_t n = mine->n;
        void **v = mine->v;
        mine->v = NULL; mine->n = mine->cap = 0;
        pthread_mutex_unlock(&mine->mu);
        for (size_t i = 0; i < n; i++) free(v[i]);
        free(v);
        ops += n;
    }
    for (long i = 0; i < nset; i++) free(set[i]);
    ops += (uint64_t)nset;
    free(set);
    free(out);
    total_ops += ops;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s threads loops working_set handoff seed\n  e.g. %s 2 2000 4000 64 42\n", argv[0],
                argv[0]);
        return 2;
    }
    nthreads = parse_long(argv[1], "threads");
    nloops = parse_long(argv[2], "loops");
    nset = parse_long(argv[3], "working_set");
    nhand = parse_long(argv[4], "handoff");
    gseed = (uint64_t)parse_long(argv[5], "seed");
    if (nthreads < 1 || nthreads > MAXT || nloops < 1 || nset < 8 || nhand < 1) {
        fprintf(stderr, "rptest: need 1<=threads<=%d, loops>=1, working_set>=8, handoff>=1\n", MAXT);
        return 2;
    }
    printf("rptest: threads=%ld loops=%ld working_set=%ld handoff=%ld seed=%llu malloc=%s\n", nthreads, nloops, nset,
           nhand, (unsigned long long)gseed, malloc_provider());
    for (long i = 0; i < nthreads; i++) pthread_mutex_init(&box[i].mu, NULL);
    pthread_t t[MAXT];
    double c0 = cpu_sec(), t0 = now_sec();
    for (long i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (long i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    for (long i = 0; i < nthreads; i++) {           /* what the last loops handed over */
        for (size_t k = 0; k < box[i].n; k++) free(box[i].v[k]);
        total_ops += box[i].n;
        free(box[i].v);
    }
    double cpu = cpu_sec() - c0, wall = now_sec() - t0;
    double ops = (double)total_ops;
    printf("rptest: %.0f ops in %.3f s wall, %.3f s CPU\n", ops, wall, cpu);
    printf("RESULT ops_per_cpu_sec=%.0f ops_per_sec=%.0f cpu_sec=%.3f vmhwm_kib=%ld\n", ops / cpu, ops / wall, cpu,
           proc_status_kib("VmHWM"));
    return 0;
}
