/* classify.h: the one gate every pointer passes (DESIGN.md 5, STYLE.md 5.3).
 *
 * hak_classify() decides, without side effects, what p is.  Order:
 *   NULL -> chunk map (ours?) -> foreign: mincore probe of the bytes in front
 *   of p, nothing read -> huge: exact user pointer + keyed state -> slab unit
 *   in use -> slot grid -> only then the in-band tag / header, whose state
 *   decides OK / DOUBLE / INVALID.
 * It reads memory only inside a chunk the map says we own. */
#ifndef HAK_CLASSIFY_H
#define HAK_CLASSIFY_H

#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "tag.h"
#ifndef __FRAMAC__
#include "sanitize.h"
#else
/* the proofs see the in-band bytes read directly */
#define hak_tag_load(p, tools) ((p)[-1])
#define hak_hdr_load(p, tools) hak_hdr_read(p)
#endif

/* ---- Proof model (ACSL only; proofs/README.md lists what is trusted) ----
 * The world the classifier looks at is abstract: hak_desc_of (chunk map,
 * chunk_map.h), hak_mapped (mincore, os.h), the header bytes in front of a
 * pointer as hak_hdr_read returns them, and hak_key as a function of the
 * address and the secret.  None of them has an axiom. */
/*@ axiomatic hak_classify_model {
      logic integer hak_hdr_magic(unsigned char *p);
      logic integer hak_hdr_aux(unsigned char *p);
      logic integer hak_hdr_chk(unsigned char *p);
      logic integer hak_keyf(integer a, integer secret);
    }
    logic integer hak_pg(integer a) = a - a % HAK_PAGE;
    // every byte a header read in front of a would touch is on a mapped page
    predicate hak_front_mapped(integer a) =
      a >= HAK_MID_HDR && \forall integer x; a - HAK_MID_HDR <= x < a ==> hak_mapped(hak_pg(x));
    predicate hak_grid{L}(hak_unit_t *u, integer off) =
      \at(u->first, L) <= off < \at(u->end, L) && (off - \at(u->first, L)) % \at(u->stride, L) == 0;
    logic integer hak_verdict(integer st) =
      st == HAK_ST_ALLOC ? HAK_FREE_OK : st == HAK_ST_FREE || st == HAK_ST_REMOTE ? HAK_FREE_DOUBLE : HAK_FREE_INVALID;
    // verdict of a tiny block from its tag byte and its slab's cookie
    logic integer hak_tverdict(integer tag, integer cookie) = hak_verdict((tag + 256 - cookie) % 256);
    // verdict of a mid block from its header and its slab's class; st is
    // the state decoded from the header's check word (written out at each
    // use: an xor inside a definition defeats the provers, which lack AC)
    logic integer hak_mverdict(unsigned char *p, integer cls, integer st) =
      hak_hdr_magic(p) == HAK_MID_MAGIC && hak_hdr_aux(p) == cls ? hak_verdict(st) : HAK_FREE_INVALID;
    // verdict of the block at p on the grid of a unit of that kind, cookie and class
    logic integer hak_bverdict(integer kind, integer tag, integer cookie, unsigned char *p,
                               integer cls, integer st) =
      kind == HAK_SLAB_TINY ? hak_tverdict(tag, cookie) : hak_mverdict(p, cls, st);
*/

#ifdef __FRAMAC__
/* Descriptor and unit of address a in the model, spelled out as macros
 * rather than logic definitions so that Qed sees through them (with
 * definitions the provers time out unfolding them). */
#define HAK_L_DESC(a) hak_desc_of((a) - (a) % HAK_CHUNK)
#define HAK_L_UNIT(a) (&HAK_L_DESC(a)->unit[((a) % HAK_CHUNK) / HAK_SLAB])
/* p (address a) is a live Tiny block at its own start: hak_classify's
 * `grid` behaviour with a Tiny unit whose verdict is OK (hak_tiny_live,
 * and the free fast path's hak_free_fast, free_fast.h) */
