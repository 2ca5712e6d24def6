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
/*@ requires \valid_read(p + stride - 1);
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures ok: \result == 1 <==> (*(p + stride - 1) + 256 - cookie) % 256 <= HAK_ST_REMOTE; */
static inline __attribute__((always_inline)) int hak_next_ok_tiny(const unsigned char *p, uint32_t stride,
                                                                   uint8_t cookie, int tools)
{
    return hak_tag_next_ok(hak_tag_load(p + stride, tools), cookie);
}

/* The link word of the free slot at q, through the byte layer: the proofs
 * see it as a value of the slot's bytes (trusted like hak_hdr_read: a
 * load, proofs/README.md); natively the first word of the slot. */
#ifdef __FRAMAC__
/*@ axiomatic hak_link_model { logic integer hak_link_word(unsigned char *q); } */
/*@ requires \valid_read(q + (0 .. 7));
    assigns \nothing;
    ensures \result == hak_link_word((unsigned char *)q); */
uintptr_t hak_link_read(const unsigned char *q);
#else
static inline __attribute__((always_inline)) uintptr_t hak_link_read(const unsigned char *q)
{
    return ((const hak_free_t *)(const void *)q)->next_enc;
}
#endif

/* The owner's second look at the tiny slot q right after a block it frees,
 * when q's tag says FREE: q is then on its slab's local list (no other list
 * holds a FREE slot outside full mode), so its first word must decode to a
 * link inside the slab.  An overflow that passes the tag and reaches the
 * link (8 bytes past the usable end, say) changes it, and without the key
 * a changed link lands inside the slab with a chance of span / 2^64.  Only
 * the owner may look: on another thread the slot could be popped, handed
 * out and written between the read of its tag and of its link (harden.c
 * found that).  `room`: q is a slot of the grid, so its first word is the
 * slab's; the caller knows (the slot after the last one is past the slab,
 * and past a chunk's last slab the next chunk may be PROT_NONE: an
 * overflow that forged FREE there made the look fault before issue 11's
 * proof of the fast path asked; a FREE tag where no slot is can only be
 * an overflow).  The test is the proved hak_fl_link_ok (freelist.h). */
/*@ requires \valid_read(s);
    requires nowrap: s->start + s->span <= 18446744073709551616;
    requires room: room != 0 ==> \valid_read(q + (0 .. 7));
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures ok: \result == 1 <==>
      (room != 0 && (hak_fl_x(hak_link_word((unsigned char *)q), s->key, (uintptr_t)q) == 0 ||
                     s->start <= hak_fl_x(hak_link_word((unsigned char *)q), s->key, (uintptr_t)q) < s->start + s->span)); */
static inline __attribute__((always_inline)) int hak_free_link_ok(const hak_slab_t *s, const unsigned char *q, int room)
{
    return room && hak_fl_link_ok(hak_link_read(q), (uintptr_t)q, s->key, s->start, s->span);
}

/* The second look alone, given q's tag t: not FREE, or FREE with its link. */
static inline __attribute__((always_inline)) int hak_next_link_ok(const hak_slab_t *s, const unsigned char *q,
                                                                  uint8_t t, uint8_t cookie, int room)
{
    return likely(hak_tag_state(t, cookie) != HAK_ST_FREE) || hak_free_link_ok(s, q, room);
}

/* q, right after a block of slab s, is a slot of s's grid (the `room` of
 * the looks above) */
static inline __attribute__((always_inline)) int hak_slot_room(const hak_slab_t *s, const unsigned char *q)
{
    return (uintptr_t)q - s->start < s->span;
}

/* Both looks, for the owner of slab s freeing tiny block p of unit u: the
 * tag after p is one of the slab's (hak_tag_next_ok), and a FREE one has
 * its link, looked at only when the 8 bytes of it lie inside the carved
 * grid (read past the unit's end only when the look is due: the end is an
 * atomic, which the compiler would otherwise load on every free). */
/*@ requires \valid_read(s) && \valid_read(u);
    requires uptr: 0 <= (uintptr_t)p <= 18446744073709551615;
    requires nowrap: s->start + s->span <= 18446744073709551616;
    requires stride: stride == u->stride;
    requires tag: \valid_read(p + stride - 1);
    requires link: (uintptr_t)p % HAK_CHUNK + stride + 8 <= u->end ==> \valid_read(p + stride + (0 .. 7));
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures tag: \result == 1 ==> (*(p + stride - 1) + 256 - cookie) % 256 <= HAK_ST_REMOTE;
    ensures link: \result == 1 && (*(p + stride - 1) + 256 - cookie) % 256 == HAK_ST_FREE ==>
      (uintptr_t)p % HAK_CHUNK + stride + 8 <= u->end &&
      (hak_fl_x(hak_link_word((unsigned char *)p + stride), s->key, (uintptr_t)(p + stride)) == 0 ||
       s->start <= hak_fl_x(hak_link_word((unsigned char *)p + stride), s->key, (uintptr_t)(p + stride)) < s->start + s->span); */
static inline __attribute__((always_inline)) int hak_next_ok_tiny_own(const hak_slab_t *s, const hak_unit_t *u,
                                                                      const unsigned char *p, uint32_t stride,
                                                                      uint8_t cookie)
{
    const unsigned char *q = p + stride;
    uint8_t t = hak_tag_load(q, 0);
    if (unlikely(!hak_tag_next_ok(t, cookie))) return 0;
    if (likely(hak_tag_state(t, cookie) != HAK_ST_FREE)) return 1;
    /* p's offset, not q's: q of a chunk's last slot is the next chunk's
     * offset 0.  Taken afresh from p: the caller's offset register is not
     * kept alive through the free for this rare look (one move per free) */
    uintptr_t a = (uintptr_t)p;
    HAK_OPAQUE(a);
    return hak_free_link_ok(s, q, a % HAK_CHUNK + u->stride + sizeof(uintptr_t) <= hak_unit_end(u));
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
static inline int hak_free_link_ok(const hak_slab_t *s, const unsigned char *q, int room) { return 1; }
static inline int hak_slot_room(const hak_slab_t *s, const unsigned char *q) { return 1; }
static inline int hak_next_ok_tiny_own(const hak_slab_t *s, const hak_unit_t *u, const unsigned char *p,
                                       uint32_t stride, uint8_t cookie) { return 1; }
static inline int hak_next_ok_mid(const unsigned char *p, uint32_t stride, unsigned cls, int tools) { return 1; }
static inline int hak_next_ok(const hak_unit_t *u, const unsigned char *p, int tools) { return 1; }
static inline void hak_mark_end(unsigned char *q, int tiny, uint8_t cookie, unsigned cls, int tools) { }
#endif
#endif
