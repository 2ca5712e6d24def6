/* layout.h: every address-space constant of hakmem, in one place.
 *
 * Values are plain literals (not expressions with casts) because the same
 * macros are read by Frama-C inside ACSL annotations (PROOF_PATTERNS.md 5). */
#ifndef HAK_LAYOUT_H
#define HAK_LAYOUT_H

#include "hakmem.h"

#define HAK_CHUNK        2097152u     /* chunk size and alignment: ptr - ptr % HAK_CHUNK is its descriptor */
#define HAK_SLAB         65536u       /* slab unit; a slab spans 1..HAK_NSLAB-1 units */
#define HAK_NSLAB        32u          /* units per chunk; unit 0 holds the chunk descriptor */
#define HAK_PAGE         4096u        /* OS page size (checked at init) */
#define HAK_ALIGN        16u          /* minimum alignment of every user pointer (max_align_t) */
#define HAK_FIRST        16u          /* offset of the first user pointer in a slab: room for
                                         the tiny tag of slot 0 or the mid header of block 0 */
#define HAK_MID_HDR      16u          /* bytes of the mid header in front of a mid user pointer */
#define HAK_ALIAS_SIZE_OFF 32u     /* an aligned alias's size word lies this far in front of it,
                                         ahead of its HAK_MID_HDR alias header (internal.h) */
#define HAK_HUGE_UOFF    8192u        /* default offset of a huge user pointer from its mapping:
                                         room for its hak_chunk_t (checked in slab.c) */
#define HAK_ARENA        8589934592u  /* bytes of the slab arena (chunk_map.h): 4096 chunks, reserved
                                         PROT_NONE; more slab chunks than that come from os_map */
#define HAK_VA_BITS      47
#define HAK_MAP_N        67108864u    /* 2^47 / HAK_CHUNK entries in the chunk map */

#define HAK_TINY_MAXREQ  HAKMEM_TINY_MAX
#define HAK_MID_MAXREQ   HAKMEM_MID_MAX
#define HAK_HARDEN_SLAB_MAX 65536u    /* full mode (harden.c): larger requests are Huge blocks */

#if HAK_CHUNK != HAK_SLAB * HAK_NSLAB
#error "a chunk must be a whole number of slab units"
#endif
#endif