#define HAK_L_TINY_LIVE(a, p)                                                             \
    (HAK_L_DESC(a) != \null && HAK_L_DESC(a)->kind == HAK_CHUNK_SLABS &&                  \
     HAK_L_UNIT(a)->kind == HAK_SLAB_TINY && hak_grid(HAK_L_UNIT(a), (a) % HAK_CHUNK) && \
     hak_tverdict(*((p) - 1), HAK_L_UNIT(a)->cookie) == HAK_FREE_OK)
#endif

/* hak_key (internal.h) is a bit mixer; WP is given only that it is a
 * function of the address and the secret (trusted, proofs/README.md). */
#ifdef __FRAMAC__
/*@ assigns \nothing;
    ensures \result == hak_keyf(a, hak_secret); */
static inline uint64_t hak_key(uintptr_t a);
#endif

/* Slot grid: a is a user pointer of the slab iff first <= off < end and
 * (off - first) % stride == 0.  Compares before subtracting: no wrap.  The
 * remainder is not computed (a 32-bit div by a variable: 13-40 cycles, a
 * sixth of free's time): q = d * recip / 2^32 is d / stride exactly when
 * stride divides d (d < end < 2^32, recip = ceil(2^32 / stride), types.h:
 * with stride * recip = 2^32 + e, e < stride, d * recip = q * 2^32 + q * e
 * and q * e < d), and d is on the grid iff q * stride == d.  The compare
 * also makes the test safe with any recip: q * stride == d only for a
 * multiple of stride, so a wrong recip could only reject a slot, never
 * accept one off the grid.  No product wraps: d < 2^32 and recip <= 2^32,
 * so d * recip < 2^64, and q <= d, so q * stride < 2^64. */
/* (the lemmas behind it are in types.h, beside hak_recip) */
/*@ requires stride > 0;
    requires recip: recip == hak_recip(stride);
    assigns \nothing;
    ensures \result == 1 <==> (first <= off < end && (off - first) % stride == 0);
    ensures \result == 0 || \result == 1; */
static inline int hak_on_grid(uintptr_t off, uint32_t first, uint32_t end, uint32_t stride, uint64_t recip)
{
    if (off < first || off >= end) return 0;
    uint64_t d = off - first;
    uint64_t q = d * recip / 4294967296u;
    return q * stride == d;
}

/* Thin byte layer: the 16-byte header in front of p, read by copy. */
/*@ requires \valid_read(p + (-16 .. -1));
    assigns \nothing;
    ensures \result.magic == hak_hdr_magic(p);
    ensures \result.aux == hak_hdr_aux(p);
    ensures \result.check == hak_hdr_chk(p); */
#ifdef __FRAMAC__
hak_mid_hdr_t hak_hdr_read(const unsigned char *p);
#else
/* no_sanitize: an alias header is poisoned like every in-band byte, and the
 * bytes in front of an off-grid pointer may be freed memory.  Under Memcheck
 * they may be NOACCESS (a closed alias header, a free slot, slack), which
 * reads as defined: read them unreported (hak_hdr_tool_ok went first). */
__attribute__((no_sanitize("address"))) static inline hak_mid_hdr_t hak_hdr_read(const unsigned char *p)
{
    hak_mid_hdr_t h;
    if (HAK_TOOLS_RT) VALGRIND_DISABLE_ERROR_REPORTING;
    memcpy(&h, p - HAK_MID_HDR, sizeof h);
    if (HAK_TOOLS_RT) VALGRIND_ENABLE_ERROR_REPORTING;
    return h;
}
#endif

/* The alias check reads the 16 bytes in front of an off-grid pointer: bytes
 * that may be NOACCESS for Memcheck (a real alias header, which hakmem keeps
 * closed; a free slot; slack) or a live block's never-written bytes
 * (undefined).  A real alias header was written by hakmem, so undefined
 * bytes are simply not one: say so without reading them (reading them is a
 * "Conditional jump" for Memcheck).  NOACCESS bytes are read unreported. */
#ifdef __FRAMAC__
/* WP: either answer (a constant 1 would make the refusal branch dead code,
 * which -wp-smoke-tests reports); a refusal only ever yields INVALID. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1; */
