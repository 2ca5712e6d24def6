/* tag.h: the in-band bytes in front of a user pointer, named once.
 *
 * Tiny: one tag byte at p - 1 (the last byte of the previous slot, or the
 *   slab's pad for slot 0).  tag = (cookie + state) % 256 with a per-slab
 *   cookie drawn from the process secret; cookie is in 1..HAK_COOKIE_MAX (252), so no state
 *   (FREE, ALLOC, REMOTE) encodes to 0 and a never-used (zero) slot decodes
 *   invalid.
 * Mid: a 16-byte header at p - 16: magic, class, and a check word
 *   key(p) ^ state, where key(p) mixes the secret with the address.
 * Past the last carved slot of a slab the same place holds an end mark
 *   (state HAK_ST_END), so the byte or header right after every block is a
 *   tag or header of its slab: anything else there is an overflow (issue 12).
 * Arithmetic is written with % and + rather than & and | so that WP can
 * reason about it (TOOLCHAIN.md 2); the machine code is the same. */
#ifndef HAK_TAG_H
#define HAK_TAG_H

#include <stdint.h>

#define HAK_ST_END    0u   /* end mark after the last carved slot; tiny tag = the cookie itself */
#define HAK_ST_FREE   1u
#define HAK_ST_ALLOC  2u
#define HAK_ST_REMOTE 3u   /* claimed by a remote free, on the slab's remote list (heap.c) */
                           /* the states are 0..3: "a state of this slab" is one compare */
#define HAK_COOKIE_MAX 252u   /* cookies are 1..this (slab.c draws them): cookie + state never wraps to 0 */
#define HAK_MID_MAGIC 0x6b6d6168u          /* "hamk" */
#define HAK_ALIAS_MAGIC 0x616c6961u        /* "alia": header of an over-aligned pointer */
#define HAK_ALIAS_RETIRED 0u               /* check word of a freed alias header: keyless, so the
                                              block handed out again holds no key (it reads DOUBLE) */

/* mid header layout (16 bytes, user pointer follows) */
typedef struct hak_mid_hdr {
    uint32_t magic;      /* HAK_MID_MAGIC, or HAK_ALIAS_MAGIC for an aligned alias */
    uint32_t aux;        /* mid: class index; alias: distance back to the real user pointer */
    uint64_t check;      /* hak_key(p) ^ state */
} hak_mid_hdr_t;

/*@ requires cookie <= HAK_COOKIE_MAX;
    requires state == HAK_ST_FREE || state == HAK_ST_ALLOC || state == HAK_ST_REMOTE;
    assigns \nothing;
    ensures encodes: \result == (cookie + state) % 256;
    ensures nonzero: \result != 0;
    ensures decodes: (\result + 256 - cookie) % 256 == state; */
static inline uint8_t hak_tag_encode(uint8_t cookie, unsigned state)
{
    return (uint8_t)((cookie + state) % 256u);
}

/* The tiny end mark: written where the tag of the first uncarved slot (or,
 * once all are carved, the byte after the last slot) goes.  It is the
 * cookie itself: never 0 (the value a string overflow writes) and neither
 * of the three state tags. */
/*@ requires 1 <= cookie <= HAK_COOKIE_MAX + 1;
    assigns \nothing;
    ensures end: \result == cookie;
    ensures nonzero: \result != 0;
    ensures decodes: (\result + 256 - cookie) % 256 == HAK_ST_END;
    ensures distinct: \result != (cookie + HAK_ST_FREE) % 256 && \result != (cookie + HAK_ST_ALLOC) % 256 &&
                      \result != (cookie + HAK_ST_REMOTE) % 256; */
static inline uint8_t hak_tag_end(uint8_t cookie)
{
    return cookie;
}

/* state encoded in tag under cookie: HAK_ST_FREE, HAK_ST_ALLOC, HAK_ST_REMOTE
 * or anything else (invalid) */
/*@ assigns \nothing;
    ensures decodes: \result == (tag + 256 - cookie) % 256;
    ensures zero_invalid: 1 <= cookie <= HAK_COOKIE_MAX && tag == 0 ==>
                          \result != HAK_ST_FREE && \result != HAK_ST_ALLOC && \result != HAK_ST_REMOTE;
    behavior alloc: assumes tag == (cookie + HAK_ST_ALLOC) % 256;
      ensures \result == HAK_ST_ALLOC;
    behavior free: assumes tag == (cookie + HAK_ST_FREE) % 256;
      ensures \result == HAK_ST_FREE;
    behavior invalid: assumes tag != (cookie + HAK_ST_ALLOC) % 256 && tag != (cookie + HAK_ST_FREE) % 256;
      ensures \result != HAK_ST_FREE && \result != HAK_ST_ALLOC;
    complete behaviors; disjoint behaviors; */
static inline unsigned hak_tag_state(uint8_t tag, uint8_t cookie)
{
    return ((unsigned)tag + 256u - cookie) % 256u;
}

/* Is tag a byte that may follow a tiny block of a slab with this cookie:
 * the next slot's tag (FREE, ALLOC or REMOTE) or the end mark?  0 means the
 * block in front overflowed into it. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures ok: \result == 1 <==> (tag + 256 - cookie) % 256 <= HAK_ST_REMOTE;
    ensures states: \result == 1 <==> (tag == (cookie + HAK_ST_END) % 256 ||
                                      tag == (cookie + HAK_ST_FREE) % 256 ||
                                      tag == (cookie + HAK_ST_ALLOC) % 256 ||
                                      tag == (cookie + HAK_ST_REMOTE) % 256);
    ensures zero: 1 <= cookie <= HAK_COOKIE_MAX && tag == 0 ==> \result == 0; */
static inline int hak_tag_next_ok(uint8_t tag, uint8_t cookie)
{
    return hak_tag_state(tag, cookie) <= HAK_ST_REMOTE;
}

/*@ assigns \nothing;
    ensures encodes: \result == (key ^ state);
    ensures decodes: ((key ^ state) ^ key) == state; */
static inline uint64_t hak_hdr_check(uint64_t key, uint64_t state)
{
    return key ^ state;
}

/*@ assigns \nothing;
    ensures decodes: \result == (check ^ key);
    behavior alloc: assumes (check ^ key) == HAK_ST_ALLOC;
      ensures \result == HAK_ST_ALLOC;
    behavior free: assumes (check ^ key) == HAK_ST_FREE;
      ensures \result == HAK_ST_FREE;
    behavior invalid: assumes (check ^ key) != HAK_ST_ALLOC && (check ^ key) != HAK_ST_FREE;
      ensures \result != HAK_ST_FREE && \result != HAK_ST_ALLOC;
    complete behaviors; disjoint behaviors; */
static inline uint64_t hak_hdr_state(uint64_t check, uint64_t key)
{
    return check ^ key;
}

/* Is h a header that may follow a mid block of class cls: the next block's
 * header (FREE, ALLOC or REMOTE) or the end mark, keyed for its address
 * (key)?  0 means the block in front overflowed into it. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures ok: \result == 1 <==> (h.magic == HAK_MID_MAGIC && h.aux == cls && (h.check ^ key) <= HAK_ST_REMOTE); */
static inline int hak_hdr_next_ok(hak_mid_hdr_t h, uint32_t cls, uint64_t key)
{
    return h.magic == HAK_MID_MAGIC && h.aux == cls && hak_hdr_state(h.check, key) <= HAK_ST_REMOTE;
}
#endif
