/* sized.c: could this size and alignment have produced this block?
 * (issue 12: free_sized, free_aligned_sized, C++ sized/aligned delete.)
 *
 * The producers, as api.c and huge.c build blocks:
 *   malloc(n), calloc, realloc(p, n)   n <= HAK_MID_MAXREQ: a block of class
 *       hak_size_class(n), p its start (realloc keeps a block in place only
 *       within its class, so the class always matches the last size asked);
 *       larger: a Huge block at HAK_HUGE_UOFF, page_up(uoff + n) mapped
 *       (a realloc that grows maps more, and one that shrinks by less than
 *       half keeps its pages; the descriptor records n: huge_req).
 *   malloc(0)                          a zero.c pointer (size 0 only).
 *   aligned(a, n), 16 < a <= HAK_SLAB and n + a <= HAK_MID_MAXREQ: a block of
 *       class hak_size_class(n + a), p at hak_aligned_pos(start, a);
 *       otherwise a Huge block at max(a, HAK_HUGE_UOFF).
 * A size fits when one producer gives exactly this block.  The precision is
 * the size class (Huge: the page), because nothing records the size asked:
 * a wrong size inside the same class goes unnoticed (SECURITY.md); except in
 * full mode (HAKMEM_HARDEN=full), where an aligned slab block keeps its
 * exact size in front of its alias header, and requests above
 * HAK_HARDEN_SLAB_MAX (aligned: want above it) are Huge blocks. */
#include "classify.h"

static size_t page_up(size_t n) { return (n + HAK_PAGE - 1) / HAK_PAGE * HAK_PAGE; }

static int is_pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

/* size class of a request of n bytes, or HAK_NCLASS for a Huge one */
static unsigned class_of(size_t n)
{
    return n <= HAK_MID_MAXREQ ? hak_size_class(n) : HAK_NCLASS;
}

/* aligned(a, n) with a > HAK_ALIGN, served from slabs: the block of user
 * pointer `user` (class cls) with p at its aligned position */
static bool aligned_fits(uintptr_t user, uintptr_t p, unsigned cls, size_t a, size_t n, bool sized)
{
    size_t want;
    if (!hak_aligned_in_slab(a, sized ? n : 0, &want) || p != hak_aligned_pos(user, a)) return false;
    /* an aligned block records the exact size asked (internal.h) */
    if (sized && hak_asize_load((const unsigned char *)p, HAK_TOOLS_RT) != n) return false;
    return sized ? class_of(want) == cls : class_of(want) <= cls;
}

static bool huge_fits(const hak_chunk_t *c, size_t a, size_t n, bool sized)
{
    size_t uoff = c->huge_uoff, want;
    /* the page count of the size last asked, not of the mapping: a growing
     * realloc maps more than it was asked for (huge.c) */
    if (sized && (n > c->huge_size || page_up(uoff + (n ? n : 1)) != page_up(uoff + (c->huge_req ? c->huge_req : 1))))
        return false;
    if (a == 0) return true;                      /* free_sized: any producer of this page count */
    if (a <= HAK_ALIGN)   /* full mode makes Huge blocks of smaller requests too (harden.c) */
        return uoff == HAK_HUGE_UOFF && (!sized || n > (HAK_HARDEN_ON ? HAK_HARDEN_SLAB_MAX : HAK_MID_MAXREQ));
    if (sized && hak_aligned_in_slab(a, n, &want)) return false;   /* would have been a slab block */
    return uoff == (a > HAK_HUGE_UOFF ? a : HAK_HUGE_UOFF);
}

/* w: what hak_classify_all found live for p.  a: the alignment given, 0
 * when none was (free_sized: any alignment will do).  sized: n is given. */
bool hak_size_fits(const hak_where_t *w, const void *p, size_t a, size_t n, bool sized)
{
    uintptr_t pa = (uintptr_t)p;
    if (a != 0 && (!is_pow2(a) || pa % a != 0)) return false;
    if (w->chunk == NULL)                          /* malloc(0) */
        return a <= HAK_ALIGN && (!sized || n == 0);
    if (w->chunk->kind == HAK_CHUNK_HUGE) return huge_fits(w->chunk, a, n, sized);
    uintptr_t user = (uintptr_t)w->user;
    unsigned cls = w->unit->cls;
    if (a > HAK_ALIGN) return aligned_fits(user, pa, cls, a, n, sized);
    if (pa == user && (!sized || class_of(n) == cls)) return true;
    if (a != 0) return false;
    for (size_t al = 2 * HAK_ALIGN; al <= HAK_SLAB; al *= 2)
        if (pa % al == 0 && aligned_fits(user, pa, cls, al, n, sized)) return true;
    return false;
}