int hak_hdr_tool_ok(const unsigned char *p);
#else
static inline int hak_hdr_tool_ok(const unsigned char *p)
{
    if (HAK_TOOLS_RT) {
        /* byte by byte: a range with one NOACCESS byte gives no V bits at all */
        for (unsigned i = 0; i < HAK_MID_HDR; i++) {
            unsigned char vb = 0;
            if (VALGRIND_GET_VBITS(p - HAK_MID_HDR + i, &vb, 1) == 1 && vb) return 0;   /* undefined bits */
        }
    }
    return 1;
}
#endif

/* Foreign pointer: which page(s) would a header read touch?  Probe them
 * page-aligned; a pointer below 16 has no bytes in front of it at all. */
/* cold and out of line: keeps the owned-pointer path free of calls */
/*@ assigns \nothing;
    ensures \result == HAK_FREE_FOREIGN || \result == HAK_FREE_UNMAPPED;
    ensures probe: \result == HAK_FREE_FOREIGN <==> hak_front_mapped(a); */
__attribute__((noinline, cold)) static hak_free_status hak_classify_foreign(uintptr_t a)
{
    if (a < HAK_MID_HDR) return HAK_FREE_UNMAPPED;
    uintptr_t lo = a - HAK_MID_HDR;
    uintptr_t r = lo % HAK_PAGE;
    if (!os_page_mapped(lo - r)) return HAK_FREE_UNMAPPED;
    if (r > HAK_PAGE - HAK_MID_HDR && !os_page_mapped((a - 1u) - (a - 1u) % HAK_PAGE))
        return HAK_FREE_UNMAPPED;
    return HAK_FREE_FOREIGN;
}

/* Verdict from a decoded state: ALLOC -> OK, FREE or REMOTE (freed, waiting
 * on a remote list) -> DOUBLE, else INVALID. */
/*@ assigns \nothing;
    ensures \result == hak_verdict(st); */
static inline hak_free_status hak_state_verdict(uint64_t st)
{
    if (st == HAK_ST_ALLOC) return HAK_FREE_OK;
    if (st == HAK_ST_FREE || st == HAK_ST_REMOTE) return HAK_FREE_DOUBLE;
    return HAK_FREE_INVALID;
}

/* Mid block on the grid of u: its header.  Out of line (as are the huge
 * and alias cases) so the tiny path keeps its registers. */
/*@ requires \valid_read(u) && \valid_read(p + (-16 .. -1));
    requires u->kind != HAK_SLAB_TINY;
    assigns \nothing;
    ensures \result == hak_mverdict(p, u->cls, hak_keyf(a, hak_secret) ^ hak_hdr_chk(p)); */
__attribute__((noinline)) static hak_free_status hak_mid_state(const hak_unit_t *u, const unsigned char *p,
                                                               uintptr_t a)
{
    hak_mid_hdr_t h = hak_hdr_load(p, HAK_TOOLS_RT);
    if (h.magic != HAK_MID_MAGIC || h.aux != u->cls) return HAK_FREE_INVALID;
    return hak_state_verdict(hak_hdr_state(h.check, hak_key(a)));
}

/* State of the block whose user pointer is on the grid of unit u. */
/*@ requires \valid_read(u) && \valid_read(p + (-16 .. -1));
    assigns \nothing;
    ensures \result == hak_bverdict(u->kind, *(p - 1), u->cookie, p, u->cls,
                                     hak_keyf(a, hak_secret) ^ hak_hdr_chk(p)); */
static inline hak_free_status hak_block_state(const hak_unit_t *u, const unsigned char *p, uintptr_t a)
{
    if (likely(u->kind == HAK_SLAB_TINY))
        return hak_state_verdict(hak_tag_state(hak_tag_load(p, HAK_TOOLS_RT), u->cookie));
    return hak_mid_state(u, p, a);
}

/* Result of the alias check: the verdict and, when OK, the distance d back
 * to the real user pointer and the real block's unit (the callers free and
 * size the real block through it).  16 bytes: returned in registers. */
