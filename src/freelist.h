/* freelist.h: intrusive free lists with encoded links (DESIGN.md 3).
 *
 * A free slot's first word holds next ^ key ^ (address of the slot), so an
 * overflow that rewrites it cannot point the list at a chosen address
 * without the key, and a decoded link is checked to stay inside its slab
 * before it is followed. */
#ifndef HAK_FREELIST_H
#define HAK_FREELIST_H

#include <stdint.h>
#include "types.h"

/*@ // a link as C computes it: each ^ of two uintptr_t is a uintptr_t
    logic integer hak_fl_x(integer v, integer key, integer slot) =
      (uintptr_t)((uintptr_t)(v ^ key) ^ slot);
*/

/*@ requires uptr: 0 <= (uintptr_t)next <= 18446744073709551615 && 0 <= (uintptr_t)slot <= 18446744073709551615;
    assigns \nothing;
    ensures encodes: \result == hak_fl_x((uintptr_t)next, key, (uintptr_t)slot);
    ensures decodes: (hak_free_t *)(\result ^ key ^ (uintptr_t)slot) == next; */
static inline uintptr_t hak_fl_enc(const hak_free_t *next, uintptr_t key, const hak_free_t *slot)
{
    return (uintptr_t)next ^ key ^ (uintptr_t)slot;
}

/*@ requires uptr: 0 <= (uintptr_t)slot <= 18446744073709551615;
    assigns \nothing;
    ensures decodes: \result == (hak_free_t *)hak_fl_x(e, key, (uintptr_t)slot); */
static inline hak_free_t *hak_fl_dec(uintptr_t e, uintptr_t key, const hak_free_t *slot)
{
    return (hak_free_t *)(e ^ key ^ (uintptr_t)slot);
}

/*@ axiomatic hak_wrap {
      // Trusted facts of C arithmetic that WP's integer model lacks
      // (proofs/README.md).  C11 6.3.1.3p2: a negative value converted to
      // uintptr_t wraps once; hak_fl_in_range's subtraction wraps on purpose.
      axiom hak_uintptr_wrap: \forall integer x;
        -18446744073709551616 <= x < 0 ==> (uintptr_t)x == x + 18446744073709551616;
      // Bitwise xor of two 64-bit values is a 64-bit value (WP's lxor is
      // uninterpreted on integers): the links as C computes them (each ^
      // wrapped to uintptr_t) equal the plain ones of the contracts.
      axiom hak_xor_u64: \forall integer x, y;
        0 <= x <= 18446744073709551615 ==> 0 <= y <= 18446744073709551615 ==>
        0 <= (x ^ y) <= 18446744073709551615;
    }
    // proved from hak_xor_u64: the C link is the plain xor, so push's
    // contract (plain) and pop's (as C computes it) compose
    lemma hak_fl_x_plain: \forall integer v, key, slot;
      0 <= v <= 18446744073709551615 ==> 0 <= key <= 18446744073709551615 ==>
      0 <= slot <= 18446744073709551615 ==> hak_fl_x(v, key, slot) == (v ^ key ^ slot);
*/

/*@ // slot q < cap of a grid of stride stride from start
    predicate hak_fl_slot(integer n, integer start, integer stride, integer cap) =
      start <= n < start + cap * stride && (n - start) % stride == 0;
*/

/* A slot of a grid whose start and stride are multiples of HAK_ALIGN is a
 * multiple of HAK_ALIGN: a lemma in the form of a function (empty: it
 * compiles to nothing), whose steps the provers take in this small context
 * and not inside a caller's (heap.h: the malloc pop's `aligned`). */
/*@ requires grid: start <= n && (n - start) % stride == 0;
    requires align: start % HAK_ALIGN == 0 && stride % HAK_ALIGN == 0 && stride > 0;
    assigns \nothing;
    ensures aligned: n % HAK_ALIGN == 0; */
static inline void hak_fl_slot16(uintptr_t n, uintptr_t start, uint32_t stride)
{
    //@ assert k16: stride == stride / HAK_ALIGN * HAK_ALIGN;
    //@ assert q: n - start == (n - start) / stride * stride;
    //@ assert q16: n - start == (n - start) / stride * (stride / HAK_ALIGN) * HAK_ALIGN;
    //@ assert d16: (n - start) % HAK_ALIGN == 0;
    (void)n;
    (void)start;
    (void)stride;
}

/* a decoded link is acceptable: NULL or inside [start, start + span).  One
 * unsigned compare: below start the difference wraps to >= span. */
/*@ requires uptr: 0 <= (uintptr_t)n <= 18446744073709551615;
    requires nowrap: start + span <= 18446744073709551616;
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures in_range: \result == 1 <==> (n == \null || start <= (uintptr_t)n < start + span); */
static inline int hak_fl_in_range(const hak_free_t *n, uintptr_t start, uintptr_t span)
{
    return n == NULL || (uintptr_t)n - start < span;
}

/* The link word e of the free slot at address slot may be followed: it
 * decodes to NULL or into [start, start + span).  The pop's test, for a
 * slot that is not popped: the owner's look at the FREE slot right after a
 * block it frees (guard.h).  Integers only: the caller reads the word
 * through its byte layer (guard.h, hak_link_read). */
/*@ requires nowrap: start + span <= 18446744073709551616;
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures ok: \result == 1 <==> (hak_fl_x(e, key, slot) == 0 ||
                                   start <= hak_fl_x(e, key, slot) < start + span); */
