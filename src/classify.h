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

/* Slot grid: a is a user pointer of the slab iff first <= off < end and
 * (off - first) % stride == 0.  Compares before subtracting: no wrap. */
/*@ requires stride > 0;
    assigns \nothing;
    ensures \result == 1 <==> (first <= off < end && (off - first) % stride == 0);
    ensures \result == 0 || \result == 1; */
static inline int hak_on_grid(uintptr_t off, uint32_t first, uint32_t end, uint32_t stride)
{
    if (off < first || off >= end) return 0;
    return (uint32_t)(off - first) % stride == 0;
}

/* Thin byte layer: the 16-byte header in front of p, read by copy. */
/*@ requires \valid_read(p - 16 .. p - 1);
    assigns \nothing; */
#ifdef __FRAMAC__
hak_mid_hdr_t hak_hdr_read(const unsigned char *p);
#else
/* no_sanitize: an alias header may sit in poisoned (freed) user memory */
__attribute__((no_sanitize("address"))) static inline hak_mid_hdr_t hak_hdr_read(const unsigned char *p)
{
    hak_mid_hdr_t h;
    memcpy(&h, p - HAK_MID_HDR, sizeof h);
    return h;
}
#endif

/* Foreign pointer: which page(s) would a header read touch?  Probe them
 * page-aligned; a pointer below 16 has no bytes in front of it at all. */
/* cold and out of line: keeps the owned-pointer path free of calls */
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

/* Verdict from a decoded state: ALLOC -> OK, FREE -> DOUBLE, else INVALID. */
static inline hak_free_status hak_state_verdict(uint64_t st)
{
    if (st == HAK_ST_ALLOC) return HAK_FREE_OK;
    if (st == HAK_ST_FREE) return HAK_FREE_DOUBLE;
    return HAK_FREE_INVALID;
}

/* Mid block on the grid of u: its header.  Out of line (as are the huge
 * and alias cases) so the tiny path keeps its registers. */
__attribute__((noinline)) static hak_free_status hak_mid_state(const hak_unit_t *u, const unsigned char *p,
                                                               uintptr_t a)
{
    hak_mid_hdr_t h = hak_hdr_read(p);
    if (h.magic != HAK_MID_MAGIC || h.aux != u->cls) return HAK_FREE_INVALID;
    return hak_state_verdict(hak_hdr_state(h.check, hak_key(a)));
}

/* State of the block whose user pointer is on the grid of unit u. */
static inline hak_free_status hak_block_state(const hak_unit_t *u, const unsigned char *p, uintptr_t a)
{
    if (likely(u->kind == HAK_SLAB_TINY))
        return hak_state_verdict(hak_tag_state(p[-1], u->cookie));
    return hak_mid_state(u, p, a);
}

/* Result of the alias check: the verdict and, when OK, the real user pointer. */
typedef struct hak_alias_res {
    hak_free_status st;
    uintptr_t real;
} hak_alias_res_t;

/* An off-grid pointer may be an over-aligned pointer handed out by
 * hak_aligned_alloc: a keyed alias header in front of it names the real
 * block.  Anything else off the grid is INVALID. */
__attribute__((noinline)) static hak_alias_res_t hak_classify_alias(const hak_chunk_t *c, const hak_unit_t *u,
                                                                    const unsigned char *p, uintptr_t a,
                                                                    uintptr_t off)
{
    hak_alias_res_t r = { HAK_FREE_INVALID, 0 };
    if (off % HAK_ALIGN != 0 || off < (uintptr_t)u->first + HAK_MID_HDR) return r;
    hak_mid_hdr_t h = hak_hdr_read(p);
    if (h.magic != HAK_ALIAS_MAGIC) return r;
    uint64_t st = hak_hdr_state(h.check, hak_key(a));
    if (st != HAK_ST_ALLOC && st != HAK_ST_FREE) return r;
    if (h.aux < HAK_MID_HDR || h.aux > off - u->first) return r;
    uintptr_t roff = off - h.aux;
    const hak_unit_t *ru = &c->unit[roff / HAK_SLAB];
    if (ru->kind == HAK_SLAB_UNUSED || ru->head != u->head ||
        !hak_on_grid(roff, ru->first, ru->end, ru->stride))
        return r;
    if (st == HAK_ST_FREE) { r.st = HAK_FREE_DOUBLE; return r; }
    r.st = hak_block_state(ru, p - h.aux, a - h.aux);
    if (r.st == HAK_FREE_OK) r.real = a - h.aux;
    return r;
}

/* A huge mapping's descriptor c covers a's chunk. */
__attribute__((noinline)) static hak_free_status hak_classify_huge(const hak_chunk_t *c, uintptr_t a)
{
    uintptr_t base = (uintptr_t)c;
    if (a < base || a - base >= c->map_len) return hak_classify_foreign(a);
    if (a != c->huge_user) return HAK_FREE_INVALID;
    return hak_state_verdict(hak_hdr_state(c->huge_check, hak_key(a)));
}

/* Fast accept for free(): the unit of p when p is the start of a live tiny
 * block, NULL for anything else (then ask hak_classify for the verdict).
 * The same checks as hak_classify's tiny path, in the same order, from the
 * same helpers; it makes no call, so the free fast path needs no stack
 * frame.  A non-NULL result implies hak_classify(p) == HAK_FREE_OK. */
static inline hak_unit_t *hak_tiny_live(const unsigned char *p, hak_chunk_t **cp)
{
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = cmap_lookup(a - a % HAK_CHUNK);
    if (c == NULL || c->kind != HAK_CHUNK_SLABS) return NULL;
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    if (u->kind != HAK_SLAB_TINY || !hak_on_grid(off, u->first, u->end, u->stride)) return NULL;
    if (hak_tag_state(p[-1], u->cookie) != HAK_ST_ALLOC) return NULL;
    *cp = c;
    return u;
}

static inline hak_free_status hak_classify(const unsigned char *p, hak_where_t *w)
{
    if (p == NULL) return HAK_FREE_NULL;
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = cmap_lookup(a - a % HAK_CHUNK);
    if (c == NULL) return hak_classify_foreign(a);
    w->chunk = c;
    w->user = (unsigned char *)(uintptr_t)a;
    w->unit = NULL;
    if (unlikely(c->kind != HAK_CHUNK_SLABS)) return hak_classify_huge(c, a);
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    w->unit = u;
    if (u->kind == HAK_SLAB_UNUSED) return HAK_FREE_INVALID;
    if (unlikely(!hak_on_grid(off, u->first, u->end, u->stride))) {
        hak_alias_res_t r = hak_classify_alias(c, u, p, a, off);
        if (r.st == HAK_FREE_OK) w->user = (unsigned char *)r.real;
        return r.st;
    }
    return hak_block_state(u, p, a);
}
#endif