typedef struct hak_alias_res {
    hak_free_status st;
    uint32_t d;
    hak_unit_t *unit;
} hak_alias_res_t;

/* An off-grid pointer may be an over-aligned pointer handed out by
 * hak_aligned_alloc: a keyed alias header in front of it names the real
 * block.  Anything else off the grid is INVALID. */
/*@ requires \valid_read(c);
    requires ptr: a == (uintptr_t)p && off == a % HAK_CHUNK;
    requires unit: u == &c->unit[off / HAK_SLAB] && u->kind != HAK_SLAB_UNUSED;
    requires chunk: \valid_read(p - off + (0 .. HAK_CHUNK - 1));
    requires stride: \forall integer i; 0 <= i < HAK_NSLAB ==> c->unit[i].stride > 0;
    requires recip: \forall integer i; 0 <= i < HAK_NSLAB ==> c->unit[i].recip == hak_recip(c->unit[i].stride);
    requires first: \forall integer i; 0 <= i < HAK_NSLAB ==>
                      c->unit[i].kind != HAK_SLAB_UNUSED ==> c->unit[i].first >= HAK_FIRST;
    requires cls: \forall integer i; 0 <= i < HAK_NSLAB ==>
                      c->unit[i].kind != HAK_SLAB_UNUSED ==> c->unit[i].cls < HAK_NCLASS;
    assigns \nothing;
    ensures \result.st == HAK_FREE_OK || \result.st == HAK_FREE_DOUBLE || \result.st == HAK_FREE_INVALID;
    ensures ok: \result.st == HAK_FREE_OK ==>
      \let d = hak_hdr_aux(p); \let ru = &c->unit[(off - d) / HAK_SLAB];
      hak_hdr_magic(p) == HAK_ALIAS_MAGIC && (hak_keyf(a, hak_secret) ^ hak_hdr_chk(p)) == HAK_ST_ALLOC &&
      HAK_MID_HDR <= d <= off - u->first && \result.d == d && \result.unit == ru &&
      d <= hak_usable(ru->cls) &&
      ru->kind != HAK_SLAB_UNUSED && ru->head == u->head && hak_grid(ru, off - d) &&
      hak_bverdict(ru->kind, *(p - d - 1), ru->cookie, p - d, ru->cls,
                   hak_keyf(a - d, hak_secret) ^ hak_hdr_chk(p - d)) == HAK_FREE_OK; */
__attribute__((noinline)) static hak_alias_res_t hak_classify_alias(hak_chunk_t *c, const hak_unit_t *u,
                                                                    const unsigned char *p, uintptr_t a,
                                                                    uintptr_t off)
{
    hak_alias_res_t r = { HAK_FREE_INVALID, 0, NULL };
    if (off % HAK_ALIGN != 0 || off < (uintptr_t)u->first + HAK_MID_HDR) return r;
    if (!hak_hdr_tool_ok(p)) return r;
    hak_mid_hdr_t h = hak_hdr_read(p);
    if (h.magic != HAK_ALIAS_MAGIC) return r;
    /* retired (freed) headers hold no key: read as FREE */
    uint64_t st = h.check == HAK_ALIAS_RETIRED ? HAK_ST_FREE : hak_hdr_state(h.check, hak_key(a));
    if (st != HAK_ST_ALLOC && st != HAK_ST_FREE) return r;
    if (h.aux < HAK_MID_HDR || h.aux > off - u->first) return r;
    uintptr_t roff = off - h.aux;
    hak_unit_t *ru = &c->unit[roff / HAK_SLAB];
    if (ru->kind == HAK_SLAB_UNUSED || ru->head != u->head ||
        !hak_on_grid(roff, ru->first, hak_unit_end(ru), ru->stride, ru->recip))
        return r;
    /* the alias lies inside its block: the bytes from it to the block's end
     * (hak_usable_size, realloc's copy) are usable - d, never negative */
    if (h.aux > hak_class_usable(ru->cls)) return r;
    if (st == HAK_ST_FREE) { r.st = HAK_FREE_DOUBLE; return r; }
    r.st = hak_block_state(ru, p - h.aux, a - h.aux);
    if (r.st == HAK_FREE_OK) { r.d = h.aux; r.unit = ru; }
    return r;
}

