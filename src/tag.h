/* tag.h: the in-band bytes in front of a user pointer, named once.
 *
 * Tiny: one tag byte at p - 1 (the last byte of the previous slot, or the
 *   slab's pad for slot 0).  tag = (cookie + state) % 256 with a per-slab
 *   cookie drawn from the process secret; cookie is in 1..252, so no state
 *   (FREE, ALLOC, REMOTE) encodes to 0 and a never-used (zero) slot decodes
 *   invalid.
 * Mid: a 16-byte header at p - 16: magic, class, and a check word
 *   key(p) ^ state, where key(p) mixes the secret with the address.
 * Arithmetic is written with % and + rather than & and | so that WP can
 * reason about it (TOOLCHAIN.md 2); the machine code is the same. */
#ifndef HAK_TAG_H
#define HAK_TAG_H

#include <stdint.h>

#define HAK_ST_FREE   1u
#define HAK_ST_ALLOC  2u
#define HAK_ST_REMOTE 3u    /* claimed by a remote free, on the slab's remote list (heap.c) */
#define HAK_MID_MAGIC 0x6b6d6168u          /* "hamk" */
#define HAK_ALIAS_MAGIC 0x616c6961u        /* "alia": header of an over-aligned pointer */

/* mid header layout (16 bytes, user pointer follows) */
typedef struct hak_mid_hdr {
    uint32_t magic;      /* HAK_MID_MAGIC, or HAK_ALIAS_MAGIC for an aligned alias */
    uint32_t aux;        /* mid: class index; alias: distance back to the real user pointer */
    uint64_t check;      /* hak_key(p) ^ state */
} hak_mid_hdr_t;

/*@ requires cookie <= 252;
    requires state == HAK_ST_FREE || state == HAK_ST_ALLOC || state == HAK_ST_REMOTE;
    assigns \nothing;
    ensures encodes: \result == (cookie + state) % 256;
    ensures nonzero: \result != 0;
    ensures decodes: (\result + 256 - cookie) % 256 == state; */
static inline uint8_t hak_tag_encode(uint8_t cookie, unsigned state)
{
    return (uint8_t)((cookie + state) % 256u);
}

/* state encoded in tag under cookie: HAK_ST_FREE, HAK_ST_ALLOC, HAK_ST_REMOTE
 * or anything else (invalid) */
/*@ assigns \nothing;
    ensures decodes: \result == (tag + 256 - cookie) % 256;
    ensures zero_invalid: 1 <= cookie <= 252 && tag == 0 ==>
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
#endif
