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

/* chunk_map.c; callers hold the global lock */
int  cmap_init(void);
void cmap_set(uintptr_t base, size_t len, hak_chunk_t *c);
void cmap_clear(uintptr_t base, size_t len);
#endif