/* A huge mapping's descriptor c covers a's chunk. */
/*@ requires \valid_read(c) && 0 <= (uintptr_t)c <= 18446744073709551615;
    assigns \nothing;
    behavior outside: assumes !((uintptr_t)c <= a < (uintptr_t)c + c->map_len);
      ensures \result == HAK_FREE_FOREIGN || \result == HAK_FREE_UNMAPPED;
      ensures probe: \result == HAK_FREE_FOREIGN <==> hak_front_mapped(a);
    behavior inside: assumes (uintptr_t)c <= a < (uintptr_t)c + c->map_len;
      ensures \result == (a - (uintptr_t)c == c->huge_uoff ? hak_verdict(c->huge_check ^ hak_keyf(a, hak_secret))
                                                            : HAK_FREE_INVALID);
    complete behaviors; disjoint behaviors; */
__attribute__((noinline)) static hak_free_status hak_classify_huge(const hak_chunk_t *c, uintptr_t a)
{
    uintptr_t base = (uintptr_t)c;
    if (a < base || a - base >= c->map_len) return hak_classify_foreign(a);
    if (a - (uintptr_t)c != c->huge_uoff) return HAK_FREE_INVALID;
    return hak_state_verdict(hak_hdr_state(c->huge_check, hak_key(a)));
}

/* Fast accept for free(): the unit of p when p is the start of a live tiny
 * block, NULL for anything else (then ask hak_classify for the verdict).
 * The same checks as hak_classify's tiny path, in the same order, from the
 * same helpers; it makes no call, so the free fast path needs no stack
 * frame.  A non-NULL result implies hak_classify(p) == HAK_FREE_OK. */
/*@ requires uptr: 0 <= (uintptr_t)p <= 18446744073709551615;
    assigns \nothing;
    ensures live: \result != \null ==>
      HAK_L_TINY_LIVE((uintptr_t)p, p) && \result == HAK_L_UNIT((uintptr_t)p);
    // what the free fast path reads next (free_fast.h): the unit, the slot's
    // end in the chunk (the next slot's tag), the slab
    ensures unit: \result != \null ==> \valid_read(\result) && \result->cls < HAK_NCLASS && \result->stride > 0;
    ensures end: \result != \null ==> \result->end <= HAK_CHUNK;
    ensures room: \result != \null ==> (uintptr_t)p % HAK_CHUNK + \result->stride <= \result->end;
    ensures chunk: \result != \null ==> \valid_read(p - (uintptr_t)p % HAK_CHUNK + (0 .. HAK_CHUNK - 1));
    ensures slab: \result != \null ==>
      \valid_read(\result->slab) && \result->slab->start + \result->slab->span <= 18446744073709551616; */
static inline hak_unit_t *hak_tiny_live(const unsigned char *p)
{
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = arena_chunk(a) /*@ ghost (p) */;
    if (c == NULL) return NULL;
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    if (u->kind != HAK_SLAB_TINY || !hak_on_grid(off, u->first, hak_unit_end(u), u->stride, u->recip)) return NULL;
    //@ assert on_grid: u->first <= off < u->end && (off - u->first) % u->stride == 0;
    //@ assert room: off + u->stride <= u->end;
    if (hak_tag_state(hak_tag_load(p, 0), u->cookie) != HAK_ST_ALLOC) return NULL;
    return u;
}

/* The same fast accept for a mid block (free_dispatch.c: free_mid): the
 * unit of p when p is the start of a live mid block (its header's magic,
 * class and keyed state ALLOC), NULL for anything else.  *chkp gets the
 * header's check word as read: the owner's free writes it back flipped to
 * FREE without mixing the key again.  A non-NULL result implies
 * hak_classify(p) == HAK_FREE_OK. */
