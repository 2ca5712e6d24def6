/* guard.h: the byte right after a block (issue 12).
 *
 * A Tiny block's last byte past its usable size is the next slot's tag; a
 * Mid block's 16 bytes past it are the next block's header.  Carving writes
 * an end mark where the first uncarved slot's tag or header goes (and, for
 * the last slot, past the end of the slab's grid), so after every carved
 * block sits a tag or header of its own slab.  At free that place is read:
 * anything else is an overflow out of the block, and it is fatal under
 * every policy, like other corrupt metadata.  The value tests are the
 * proved hak_tag_next_ok / hak_hdr_next_ok (tag.h); what is caught and what
 * is not is in SECURITY.md. */
#ifndef HAK_GUARD_H
#define HAK_GUARD_H

#include "freelist.h"
#include "internal.h"
#include "sanitize.h"
#include "tag.h"

#define HAK_OVERFLOW_MSG "heap overflow into the next block"

#if !HAK_LEAN
/* p: a tiny user pointer whose slot is stride bytes long.  `tools` as in
 * the tag accessors (sanitize.h): a constant 0 on the fast path. */
static inline __attribute__((always_inline)) int hak_next_ok_tiny(const unsigned char *p, uint32_t stride,
                                                                   uint8_t cookie, int tools)
{
    return hak_tag_next_ok(hak_tag_load(p + stride, tools), cookie);
}

/* The owner's second look at the tiny slot q right after a block it frees,
 * when q's tag says FREE: q is then on its slab's local list (no other list
 * holds a FREE slot outside full mode), so its first word must decode to a
 * link inside the slab.  An overflow that passes the tag and reaches the
 * link (8 bytes past the usable end, say) changes it, and without the key
 * a changed link lands inside the slab with a chance of span / 2^64.  Only
 * the owner may look: on another thread the slot could be popped, handed
 * out and written between the read of its tag and of its link (harden.c
 * found that).  The test is the proved hak_fl_link_ok (freelist.h). */
static inline __attribute__((always_inline)) int hak_free_link_ok(const hak_slab_t *s, const unsigned char *q)
{
    return hak_fl_link_ok((const hak_free_t *)(const void *)q, s->key, s->start, s->span);
}

/* The second look alone, given q's tag t: not FREE, or FREE with its link. */
static inline __attribute__((always_inline)) int hak_next_link_ok(const hak_slab_t *s, const unsigned char *q,
                                                                  uint8_t t, uint8_t cookie)
{
    return likely(hak_tag_state(t, cookie) != HAK_ST_FREE) || hak_free_link_ok(s, q);
}

/* Both looks, for the owner of slab s freeing tiny block p: the tag after
 * p is one of the slab's (hak_tag_next_ok), and a FREE one has its link. */
static inline __attribute__((always_inline)) int hak_next_ok_tiny_own(const hak_slab_t *s, const unsigned char *p,
                                                                      uint32_t stride, uint8_t cookie)
{
    const unsigned char *q = p + stride;
    uint8_t t = hak_tag_load(q, 0);
    if (unlikely(!hak_tag_next_ok(t, cookie))) return 0;
    return hak_next_link_ok(s, q, t, cookie);
}

/* p: a mid user pointer of class cls, blocks stride bytes apart. */
static inline __attribute__((always_inline)) int hak_next_ok_mid(const unsigned char *p, uint32_t stride,
                                                                  unsigned cls, int tools)
{
    const unsigned char *q = p + stride;
    return hak_hdr_next_ok(hak_hdr_load(q, tools), cls, hak_key((uintptr_t)q));
}

/* Either tier: the unit u (any unit of the slab) says which. */
static inline int hak_next_ok(const hak_unit_t *u, const unsigned char *p, int tools)
{
    if (u->kind == HAK_SLAB_TINY) return hak_next_ok_tiny(p, u->stride, u->cookie, tools);
    return hak_next_ok_mid(p, u->stride, u->cls, tools);
}

/* Carving: the end mark in front of q, the user pointer of the first slot
 * not carved yet (or one past the last slot of the slab). */
static inline void hak_mark_end(unsigned char *q, int tiny, uint8_t cookie, unsigned cls, int tools)
{
    if (tiny)
        hak_tag_store(q, hak_tag_end(cookie), tools);
    else
        hak_hdr_store(q, HAK_MID_MAGIC, cls, hak_hdr_check(hak_key((uintptr_t)q), HAK_ST_END), tools);
}
#else   /* measurement build only: issue 12's cost (types.h): no overflow check, no end mark */
static inline int hak_next_ok_tiny(const unsigned char *p, uint32_t stride, uint8_t cookie, int tools) { return 1; }
static inline int hak_free_link_ok(const hak_slab_t *s, const unsigned char *q) { return 1; }
static inline int hak_next_ok_tiny_own(const hak_slab_t *s, const unsigned char *p, uint32_t stride,
                                       uint8_t cookie) { return 1; }
static inline int hak_next_ok_mid(const unsigned char *p, uint32_t stride, unsigned cls, int tools) { return 1; }
static inline int hak_next_ok(const hak_unit_t *u, const unsigned char *p, int tools) { return 1; }
static inline void hak_mark_end(unsigned char *q, int tiny, uint8_t cookie, unsigned cls, int tools) { }
#endif
#endif
