/* heap.h: the per-thread fast paths (DESIGN.md 4).  Slow paths are in heap.c.
 *
 * hak_tl_heap is what the fast paths use; hak_tl_own is the thread's real
 * heap.  They are the same heap, except under Valgrind's Memcheck or in an
 * ASan build: then hak_tl_heap stays the empty sentinel, so every malloc
 * and free misses the fast path and goes through the slow path, which
 * issues the tool hooks.  The normal fast path carries no hook and no test
 * for the tools at all. */
#ifndef HAK_HEAP_H
#define HAK_HEAP_H

#include "freelist.h"
#include "guard.h"
#include "internal.h"
#include "sanitize.h"
#include "tag.h"

#define HAK_INLINE static inline __attribute__((always_inline))

/* --*x <= 0, as one decrement of memory and a branch on its flags: GCC
 * otherwise loads, subtracts, stores and tests (three instructions more
 * on every free).  Only the owner touches the countdown.  WP proves the C
 * spelling; the asm is its x86-64 instruction (sub, then `le` on its flags:
 * ZF or SF != OF, the signed <= 0 of the result). */
/*@ requires \valid(x) && *x > -2147483648;
    assigns *x;
    ensures counted: *x == \old(*x) - 1;
    ensures done: \result != 0 <==> *x <= 0; */
HAK_INLINE int countdown_done(int32_t *x)
{
#if defined(__x86_64__) && !defined(__FRAMAC__)
    int le;
    __asm__("subl $1, %0" : "+m"(*x), "=@ccle"(le));
    return le;
#else
    return --*x <= 0;
#endif
}

/* Mark the slot at p allocated or free (tiny tag or mid header).  The only
 * other writer of tag and header state is the remote free (heap.c). */
HAK_INLINE void slot_mark(const hak_slab_t *s, unsigned char *p, unsigned state, int tiny, int tools)
{
    if (tiny)
        hak_tag_store(p, hak_tag_encode(s->cookie, state), tools);
    else
        hak_hdr_store(p, HAK_MID_MAGIC, s->cls, hak_hdr_check(hak_key((uintptr_t)p), state), tools);
}

/* usable bytes of a block of slab s */
HAK_INLINE size_t slab_usable(const hak_slab_t *s)
{
    return hak_class_usable(s->cls);
}

/* Take block b, the head of s's local list, for class c: the malloc pop.
 * start is s->start (the tools' instance derives it: heap_pop_tools).  The
 * block is seen through three typed views of its address, which the caller
 * makes (heap_pop_slot): b its link word, p its bytes (the tiny tag is
 * p[-1]), hd its mid header (the 16 bytes in front of it).  The proved
 * contract: with every link of the list on the slab's grid (the invariant,
 * kept by every push: frees of checked slots, the carve, the remote
 * collection's grid test), the block handed out is b, a slot of the grid,
 * 16-aligned (`aligned`, by hak_fl_slot16), whose tag or header reads ALLOC,
 * and the list left behind keeps the invariant; a link off the grid, or a
 * tiny slot whose tag does not read FREE, is fatal (hak_fatal does not
 * return).  The tool hooks are outside it (heap_pop_tools). */
/*@ requires \valid(s) && \valid(b);
    requires views: (uintptr_t)p == (uintptr_t)b && (uintptr_t)hd == (uintptr_t)b - 16;
    requires tag: tiny ==> \valid(p - 1);
    requires hdr: !tiny ==> \valid(hd);
    requires sep: \separated(s, b);
    requires sep_tag: tiny ==> \separated(p - 1, s, b);
    requires sep_hdr: !tiny ==> \separated(hd, s, b);
    requires head: s->free == b;
    requires start: start == s->start;
    requires cookie: s->cookie <= HAK_COOKIE_MAX;
    requires align: start % HAK_ALIGN == 0 && s->stride % HAK_ALIGN == 0 && s->stride > 0;
    requires grid: start + s->capacity * s->stride <= 18446744073709551616 &&
                   s->capacity * s->stride < 4294967296 && s->recip == hak_recip(s->stride);
    requires slot: hak_fl_slot((uintptr_t)b, start, s->stride, s->capacity);
    requires left: s->left < 2147483647;
    assigns s->free, b->next_enc, s->left, *(p - 1), hd->check;
    ensures block: \result == b;
    ensures on_grid: hak_fl_slot((uintptr_t)\result, start, s->stride, s->capacity);
    ensures aligned: (uintptr_t)\result % HAK_ALIGN == 0;
    ensures list: s->free == \null || hak_fl_slot((uintptr_t)s->free, start, s->stride, s->capacity);
    ensures cleared: b->next_enc == 0;
    ensures tiny_was_free: tiny ==> \old(*(p - 1)) == (s->cookie + HAK_ST_FREE) % 256;
    ensures tiny_alloc: tiny ==> *(p - 1) == (s->cookie + HAK_ST_ALLOC) % 256;
    ensures mid_alloc: !tiny ==> hd->check == (\old(hd->check) ^ (HAK_ST_FREE ^ HAK_ST_ALLOC));
    ensures counted: s->left == \old(s->left) + 1; */