static inline int hak_fl_link_ok(uintptr_t e, uintptr_t slot, uintptr_t key, uintptr_t start, uintptr_t span)
{
    uintptr_t n = e ^ key ^ slot;
    return n == 0 || n - start < span;
}

/*@ requires \valid(head) && \valid(b) && \separated(head, b);
    requires uptr: 0 <= (uintptr_t)*head <= 18446744073709551615 && 0 <= (uintptr_t)b <= 18446744073709551615;
    assigns *head, b->next_enc;
    ensures *head == b;
    ensures link: (hak_free_t *)(b->next_enc ^ key ^ (uintptr_t)b) == \old(*head); */
static inline void hak_fl_push(hak_free_t **head, hak_free_t *b, uintptr_t key)
{
    b->next_enc = hak_fl_enc(*head, key, b);
    *head = b;
}

/* A decoded link is acceptable to the pop: NULL, or a slot of the slab's
 * grid, start + q * stride with q < cap.  q = d * recip / 2^32 is d / stride
 * when d is (types.h, hak_recip_grid); the test q < cap && q * stride == d
 * accepts only slots whatever recip is (q * stride never wraps: q < 2^32,
 * stride < 2^32), so a wrong recip could only reject a link.  Below start
 * the difference wraps to at least 2^64 - start >= cap * stride, which no
 * q < cap reaches.  d * recip wraps there on purpose (nowrapcheck). */
/*@ requires uptr: 0 <= (uintptr_t)n <= 18446744073709551615;
    requires stride: stride > 0;
    requires nowrap: start + cap * stride <= 18446744073709551616;
    requires small: cap * stride < 4294967296;
    requires recip: recip == hak_recip(stride);
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures grid: \result == 1 <==> (n == \null || hak_fl_slot((uintptr_t)n, start, stride, cap)); */
static inline int hak_fl_in_grid(const hak_free_t *n, uintptr_t start, uint32_t stride, uint32_t recip, uint32_t cap)
{
    uintptr_t d = (uintptr_t)n - start;
    uint64_t q = d * recip / 4294967296u;
    //@ assert d_above: (uintptr_t)n >= start ==> d == (uintptr_t)n - start;
    //@ assert d_below: (uintptr_t)n < start ==> d == (uintptr_t)n - start + 18446744073709551616;
    //@ assert q_small: q < 4294967296;
    //@ assert in_slot: hak_fl_slot((uintptr_t)n, start, stride, cap) ==> d < 4294967296 && d * recip < 18446744073709551616 && q == d * recip / 4294967296;
    //@ assert slot_q: hak_fl_slot((uintptr_t)n, start, stride, cap) ==> q * stride == d;
    //@ assert slot_cap: hak_fl_slot((uintptr_t)n, start, stride, cap) ==> q < cap;
    //@ assert q_cap: q < cap ==> q * stride < cap * stride;
    //@ assert sound: q < cap && q * stride == d ==> (uintptr_t)n >= start;
    //@ assert sound_mod: q < cap && q * stride == d ==> ((uintptr_t)n - start) % stride == 0;
    return n == NULL || (q < cap && q * stride == d);
}

/* Unlink b, the head of the list at *head: decode its link and follow it
 * only if it is a slot of the slab's grid (hak_fl_in_grid).  1: *head is
 * b's successor and b's link word is zero, so the block handed out shows no
 * encoded link (one read of a fresh block would otherwise give
 * next ^ key ^ b, the key); 0: the link is corrupted, and *head and b are
 * left as they were.  (heap_pop's step: with every link on the grid, the
 * list holds only slots, and the pop hands out only slots.) */
/*@ requires \valid(head) && \valid(b) && \separated(head, b);
    requires *head == b;
    requires uptr: 0 <= (uintptr_t)b <= 18446744073709551615;
    requires stride: stride > 0;
    requires nowrap: start + cap * stride <= 18446744073709551616;
    requires small: cap * stride < 4294967296;
    requires recip: recip == hak_recip(stride);
    assigns *head, b->next_enc;
    behavior linked:
      assumes (hak_free_t *)hak_fl_x(b->next_enc, key, (uintptr_t)b) == \null ||
              hak_fl_slot(hak_fl_x(b->next_enc, key, (uintptr_t)b), start, stride, cap);
      ensures \result == 1;
      ensures next: *head == (hak_free_t *)hak_fl_x(\old(b->next_enc), key, (uintptr_t)b);
      ensures cleared: b->next_enc == 0;
    behavior corrupt:
      assumes (hak_free_t *)hak_fl_x(b->next_enc, key, (uintptr_t)b) != \null &&
              !hak_fl_slot(hak_fl_x(b->next_enc, key, (uintptr_t)b), start, stride, cap);
      ensures \result == 0;
      ensures *head == b;
      ensures kept: b->next_enc == \old(b->next_enc);
    complete behaviors; disjoint behaviors; */
static inline int hak_fl_pop(hak_free_t **head, hak_free_t *b, uintptr_t key,
                             uintptr_t start, uint32_t stride, uint32_t recip, uint32_t cap)
{
    hak_free_t *nx = hak_fl_dec(b->next_enc, key, b);
    if (!hak_fl_in_grid(nx, start, stride, recip, cap)) return 0;
    *head = nx;
#if !HAK_LEAN   /* measurement build only: issue 12's cost (types.h) */
    b->next_enc = 0;
#endif
    return 1;
}
#endif