/*@ requires \valid(cp) && \valid(chkp) && \separated(cp, chkp);
    requires uptr: 0 <= (uintptr_t)p <= 18446744073709551615;
    assigns *cp, *chkp;
    ensures live: \result != \null ==>
      HAK_L_DESC((uintptr_t)p) != \null &&
      HAK_L_DESC((uintptr_t)p)->kind == HAK_CHUNK_SLABS &&
      \result == HAK_L_UNIT((uintptr_t)p) && *cp == HAK_L_DESC((uintptr_t)p) &&
      \result->kind == HAK_SLAB_MID && hak_grid(\result, (uintptr_t)p % HAK_CHUNK) &&
      hak_mverdict(p, \result->cls, hak_keyf((uintptr_t)p, hak_secret) ^ hak_hdr_chk(p)) == HAK_FREE_OK &&
      *chkp == hak_hdr_chk(p); */
static inline hak_unit_t *hak_mid_live(const unsigned char *p, hak_chunk_t **cp, uint64_t *chkp)
{
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = arena_chunk(a) /*@ ghost (p) */;
    if (c == NULL) return NULL;
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    if (u->kind != HAK_SLAB_MID || !hak_on_grid(off, u->first, hak_unit_end(u), u->stride, u->recip)) return NULL;
    hak_mid_hdr_t h = hak_hdr_load(p, 0);
    if (h.magic != HAK_MID_MAGIC || h.aux != u->cls) return NULL;
    if (hak_hdr_state(h.check, hak_key(a)) != HAK_ST_ALLOC) return NULL;
    *cp = c;
    *chkp = h.check;
    return u;
}

