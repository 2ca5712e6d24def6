/* stats.c: counters and the HAKMEM_STATS=1 summary. */
#include <string.h>
#include "heap.h"
#include "os.h"

_Atomic uint64_t hak_rejected[HAK_FREE_NSTATUS];

/* No counter on any fast path (issue 11).  Allocations are counted where a
 * malloc takes a slow path (heap_alloc_slow, full mode's harden_malloc), and
 * with HAKMEM_STATS=1 every malloc does (the fast paths stay off, heap.c):
 * then the per-tier counts are exact.  Otherwise the fast pops are not
 * counted and the Tiny and Mid counts, and the frees derived from them, are
 * reported as 0 (hakmem.h), in every mode: one rule, the variable.  Blocks in use come from the slabs (slab_live),
 * and frees are what was allocated and is no longer in use: no counter on
 * any free path, and no atomic on a remote free. */
static int counted(void) { return hak_opt.stats; }

struct sum { uint64_t alloc[HAK_NCLASS], live[HAK_NCLASS]; };

static void add_heap(hak_heap_t *h, void *arg)
{
    struct sum *s = arg;
    for (unsigned c = 0; c < HAK_NCLASS; c++) s->alloc[c] += __atomic_load_n(&h->nalloc[c], __ATOMIC_RELAXED);
}

static void gather(struct sum *s)
{
    hak_init();
    memset(s, 0, sizeof *s);
    heap_foreach(add_heap, s);
    slab_live(s->live);
}

/* blocks in use per size class, all threads (malloc_info) */
void hak_class_live(uint64_t live[HAK_NCLASS])
{
    hak_init();
    slab_live(live);
}

void hak_get_stats(hak_stats *out)
{
    struct sum s;
    gather(&s);
    memset(out, 0, sizeof *out);
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        uint64_t live = s.live[c];
        out->live_blocks += live;
        out->live_bytes += live * hak_class_usable(c);
        if (!counted()) continue;
        if (hak_class_is_tiny(c)) out->tiny_allocs += s.alloc[c];
        else out->mid_allocs += s.alloc[c];
        out->frees += s.alloc[c] >= live ? s.alloc[c] - live : 0;   /* a snapshot may see a block before its count */
    }
    uint64_t hb, hk, ha, hc, cm, pk;
    huge_stats(&hb, &hk, &ha, &hc);
    slab_stats(&cm, &pk);
    out->live_bytes += hb;
    out->live_blocks += hk + zero_live();   /* malloc(0) blocks: no bytes */
    out->huge_allocs = ha;
    if (counted()) out->frees += ha - hk;
    out->committed = cm;
    out->peak_committed = pk;
    for (int i = 0; i < HAK_FREE_NSTATUS; i++)
        out->rejected[i] = atomic_load_explicit(&hak_rejected[i], memory_order_relaxed);
}

/* decimal without stdio */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_s(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

void hak_print_stats(int fd)
{
    hak_stats st;
    hak_get_stats(&st);
    char buf[512], *p = buf;
    p = put_s(p, "hakmem: live ");      p = put_u64(p, st.live_bytes);
    p = put_s(p, " B in ");             p = put_u64(p, st.live_blocks);
    p = put_s(p, " blocks, committed "); p = put_u64(p, st.committed);
    p = put_s(p, " B, peak ");          p = put_u64(p, st.peak_committed);
    p = put_s(p, " B; allocs tiny ");   p = put_u64(p, st.tiny_allocs);
    p = put_s(p, " mid ");              p = put_u64(p, st.mid_allocs);
    p = put_s(p, " huge ");             p = put_u64(p, st.huge_allocs);
    p = put_s(p, "; frees ");           p = put_u64(p, st.frees);
    p = put_s(p, "; rejected");
    for (int i = HAK_FREE_FOREIGN; i < HAK_FREE_NSTATUS; i++) {
        p = put_s(p, " ");
        p = put_s(p, hak_free_status_name((hak_free_status)i));
        p = put_s(p, "=");
        p = put_u64(p, st.rejected[i]);
    }
    p = put_s(p, "\n");
    os_write(fd, buf, (size_t)(p - buf));
}

__attribute__((destructor)) static void stats_at_exit(void)
{
    if (hak_opt.stats && atomic_load(&hak_ready)) hak_print_stats(2);
}