HAK_INLINE hak_free_t *heap_pop_body(hak_slab_t *s, hak_free_t *b, unsigned char *p, hak_mid_hdr_t *hd,
                                     uintptr_t start, int tiny, int tools)
{
    uint8_t cookie = s->cookie;   /* once: the stores below could alias it for the compiler */
    hak_fl_slot16((uintptr_t)b, start, s->stride);   /* proof only: b is 16-aligned */
    if (unlikely(!hak_fl_pop(&s->free, b, s->key, start, s->stride, s->recip, s->capacity)) ||
        (tiny && unlikely(hak_tag_load(p, tools) != hak_tag_encode(cookie, HAK_ST_FREE))))
        hak_fatal("corrupted free list (heap overflow into a free block?)", p);
    s->left++;
    if (tiny)
        hak_tag_store(p, hak_tag_encode(cookie, HAK_ST_ALLOC), tools);
    else   /* a block on the list reads FREE: flipping its state needs no key */
        hak_hdr_flip(hd, HAK_ST_FREE ^ HAK_ST_ALLOC, tools);
    return b;
}

/* The pop of b with its views made (heap_pop_body). */
HAK_INLINE void *heap_pop_slot(hak_slab_t *s, hak_free_t *b, uintptr_t start, int tiny, int tools)
{
    unsigned char *p = (unsigned char *)b;
    return heap_pop_body(s, b, p, (hak_mid_hdr_t *)(void *)(p - HAK_MID_HDR), start, tiny, tools);
}

/* The pop under the tools: the same body, with the hooks around it. */
static inline void *heap_pop_tools(hak_slab_t *s, unsigned c)
{
    hak_free_t *b = s->free;
    hak_san_internal(b, sizeof *b);
    void *p = heap_pop_slot(s, b, hak_slab_start(s), hak_class_is_tiny(c), 1);
    hak_san_alloc(p, hak_class_usable(c), 0);
    return p;
}

/* Pop a block of class c from the calling thread's heap, or NULL when the
 * current slab's local list is empty (the caller goes to heap_alloc_slow). */
HAK_INLINE void *heap_pop(unsigned c, int tiny)
{
    hak_heap_t *h = hak_tl_heap;
    hak_slab_t *s = h->avail[c];
    hak_free_t *b = s->free;
    if (unlikely(b == NULL)) return NULL;
    return heap_pop_slot(s, b, s->start, tiny, 0);
}

void heap_free_slow(hak_heap_t *h, hak_slab_t *s);
hak_free_status heap_free_other(hak_slab_t *s, unsigned char *p, int exact);

/* The owner's free once p is marked FREE: onto the local list, and the
 * countdown. */
HAK_INLINE void heap_free_push(hak_heap_t *h, hak_slab_t *s, unsigned char *p, int tools)
{
    if (tools) hak_san_internal(p, sizeof(hak_free_t));
    hak_fl_push(&s->free, (hak_free_t *)(void *)p, s->key);
    if (tools) hak_san_internal_done(p, sizeof(hak_free_t));
    if (unlikely(countdown_done(&s->left)))
        heap_free_slow(h, s);
}

/* The owner's free of the Tiny block p, seen as the pop sees it (b its link
 * word, p its bytes; the caller makes the views, heap_free_tiny): its tag
 * FREE, onto the local list, the countdown.  1 when the countdown ran out:
 * the caller then takes heap_free_slow.  The proved contract: the tag reads
 * FREE, b heads the list with a link that decodes to the old head, the
 * countdown moved by one, and nothing else was written. */