/*@ requires \valid(w);
    requires uptr: 0 <= (uintptr_t)p <= 18446744073709551615;
    assigns w->chunk, w->user, w->unit;
    behavior null: assumes p == \null;
      ensures \result == HAK_FREE_NULL;
      ensures kept: w->chunk == \old(w->chunk) && w->unit == \old(w->unit) && w->user == \old(w->user);
    behavior foreign: assumes p != \null && HAK_L_DESC((uintptr_t)p) == \null;
      ensures \result == HAK_FREE_FOREIGN || \result == HAK_FREE_UNMAPPED;
      ensures probe: \result == HAK_FREE_FOREIGN <==> hak_front_mapped((uintptr_t)p);
      ensures kept: w->chunk == \old(w->chunk) && w->unit == \old(w->unit) && w->user == \old(w->user);
    behavior huge: assumes p != \null && HAK_L_DESC((uintptr_t)p) != \null &&
                           HAK_L_DESC((uintptr_t)p)->kind != HAK_CHUNK_SLABS;
      ensures outside: \let c = HAK_L_DESC((uintptr_t)p);
        !((uintptr_t)c <= (uintptr_t)p < (uintptr_t)c + c->map_len) ==>
        (\result == HAK_FREE_FOREIGN || \result == HAK_FREE_UNMAPPED) &&
        (\result == HAK_FREE_FOREIGN <==> hak_front_mapped((uintptr_t)p));
      ensures inside: \let c = HAK_L_DESC((uintptr_t)p);
        (uintptr_t)c <= (uintptr_t)p < (uintptr_t)c + c->map_len ==>
        \result == ((uintptr_t)p - (uintptr_t)c == c->huge_uoff ?
                     hak_verdict(c->huge_check ^ hak_keyf((uintptr_t)p, hak_secret)) : HAK_FREE_INVALID);
      ensures where: w->chunk == HAK_L_DESC((uintptr_t)p) && w->user == p;
      // hak_free_named's fast test (w.unit != NULL) keeps huge blocks out of
      // the slab free; callers tell the tiers apart by kind == HAK_CHUNK_HUGE
      ensures no_unit: w->unit == \null && w->chunk->kind == HAK_CHUNK_HUGE;
    behavior unused: assumes p != \null && HAK_L_DESC((uintptr_t)p) != \null &&
                             HAK_L_DESC((uintptr_t)p)->kind == HAK_CHUNK_SLABS &&
                             HAK_L_UNIT((uintptr_t)p)->kind == HAK_SLAB_UNUSED;
      ensures \result == HAK_FREE_INVALID;
      ensures where: w->chunk == HAK_L_DESC((uintptr_t)p) && w->unit == HAK_L_UNIT((uintptr_t)p) && w->user == p;
    behavior grid: assumes p != \null && HAK_L_DESC((uintptr_t)p) != \null &&
                           HAK_L_DESC((uintptr_t)p)->kind == HAK_CHUNK_SLABS &&
                           HAK_L_UNIT((uintptr_t)p)->kind != HAK_SLAB_UNUSED &&
                           hak_grid(HAK_L_UNIT((uintptr_t)p), (uintptr_t)p % HAK_CHUNK);
      ensures \let u = HAK_L_UNIT((uintptr_t)p);
        \result == hak_bverdict(u->kind, *(p - 1), u->cookie, p, u->cls,
                                 hak_keyf((uintptr_t)p, hak_secret) ^ hak_hdr_chk(p));
      ensures w->chunk == HAK_L_DESC((uintptr_t)p) && w->unit == HAK_L_UNIT((uintptr_t)p);
      ensures w->user == p;
    behavior offgrid: assumes p != \null && HAK_L_DESC((uintptr_t)p) != \null &&
                              HAK_L_DESC((uintptr_t)p)->kind == HAK_CHUNK_SLABS &&
                              HAK_L_UNIT((uintptr_t)p)->kind != HAK_SLAB_UNUSED &&
                              !hak_grid(HAK_L_UNIT((uintptr_t)p), (uintptr_t)p % HAK_CHUNK);
      ensures \result == HAK_FREE_OK || \result == HAK_FREE_DOUBLE || \result == HAK_FREE_INVALID;
      ensures where: w->chunk == HAK_L_DESC((uintptr_t)p);
      ensures rejected: \result != HAK_FREE_OK ==> w->unit == HAK_L_UNIT((uintptr_t)p) && w->user == p;
      // OK: w->user and w->unit are the real block's, which the callers free
      // (w->unit->slab) and size (hak_class_usable(w->unit->cls) - d >= 0)
      ensures alias_ok: \result == HAK_FREE_OK ==>
        \let a = (uintptr_t)p; \let off = a % HAK_CHUNK; \let d = hak_hdr_aux(p);
        \let c = HAK_L_DESC(a); \let ru = &c->unit[(off - d) / HAK_SLAB];
        hak_hdr_magic(p) == HAK_ALIAS_MAGIC && (hak_keyf(a, hak_secret) ^ hak_hdr_chk(p)) == HAK_ST_ALLOC &&
        HAK_MID_HDR <= d <= off - HAK_L_UNIT(a)->first && w->user == (unsigned char *)(a - d) &&
        w->unit == ru && d <= hak_usable(ru->cls) &&
        ru->kind != HAK_SLAB_UNUSED && ru->head == HAK_L_UNIT(a)->head && hak_grid(ru, off - d) &&
        hak_bverdict(ru->kind, *(p - d - 1), ru->cookie, p - d, ru->cls,
                   hak_keyf(a - d, hak_secret) ^ hak_hdr_chk(p - d)) == HAK_FREE_OK;
    complete behaviors; disjoint behaviors; */
static inline hak_free_status hak_classify(const unsigned char *p, hak_where_t *w)
{
    if (p == NULL) return HAK_FREE_NULL;
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = cmap_lookup(a - a % HAK_CHUNK) /*@ ghost (p) */;
    if (c == NULL) return hak_classify_foreign(a);
    w->chunk = c;
    w->user = (unsigned char *)(uintptr_t)a;
    w->unit = NULL;
    if (unlikely(c->kind != HAK_CHUNK_SLABS)) return hak_classify_huge(c, a);
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    w->unit = u;
    if (u->kind == HAK_SLAB_UNUSED) return HAK_FREE_INVALID;
    if (unlikely(!hak_on_grid(off, u->first, hak_unit_end(u), u->stride, u->recip))) {
        hak_alias_res_t r = hak_classify_alias(c, u, p, a, off);
        if (r.st == HAK_FREE_OK) {
            w->user = (unsigned char *)(a - r.d);
            w->unit = r.unit;
        }
        return r.st;
    }
    return hak_block_state(u, p, a);
}
#endif
