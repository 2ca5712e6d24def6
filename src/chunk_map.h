/* chunk_map.h: ownership by address arithmetic (DESIGN.md 2).
 *
 * One pointer per 2 MiB chunk of the 47-bit user address space, reserved
 * with MAP_NORESERVE at init (512 MiB of address space, pages touched only
 * where we own chunks).  An entry is set before a chunk or huge block is
 * handed out and cleared before a huge mapping is unmapped; slab chunks are
 * never unmapped, so a descriptor read through the map stays readable. */
#ifndef HAK_CHUNK_MAP_H
#define HAK_CHUNK_MAP_H

#include <stdatomic.h>
#include <stdint.h>
#include "types.h"

extern _Atomic(hak_chunk_t *) *hak_cmap;   /* HAK_MAP_N entries; NULL before init */

/* The descriptor owning the chunk at base (base % HAK_CHUNK == 0), or NULL.
 * Reads only the map.  Contract assumed by the proofs: proofs/README.md. */
/*@ axiomatic hak_map_model {
      // the chunk map's entry for the chunk at base, a snapshot
      logic hak_chunk_t *hak_desc_of(integer base);
    } */
/*@ requires link: base == (uintptr_t)p - (uintptr_t)p % HAK_CHUNK;
    assigns \nothing;
    ensures model: \result == hak_desc_of(base);
    ensures desc: \result != \null ==> \valid_read(\result);
    ensures uptr: \result != \null ==> 0 <= (uintptr_t)\result <= 18446744073709551615;
    ensures kind: \result != \null ==> \result->kind == HAK_CHUNK_SLABS || \result->kind == HAK_CHUNK_HUGE;
    ensures stride: \result != \null && \result->kind == HAK_CHUNK_SLABS ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==> \result->unit[i].stride > 0;
    ensures recip: \result != \null && \result->kind == HAK_CHUNK_SLABS ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==> \result->unit[i].recip == hak_recip(\result->unit[i].stride);
    ensures first: \result != \null && \result->kind == HAK_CHUNK_SLABS ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].first >= HAK_FIRST;
    ensures cls: \result != \null && \result->kind == HAK_CHUNK_SLABS ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].cls < HAK_NCLASS;
    ensures chunk: \result != \null && \result->kind == HAK_CHUNK_SLABS ==>
        \valid_read(p - (uintptr_t)p % HAK_CHUNK + (0 .. HAK_CHUNK - 1)); */
#ifdef __FRAMAC__
hak_chunk_t *cmap_lookup(uintptr_t base) /*@ ghost (const unsigned char *p) */;
#else
static inline hak_chunk_t *cmap_lookup(uintptr_t base)
{
    uintptr_t i = base / HAK_CHUNK;
    _Atomic(hak_chunk_t *) *m = hak_cmap;
    if (i >= HAK_MAP_N || m == NULL) return NULL;
    return atomic_load_explicit(&m[i], memory_order_acquire);
}
#endif

/* The slab arena (issue 11): one PROT_NONE reservation of HAK_ARENA bytes,
 * made at init when no tool runs, from which chunk_new takes slab chunks in
 * address order; they are never given back.  Everything in
 * [hak_arena.lo, hak_arena.lo + hak_arena.len) is a slab chunk, entered in
 * the map before the length covers it, so the free fast path's ownership
 * test is one subtract and one compare, with no map load and no kind test.
 * hak_arena.len is 0 before init, under Valgrind's Memcheck and in the ASan
 * build (then the fast accept never runs and every free takes the full
 * gate, which issues the tool hooks), and when the reservation failed.
 * Chunks made once the arena is full (or without it) come from os_map and
 * are found through the map by the full gate.  Contract assumed by the
 * proofs (proofs/README.md): cmap_lookup's, except that the result may be
 * NULL for a chunk of ours, and that a result is a slab chunk. */
typedef struct hak_arena {
    _Atomic uintptr_t lo;      /* base of the reservation, 0 when there is none */
    _Atomic uintptr_t len;     /* bytes of it described and in the map */
} hak_arena_t;                 /* side by side: one address for the fast path's two loads */
extern hak_arena_t hak_arena __attribute__((visibility("hidden")));   /* hidden: one rip-relative load each */
/*@ requires link: a == (uintptr_t)p;
    assigns \nothing;
    ensures model: \result == \null || \result == hak_desc_of(a - a % HAK_CHUNK);
    ensures desc: \result != \null ==> \valid_read(\result);
    ensures uptr: \result != \null ==> 0 <= (uintptr_t)\result <= 18446744073709551615;
    ensures kind: \result != \null ==> \result->kind == HAK_CHUNK_SLABS;
    ensures stride: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==> \result->unit[i].stride > 0;
    ensures recip: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==> \result->unit[i].recip == hak_recip(\result->unit[i].stride);
    ensures first: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].first >= HAK_FIRST;
    ensures cls: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].cls < HAK_NCLASS;
    ensures chunk: \result != \null ==>
        \valid_read(p - (uintptr_t)p % HAK_CHUNK + (0 .. HAK_CHUNK - 1));
    // the free fast path's entry point (free_fast.h) also reads past the
    // block: the next slot's tag, and a FREE one's link, and the slab
    ensures ends: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].end <= HAK_CHUNK;
    ensures slots: \result != \null ==>
        \forall integer i, o; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \result->unit[i].first <= o < \result->unit[i].end &&
            (o - \result->unit[i].first) % \result->unit[i].stride == 0 ==> o + \result->unit[i].stride <= \result->unit[i].end;
    ensures slab: \result != \null ==>
        \forall integer i; 0 <= i < HAK_NSLAB ==>
          \result->unit[i].kind != HAK_SLAB_UNUSED ==> \valid_read(\result->unit[i].slab) &&
          \result->unit[i].slab->start + \result->unit[i].slab->span <= 18446744073709551616; */
#ifdef __FRAMAC__
hak_chunk_t *arena_chunk(uintptr_t a) /*@ ghost (const unsigned char *p) */;
#else
/* the chunk of address a: lo and len are whole chunks, so a is inside iff its chunk is */
static inline hak_chunk_t *arena_chunk(uintptr_t a)
{
    uintptr_t lo = atomic_load_explicit(&hak_arena.lo, memory_order_relaxed);
    if (a - lo >= atomic_load_explicit(&hak_arena.len, memory_order_acquire)) return NULL;
    uintptr_t base = a - a % HAK_CHUNK;
    /* base 0 never passes (len is 0 without an arena, and 0 - lo wraps far
     * above any length otherwise): tell the
     * compiler, so that the caller's NULL test folds into the compare */
    if (base == 0) __builtin_unreachable();
    return (hak_chunk_t *)base;
}
#endif

/* chunk_map.c; callers hold the global lock */
int  cmap_init(void);
void cmap_set(uintptr_t base, size_t len, hak_chunk_t *c);
void cmap_clear(uintptr_t base, size_t len);
void  arena_init(void);        /* hak_init, when no tool runs: reserve the arena */
void *arena_take(void);        /* a read-write chunk of it, or NULL when there is none left */
void  arena_publish(void *c);  /* c (from arena_take) is described and in the map: fast path on */
#endif
