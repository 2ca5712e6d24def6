/* fuzz_threads: two threads share frees.  Each input starts two fresh threads
 * (so every input also exercises thread exit and slab abandonment); each runs
 * its half of the input (even bytes: thread 0, odd bytes: thread 1):
 * allocate, send a block through a shared mailbox, take one out and free it
 * (a remote free when the other thread made it), realloc a received block,
 * free its own.  Each block carries its pattern and is verified before any
 * free.  At exit each thread posts its remaining blocks to the mailbox and
 * the main thread frees them after both are gone (frees into abandoned
 * slabs).  Then: hak_heap_check() == 0 and no live blocks.
 * Every free is hak_free_checked and must say OK; no block is freed twice
 * (racing double frees are undefined and are not fuzzed, see SECURITY.md). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fuzz_common.h"

#define NLOCAL 16
#define MBOX 64

typedef struct blk {
    uint8_t *p;
    size_t n;
    uint32_t seed;
} blk;

static pthread_mutex_t mbox_mu = PTHREAD_MUTEX_INITIALIZER;
static blk mbox[MBOX];
static int mbox_n;
static _Atomic uint32_t seed_ctr;

static int post(blk b)
{
    pthread_mutex_lock(&mbox_mu);
    int ok = mbox_n < MBOX;
    if (ok)
        mbox[mbox_n++] = b;
    pthread_mutex_unlock(&mbox_mu);
    return ok;
}

static int take(blk *out, unsigned pick)
{
    pthread_mutex_lock(&mbox_mu);
    int ok = mbox_n > 0;
    if (ok) {
        int i = (int)(pick % (unsigned)mbox_n);
        *out = mbox[i];
        mbox[i] = mbox[--mbox_n];
    }
    pthread_mutex_unlock(&mbox_mu);
    return ok;
}

static void check_free(blk b, const char *who)
{
    size_t bad = fz_verify(b.p, b.n, b.seed);
    FZ_CHECK(bad == (size_t)-1, "%s: block %p (%zu B) corrupted at %zu", who, (void *)b.p, b.n, bad);
    hak_free_status v = hak_free_checked(b.p);
    FZ_CHECK(v == HAK_FREE_OK, "%s: free of live %p = %s", who, (void *)b.p, hak_free_status_name(v));
}

static size_t gen_size(uint8_t sel, uint16_t v)
{
    switch (sel % 8) {
    case 0: case 1: case 2: case 3: return v % (HAKMEM_TINY_MAX + 1);
    case 4: case 5: case 6: return HAKMEM_TINY_MAX + 1 + (size_t)v * 4 % (HAKMEM_MID_MAX - HAKMEM_TINY_MAX);
    default: return HAKMEM_MID_MAX + 1 + (size_t)(v % 4096) * 64;
    }
}

static blk make(size_t n)
{
    blk b = { hak_malloc(n), n, atomic_fetch_add(&seed_ctr, 1) * 0x9e3779b9u + 7 };
    FZ_CHECK(b.p, "hak_malloc(%zu) failed", n);
    FZ_CHECK(hak_usable_size(b.p) >= n, "usable < %zu", n);
    fz_fill(b.p, n, b.seed);
    return b;
}

typedef struct worker {
    const uint8_t *d;
    size_t n;
    int id;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    blk mine[NLOCAL];
    int nm = 0;
    char who[16];
    snprintf(who, sizeof who, "thread %d", w->id);
    /* this thread's bytes: every other byte of the input */
    for (size_t i = (size_t)w->id; i + 6 < w->n; i += 8) {
        uint8_t op = w->d[i], sel = w->d[i + 2];
        uint16_t v = (uint16_t)(w->d[i + 4] | w->d[i + 6] << 8);
        switch (op % 6) {
        case 0: case 1:
            if (nm < NLOCAL)
                mine[nm++] = make(gen_size(sel, v));
            break;
        case 2:
            if (nm && post(mine[nm - 1]))
                nm--;
            break;
        case 3: {
            blk b;
            if (take(&b, v))
                check_free(b, who);
            break;
        }
        case 4: {
            blk b;
            if (nm < NLOCAL && take(&b, v)) {
                size_t bad = fz_verify(b.p, b.n, b.seed);
                FZ_CHECK(bad == (size_t)-1, "%s: received %p corrupted at %zu", who, (void *)b.p, bad);
                size_t n = gen_size(sel, v);
                uint8_t *r = hak_realloc(b.p, n);
                if (n == 0) {   /* glibc semantics: freed, NULL returned */
                    FZ_CHECK(!r, "realloc(p, 0) returned %p", (void *)r);
                    break;
                }
                FZ_CHECK(r, "realloc(%zu) failed", n);
                bad = fz_verify_prefix(r, b.n, b.seed, n);
                FZ_CHECK(bad == (size_t)-1, "%s: cross-thread realloc lost byte %zu", who, bad);
                b.p = r, b.n = n, b.seed = atomic_fetch_add(&seed_ctr, 1) * 0x9e3779b9u + 7;
                fz_fill(r, n, b.seed);
                mine[nm++] = b;
            }
            break;
        }
        default:
            if (nm)
                check_free(mine[--nm], who);
            if (sel & 1)
                sched_yield();
        }
    }
    while (nm) {
        if (!post(mine[nm - 1]))
            check_free(mine[nm - 1], who);
        nm--;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    worker w[2] = { { data, size, 0 }, { data, size, 1 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        FZ_CHECK(pthread_create(&t[i], NULL, run, &w[i]) == 0, "pthread_create failed");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    blk b;
    while (take(&b, 0))
        check_free(b, "main");
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed after both threads exited");
    hak_stats st;
    hak_get_stats(&st);
    FZ_CHECK(st.live_blocks == 0, "%llu blocks still live", (unsigned long long)st.live_blocks);
    return 0;
}
