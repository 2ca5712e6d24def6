/* free_fast.h: the decision of free()'s fast path (issue 11: the entry
 * point, proved).
 *
 * hak_free_fast(p) says what free(p) does with a pointer that may be
 * anything: OWN (a live Tiny block at its own start in a slab of the
 * calling thread: free_dispatch.c marks it FREE and pushes it, heap.h
 * heap_free_tiny), REMOTE (the same in another thread's slab: its remote
 * list), or NO (anything else: the Mid accept, then the full gate).  It
 * writes nothing; it reads only memory the arena owns (hak_tiny_live's
 * ownership test comes first), and its one other outcome, an overflow out
 * of the block into the next slot's tag or a FREE neighbour's link, does
 * not return (hak_fatal).  WP proves that OWN and REMOTE come only for a
 * pointer whose classifier verdict is OK (hak_classify's `grid` behaviour
 * with a Tiny unit: the same terms), that every pointer without that
 * verdict gets NO, and that the tag after an accepted block, and for the
 * owner a FREE neighbour's link, were checked.  What free() then does is
 * free_dispatch.c's three-way dispatch on the answer. */
#ifndef HAK_FREE_FAST_H
#define HAK_FREE_FAST_H

#include "guard.h"
#include "heap.h"
#include "sizefit.h"
#include "classify.h"   /* after sanitize.h: under __FRAMAC__ it spells the tag load as a macro */

enum hak_fast_how { HAK_FAST_NO, HAK_FAST_OWN, HAK_FAST_REMOTE };

/* the answer: how, and the block's slab for OWN and REMOTE */
typedef struct hak_fast {
    hak_slab_t *s;
    hak_heap_t *h;     /* OWN: the calling thread's heap (read once) */
    int how;
} hak_fast_t;

/*@ assigns \nothing;
    ensures \false; */
HAK_COLD _Noreturn static void hak_overflow(const unsigned char *p)
{
    hak_fatal(HAK_OVERFLOW_MSG, p);
}


/* `sized` (a constant at each call) adds the one size test of a sized free:
 * a Tiny block of the class of n at its own start is what malloc(n) gives
 * (sized.c has the whole rule). */
/*@ requires uptr: 0 <= (uintptr_t)p <= 18446744073709551615;
    assigns \nothing;
    ensures how: \result.how == HAK_FAST_NO || \result.how == HAK_FAST_OWN || \result.how == HAK_FAST_REMOTE;
    ensures live: \result.how != HAK_FAST_NO ==>
      HAK_L_TINY_LIVE((uintptr_t)p, p) && \result.s == HAK_L_UNIT((uintptr_t)p)->slab;
    ensures verdict: \result.how != HAK_FAST_NO ==>
      \let u = HAK_L_UNIT((uintptr_t)p);
      hak_bverdict(u->kind, *(p - 1), u->cookie, p, u->cls,
                   hak_keyf((uintptr_t)p, hak_secret) ^ hak_hdr_chk(p)) == HAK_FREE_OK;
    ensures sized: \result.how != HAK_FAST_NO && sized != 0 ==> hak_tiny_fits(n, HAK_L_UNIT((uintptr_t)p)->cls);
    ensures own: \result.how == HAK_FAST_OWN ==> \result.h == hak_tl_heap && \result.s->owner == hak_tl_heap;
    ensures remote: \result.how == HAK_FAST_REMOTE ==> \result.s->owner != hak_tl_heap;
    ensures next: \result.how != HAK_FAST_NO ==>
      (*(p + HAK_L_UNIT((uintptr_t)p)->stride - 1) + 256 - \result.s->cookie) % 256 <= HAK_ST_REMOTE;
    ensures next_link: \result.how == HAK_FAST_OWN ==>
      \let st = HAK_L_UNIT((uintptr_t)p)->stride; \let q = p + st; \let s = \result.s;
      (*(q - 1) + 256 - s->cookie) % 256 == HAK_ST_FREE ==>
        (uintptr_t)p % HAK_CHUNK + st + 8 <= HAK_L_UNIT((uintptr_t)p)->end &&
        (hak_fl_x(hak_link_word((unsigned char *)q), s->key, (uintptr_t)q) == 0 ||
         s->start <= hak_fl_x(hak_link_word((unsigned char *)q), s->key, (uintptr_t)q) < s->start + s->span);
    behavior dead: assumes !HAK_L_TINY_LIVE((uintptr_t)p, p) ||
                           (sized != 0 && !hak_tiny_fits(n, HAK_L_UNIT((uintptr_t)p)->cls));
      ensures \result.how == HAK_FAST_NO; */
static inline __attribute__((always_inline)) hak_fast_t hak_free_fast(const unsigned char *p, size_t n, int sized)
{
    hak_fast_t r = { NULL, NULL, HAK_FAST_NO };
    hak_unit_t *u = hak_tiny_live(p);
    if (likely(u != NULL) && (!sized || likely(hak_tiny_size_fits(n, u->cls)))) {
        /* the stride before the barrier: the grid test has it in a register */
        uint32_t stride = u->stride;
        /* u in its register: left alone, the compiler re-derives the unit
         * from the chunk and the index, two instructions more per free */
        HAK_OPAQUE(u);
        hak_slab_t *s = u->slab;
        /* a thread without a heap has the sentinel, which owns no slab;
         * s->cookie, not u->cookie (the same value): the free loads it anyway */
        //@ assert in_chunk: 1 <= (uintptr_t)p % HAK_CHUNK + stride <= HAK_CHUNK;
        //@ assert tag: \valid_read(p + stride - 1);
        hak_heap_t *h = hak_tl_heap;
        if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
            if (unlikely(!hak_next_ok_tiny_own(s, u, p, stride, s->cookie))) hak_overflow(p);
            r.how = HAK_FAST_OWN;
            r.h = h;
        } else {
            if (unlikely(!hak_next_ok_tiny(p, stride, s->cookie, 0))) hak_overflow(p);
            r.how = HAK_FAST_REMOTE;   /* live, but another thread's */
        }
        r.s = s;
    }
    return r;
}
#endif