/*@ requires \valid(s) && \valid(b) && \valid(p - 1);
    requires views: (uintptr_t)p == (uintptr_t)b;
    requires sep: \separated(s, b, p - 1);
    requires uptr: 0 <= (uintptr_t)s->free <= 18446744073709551615 && 0 <= (uintptr_t)b <= 18446744073709551615;
    requires cookie: s->cookie <= HAK_COOKIE_MAX;
    requires left: s->left > -2147483648;
    assigns s->free, b->next_enc, s->left, *(p - 1);
    ensures freed: *(p - 1) == (s->cookie + HAK_ST_FREE) % 256;
    ensures pushed: s->free == b;
    ensures link: (hak_free_t *)(b->next_enc ^ s->key ^ (uintptr_t)b) == \old(s->free);
    ensures counted: s->left == \old(s->left) - 1;
    ensures done: \result != 0 <==> s->left <= 0; */
HAK_INLINE int heap_free_tiny_body(hak_slab_t *s, hak_free_t *b, unsigned char *p)
{
    hak_tag_store(p, hak_tag_encode(s->cookie, HAK_ST_FREE), 0);
    hak_fl_push(&s->free, b, s->key);
    return countdown_done(&s->left);
}

/* The owner's free of the Tiny block p (free()'s OWN answer, free_fast.h) */
HAK_INLINE void heap_free_tiny(hak_heap_t *h, hak_slab_t *s, unsigned char *p)
{
    if (unlikely(heap_free_tiny_body(s, (hak_free_t *)(void *)p, p)))
        heap_free_slow(h, s);
}

HAK_INLINE void heap_free_body(hak_heap_t *h, hak_slab_t *s, unsigned char *p, int tiny, int tools)
{
    if (tiny && !tools) {
        heap_free_tiny(h, s, p);
        return;
    }
    if (tools) hak_san_free(p, slab_usable(s));
    slot_mark(s, p, HAK_ST_FREE, tiny, tools);
    heap_free_push(h, s, p, tools);
}

void heap_free_mid(hak_heap_t *h, hak_slab_t *s, unsigned char *p);   /* out of line: heap.c */

/* Claim the slot at p, live (ALLOC), into `state` with one compare-and-swap
 * of its tag or check word: of any number of racing frees of one pointer
 * exactly one gets past it, and the others touch nothing.  The slab fields
 * are read relaxed: a remote freer holds no claim on the slab yet. */
/* ...from state `from`: ALLOC, or FREE for a block leaving full mode's quarantine (harden.c) */
HAK_INLINE int slot_claim_from(const hak_slab_t *s, unsigned char *p, unsigned from, unsigned state, int tools)
{
    if (HAK_LOAD_RELAXED(s->kind) == HAK_SLAB_TINY) {
        uint8_t cookie = HAK_LOAD_RELAXED(s->cookie);
        return hak_tag_cas(p, hak_tag_encode(cookie, from), hak_tag_encode(cookie, state), tools);
    }
    uint64_t k = hak_key((uintptr_t)p);
    return hak_hdr_cas_check(p, hak_hdr_check(k, from), hak_hdr_check(k, state), tools);
}

HAK_INLINE int slot_claim(const hak_slab_t *s, unsigned char *p, unsigned state, int tools)
{
    return slot_claim_from(s, p, HAK_ST_ALLOC, state, tools);
}

/* Free a block that hak_classify() found live: p is the real user pointer,
 * s the head descriptor of its span.  Not ours (another thread's slab, or
 * tool mode): heap_free_other.  Returns OK, or DOUBLE for a lost race.
 * `exact` (the calls that return a verdict, and realloc): the owner claims
 * the slot too, so that of two racing frees one returns DOUBLE.  Without it
 * (free(), the fast path: no locked instruction) the owner's plain store may
 * overwrite another thread's claim in a window of a few instructions; the
 * owner's collection then finds the block FREE on its remote list and
 * reports the double free there (heap.c, collect_remote_body). */
HAK_INLINE hak_free_status heap_free(hak_slab_t *s, unsigned char *p, int exact)
{
    hak_heap_t *h = hak_tl_heap;
    if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
        int tiny = s->kind == HAK_SLAB_TINY;
        /* the caller checked the tag after p; the owner also checks a FREE one's link (guard.h) */
#if !HAK_LEAN   /* measurement build only: issue 12's cost (types.h) */
        unsigned char *q = p + s->stride;
        if (tiny && unlikely(!hak_next_link_ok(s, q, hak_tag_load(q, 0), s->cookie, hak_slot_room(s, q)))) hak_fatal(HAK_OVERFLOW_MSG, p);
#endif
        if (exact && !slot_claim(s, p, HAK_ST_FREE, 0)) return HAK_FREE_DOUBLE;
        heap_free_body(h, s, p, tiny, 0);
        return HAK_FREE_OK;
    }
    return heap_free_other(s, p, exact);   /* DOUBLE when a racing free won the slot */
}
#endif
