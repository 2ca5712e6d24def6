/* free_dispatch.c: classification verdict -> action (DESIGN.md 5).
 *
 * hak_classify() (classify.h) decides; this file frees on HAK_FREE_OK and
 * hands everything else to hak_report() (report.c), which applies
 * HAKMEM_INVALID_FREE. */
#include "classify.h"
#include "heap.h"
#include "os.h"

/* Verdict for a pointer the classifier calls foreign or unmapped: it may be
 * a huge block we already unmapped. */
hak_free_status hak_refine(hak_free_status st, const void *p)
{
    if ((st == HAK_FREE_FOREIGN || st == HAK_FREE_UNMAPPED) && huge_recently_freed((uintptr_t)p))
        return HAK_FREE_DOUBLE;
    return st;
}

/* Free what the classifier found live.  p is the pointer the user passed
 * (an aligned alias when it differs from w->user).  Another thread freeing
 * the same pointer at the same moment may win the slot: then DOUBLE, and
 * nothing was touched. */
__attribute__((always_inline)) inline hak_free_status hak_free_found(hak_where_t *w, void *p)
{
    hak_chunk_t *c = w->chunk;
    if (c->kind == HAK_CHUNK_HUGE) return huge_free(c);
    if ((unsigned char *)p != w->user) {
        /* retire the alias header first, so a second free of p reads DOUBLE */
        hak_mid_hdr_t *ah = (hak_mid_hdr_t *)(void *)((unsigned char *)p - HAK_MID_HDR);
        uint64_t k = hak_key((uintptr_t)p), want = hak_hdr_check(k, HAK_ST_ALLOC);
        if (!__atomic_compare_exchange_n(&ah->check, &want, hak_hdr_check(k, HAK_ST_FREE), 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return HAK_FREE_DOUBLE;
    }
    return heap_free(w->unit->slab, w->user);
}

hak_free_status hak_classify_ptr(const void *p)
{
    hak_init();
    hak_where_t w;
    return hak_refine(hak_classify(p, &w), p);
}

hak_free_status hak_free_checked(void *p)
{
    hak_init();
    hak_where_t w;
    hak_free_status st = hak_classify(p, &w);
    if (st == HAK_FREE_OK) {
        st = hak_free_found(&w, p);
        if (st == HAK_FREE_OK) return st;
    }
    st = hak_refine(st, p);
    if (st != HAK_FREE_NULL) atomic_fetch_add_explicit(&hak_rejected[st], 1, memory_order_relaxed);
    return st;
}

/* The rare outcomes of a free: not a live block of the calling thread's
 * heap.  The classifier's findings come in registers, not through memory. */
HAK_COLD static void free_slow(void *p, hak_free_status st, hak_chunk_t *chunk, hak_unit_t *unit,
                               unsigned char *user, const char *fn)
{
    if (st == HAK_FREE_OK) {
        hak_where_t w = { chunk, unit, user };
        st = hak_free_found(&w, p);
        if (st == HAK_FREE_OK) return;
    }
    if (st == HAK_FREE_NULL) return;
    hak_report(hak_refine(st, p), p, fn);
}

/* The full gate: every verdict, every tier. */
__attribute__((flatten)) void hak_free_named(void *p, const char *fn)
{
    hak_where_t w = { NULL, NULL, NULL };
    hak_free_status st = hak_classify(p, &w);
    if (likely(st == HAK_FREE_OK) && likely(w.unit != NULL) && likely((unsigned char *)p == w.user)) {
        hak_slab_t *s = w.unit->slab;
        hak_heap_t *h = hak_tl_heap;
        if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
            if (likely(w.unit->kind == HAK_SLAB_TINY)) heap_free_body(h, s, p, 1, 0);
            else heap_free_mid(h, s, p);
            return;
        }
    }
    free_slow(p, st, w.chunk, w.unit, w.user, fn);
}

/* A live tiny block of another thread's slab. */
__attribute__((noinline)) static void free_remote(hak_slab_t *s, void *p)
{
    if (unlikely(heap_free_other(s, p) != HAK_FREE_OK)) hak_report(HAK_FREE_DOUBLE, p, "free");
}

/* free(): a live tiny block of this thread's heap is freed right here, with
 * no call and no stack frame; everything else goes through the full gate.
 * Under the tools (Memcheck, ASan) the fast-path heap is the sentinel, and
 * the fast accept, which reads the tag byte those tools keep closed, is
 * skipped: the test costs nothing extra, h is needed anyway. */
void hak_free(void *p)
{
    hak_heap_t *h = hak_tl_heap;
    hak_chunk_t *c;
    hak_unit_t *u;
    if (likely(h != &hak_empty_heap) && likely((u = hak_tiny_live(p, &c)) != NULL)) {
        hak_slab_t *s = u->slab;
        if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
            heap_free_body(h, s, p, 1, 0);
            return;
        }
        free_remote(s, p);       /* live, but another thread's: a tail call */
        return;
    }
    hak_free_named(p, "free");
}
