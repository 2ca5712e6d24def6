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
static inline hak_mid_hdr_t hak_hdr_read(const unsigned char *p)
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

/* State of the block whose user pointer is on the grid of unit u. */
static inline hak_free_status hak_block_state(const hak_unit_t *u, const unsigned char *p, uintptr_t a)
{
    unsigned st;
    if (likely(u->kind == HAK_SLAB_TINY)) {
        st = hak_tag_state(p[-1], u->cookie);
    } else {
        hak_mid_hdr_t h = hak_hdr_read(p);
        if (h.magic != HAK_MID_MAGIC || h.aux != u->cls) return HAK_FREE_INVALID;
        uint64_t s64 = hak_hdr_state(h.check, hak_key(a));
        st = s64 <= 2u ? (unsigned)s64 : 0u;
    }
    if (st == HAK_ST_ALLOC) return HAK_FREE_OK;
    if (st == HAK_ST_FREE) return HAK_FREE_DOUBLE;
    return HAK_FREE_INVALID;
}

/* An off-grid pointer may be an over-aligned pointer handed out by
 * hak_aligned_alloc: a keyed alias header in front of it names the real
 * block.  Anything else off the grid is INVALID. */
static inline hak_free_status hak_classify_alias(hak_chunk_t *c, const hak_unit_t *u,
                                                 const unsigned char *p, uintptr_t a, uintptr_t off,
                                                 hak_where_t *w)
{
    if (off % HAK_ALIGN != 0 || off < (uintptr_t)u->first + HAK_MID_HDR) return HAK_FREE_INVALID;
    hak_mid_hdr_t h = hak_hdr_read(p);
    if (h.magic != HAK_ALIAS_MAGIC) return HAK_FREE_INVALID;
    uint64_t st = hak_hdr_state(h.check, hak_key(a));
    if (st != HAK_ST_ALLOC && st != HAK_ST_FREE) return HAK_FREE_INVALID;
    if (h.aux < HAK_MID_HDR || h.aux > off - u->first) return HAK_FREE_INVALID;
    uintptr_t roff = off - h.aux;
    const hak_unit_t *ru = &c->unit[roff / HAK_SLAB];
    if (ru->kind == HAK_SLAB_UNUSED || ru->head != u->head ||
        !hak_on_grid(roff, ru->first, ru->end, ru->stride))
        return HAK_FREE_INVALID;
    if (st == HAK_ST_FREE) return HAK_FREE_DOUBLE;
    hak_free_status rs = hak_block_state(ru, p - h.aux, a - h.aux);
    if (rs != HAK_FREE_OK) return rs;
    w->user = (unsigned char *)(uintptr_t)(a - h.aux);
    return HAK_FREE_OK;
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
    if (unlikely(c->kind != HAK_CHUNK_SLABS)) {
        uintptr_t base = (uintptr_t)c;
        if (a < base || a - base >= c->map_len) return hak_classify_foreign(a);
        if (a != c->huge_user) return HAK_FREE_INVALID;
        uint64_t st = hak_hdr_state(c->huge_check, hak_key(a));
        if (st == HAK_ST_ALLOC) return HAK_FREE_OK;
        return st == HAK_ST_FREE ? HAK_FREE_DOUBLE : HAK_FREE_INVALID;
    }
    uintptr_t off = a % HAK_CHUNK;
    hak_unit_t *u = &c->unit[off / HAK_SLAB];
    w->unit = u;
    if (u->kind == HAK_SLAB_UNUSED) return HAK_FREE_INVALID;
    if (unlikely(!hak_on_grid(off, u->first, u->end, u->stride)))
        return hak_classify_alias(c, u, p, a, off, w);
    return hak_block_state(u, p, a);
}
#endif
