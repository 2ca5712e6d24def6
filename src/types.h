/* types.h: every struct of hakmem, with its invariants.
 *
 * Address arithmetic (DESIGN.md 2-3):
 *   chunk base  = a - a % HAK_CHUNK        (a slab chunk: its hak_chunk_t is there)
 *   unit        = (a % HAK_CHUNK) / HAK_SLAB
 *   user pointers of a slab: chunk base + first + i * stride, 0 <= i < capacity,
 *   so  first <= a % HAK_CHUNK < end  and  (a % HAK_CHUNK - first) % stride == 0.
 * A huge block has a chunk-aligned mapping of its own whose first bytes hold
 * its hak_chunk_t; the chunk map points every chunk it covers at that base. */
#ifndef HAK_TYPES_H
#define HAK_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "size_class.h"

/* HAK_LEAN=1 (`make lean`): measurement build only: issue 12's cost.  It
 * compiles out the default checks of the fast paths (the overflow check at
 * free and its end marks, guard.h; the link cleared at pop, freelist.h; the
 * faulting malloc(0), api.c) to price them (bench/README.md).  Never
 * shipped; the proofs see the default code. */
#ifndef HAK_LEAN
#define HAK_LEAN 0
#endif

/* The first word of a free slot (at the user pointer): the encoded link. */
typedef struct hak_free {
    uintptr_t next_enc;        /* (next ^ key ^ address of this slot), see freelist.h */
} hak_free_t;

enum hak_slab_kind { HAK_SLAB_UNUSED = 0, HAK_SLAB_TINY = 1, HAK_SLAB_MID = 2 };
enum hak_chunk_kind { HAK_CHUNK_SLABS = 1, HAK_CHUNK_HUGE = 2 };
enum hak_slab_where { HAK_IN_NONE = 0, HAK_IN_AVAIL, HAK_IN_FULL, HAK_IN_ABANDONED };

struct hak_heap;
#define HAK_IDLE_MAX 32        /* entries of a heap's idle set of empty spans */

/* Grid of one slab unit: all the classifier reads (32 bytes, so the unit
 * of a pointer is one shift away).  A slab spans nunits units; its grid is
 * copied into each of them.  Invariants while kind != UNUSED:
 *   end == first + bumped * stride of the slab, end <= (head + nunits) * HAK_SLAB
 *   stride == hak_class_stride[cls] > 0 (stride is never 0, even when UNUSED) */
typedef struct hak_unit {
    uint32_t first;            /* chunk offset of the first user pointer */
    uint32_t end;              /* chunk offset past the last carved user pointer */
    uint32_t stride;           /* distance between user pointers (class stride) */
    uint8_t  kind;             /* enum hak_slab_kind; UNUSED for free units and unit 0 */
    uint8_t  cookie;           /* tiny tag cookie, 1..HAK_COOKIE_MAX (tag.h) */
    uint8_t  cls;              /* size class */
    uint8_t  head;             /* unit index of the slab's head (its hak_slab_t) */
    struct hak_slab *slab;     /* == &chunk->slab[head]: saves the free path an index computation */
    uint64_t recip;            /* hak_grid_recip(stride): the grid test multiplies by it
                                  (classify.h: hak_on_grid); 32 bytes: a unit is one shift away */
} hak_unit_t;

/* Reciprocal of a grid's stride, ceil(2^32 / stride): for every d < 2^21
 * (a chunk offset) that is a multiple of stride, d * recip / 2^32 == d /
 * stride exactly (lemmas in classify.h), so the grid test is a multiply,
 * a shift, a multiply and a compare instead of a 32-bit div.  slab.c fills
 * every unit's recip with this function, the proved one; cmap_lookup's
 * contract (chunk_map.h) assumes it, and slab_check_all checks it. */
/*@ logic integer hak_recip(integer s) = (4294967296 + s - 1) / s; */
/* why d * recip / 2^32 is d / stride for a multiple d of stride below 2^32
 * (classify.h: hak_on_grid; freelist.h: hak_fl_in_grid) */
/*@ lemma hak_recip_bounds: \forall integer s; s > 0 ==>
      4294967296 <= s * hak_recip(s) < 4294967296 + s;
    lemma hak_recip_le: \forall integer s; s > 0 ==> 0 < hak_recip(s) <= 4294967296;
    lemma hak_div_exact: \forall integer q, r; q >= 0 && 0 <= r < 4294967296 ==>
      (q * 4294967296 + r) / 4294967296 == q;
    lemma hak_mul_mod: \forall integer q, s; q >= 0 && s > 0 ==> (q * s) % s == 0;
    lemma hak_recip_exact: \forall integer q, s; q >= 0 && s > 0 && q * s < 4294967296 ==>
      (q * (s * hak_recip(s))) / 4294967296 == q;
    lemma hak_mod_zero: \forall integer d, s; d >= 0 && s > 0 && d % s == 0 ==> d / s * s == d && d / s >= 0;
    lemma hak_recip_split: \forall integer d, s; d >= 0 && s > 0 && d % s == 0 ==>
      d * hak_recip(s) == (d / s) * (s * hak_recip(s));
    lemma hak_recip_grid: \forall integer d, s; 0 <= d < 4294967296 && s > 0 && d % s == 0 ==>
      (d * hak_recip(s)) / 4294967296 * s == d;
*/
/*@ requires stride > 0;
    assigns \nothing;
    ensures \result == hak_recip(stride); */
static inline uint64_t hak_grid_recip(uint32_t stride)
{
    return (4294967296u + stride - 1u) / stride;
}

/* The grid's end moves while its owner carves (heap.c: carve stores it with
 * release), and any thread may classify meanwhile: a relaxed atomic load,
 * a plain mov on x86-64.  WP cannot parse the builtin; it sees the contract
 * (trusted, proofs/README.md).  Also used by slab_check_all. */
#ifdef __FRAMAC__
/*@ requires \valid_read(u);
    assigns \nothing;
    ensures \result == u->end; */
uint32_t hak_unit_end(const hak_unit_t *u);
#else
static inline uint32_t hak_unit_end(const hak_unit_t *u) { return __atomic_load_n(&u->end, __ATOMIC_RELAXED); }
#endif

/* State of one slab, kept at the index of its head unit.  Invariants:
 *   used + length(free) + length(remote) == bumped <= capacity
 * Fast paths touch free and left (line 0; where on the slow paths) and key, start,
 * span, cookie, stride, recip (line 1; owner at free). */
typedef struct hak_slab {
    /* line 0: written by the owner on every malloc and free */
    hak_free_t *free;          /* local free list, touched by the owner only */
    int32_t  left;             /* countdown: used - low_water, where used (hak_slab_used) is the
                                  number of blocks out of the local list (live, or on a remote
                                  list); a local free that takes it to <= 0 takes the slow path.
                                  One decrement and branch per free (issue 11) */
    uint32_t low_water;        /* that mark: 0 in the avail list (slab empty), the unpark mark when
                                  parked; changed only through hak_slab_set_low */
    uint8_t  where;            /* enum hak_slab_where: which list of the owner holds it */
    uint8_t  in_idle;          /* listed in its owner's idle set (heap.c: idle_*) */
    uint32_t bumped;           /* blocks carved so far; slots >= bumped were never used */
    uint32_t idle_ms;          /* os_now_ms() when it last became empty (owner's idle set) */
    struct hak_slab *next, *prev;      /* links in the owner's avail/full list or the abandoned list */
    /* line 1: set when the span is described, read by every thread's free
     * (a remote freer's reads never pull the owner's line 0 away from it) */
    uint8_t kind __attribute__((aligned(64))); /* HAK_SLAB_TINY or HAK_SLAB_MID (copy of the units') */
    uint8_t  cls;              /* size class */
    uint8_t  cookie;           /* tiny tag cookie (copy of the units') */
    uint8_t  head;             /* its own unit index */
    uint8_t  nunits;           /* span length in units */
    uintptr_t key;             /* free-list encoding key, from the process secret */
    uintptr_t start;           /* address of user pointer 0 */
    uintptr_t span;            /* capacity * stride: free-list links stay in [start, start+span) */
    _Atomic(struct hak_heap *) owner;  /* owning heap, NULL when abandoned */
    uint32_t capacity;         /* blocks in the span */
    uint32_t stride;           /* class stride */
    uint32_t first;            /* chunk offset of user pointer 0 */
    uint32_t recip;            /* hak_grid_recip(stride) (fits: stride >= 16), the pop's grid test */
    /* line 2: written by remote freers */
    _Atomic(uintptr_t) remote __attribute__((aligned(64))); /* remote-free list: head pointer | count << HAK_REMOTE_SHIFT
                                  (encoded links, same key); see hak_remote_ptr/cnt */
    _Atomic uint32_t orphan_left;  /* abandoned: blocks still out when last settled, so the free
                                  that brings the remote count to it settles the slab;
                                  HAK_NOT_ORPHAN while owned or free */
    _Atomic uint8_t full;      /* owner parked it as full: a remote free must flag the owner */
} __attribute__((aligned(64))) hak_slab_t;   /* three cache lines of its own: slabs of one chunk
                                                belong to different threads (no false sharing),
                                                and the owner's, the shared and the remote
                                                freers' fields do not share a line */

/* blocks of s out of its local list */
static inline uint32_t hak_slab_used(const hak_slab_t *s)
{
    return (uint32_t)(s->left + (int32_t)s->low_water);
}

/* move the slow-path mark, keeping the number of blocks out */
static inline void hak_slab_set_low(hak_slab_t *s, uint32_t low)
{
    s->left += (int32_t)s->low_water - (int32_t)low;
    s->low_water = low;
}

/* Relaxed atomic access to a plain field that a thread holding a stale or
 * racing pointer may read while its owner (or slab_new, under the lock)
 * writes it: a plain mov on x86-64, and the intent visible to TSan. */
#define HAK_LOAD_RELAXED(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define HAK_STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The remote-free word packs the list head (a user pointer: below 2^47) with
 * the number of blocks on the list, so that one compare-and-swap pushes a
 * block and counts it: a free into an abandoned slab knows whether it was
 * the last block out (slab.c: slab_orphan_settle) without a second atomic.
 * A span never holds 2^16 blocks (static check in slab.c). */
#define HAK_REMOTE_SHIFT 48
/* Offset in a block of its remote-list link (heap.c): past the local list's
 * word, inside the usable bytes of the smallest slot (16 - 1 tag byte). */
#define HAK_RLINK_OFF    8
#define HAK_NOT_ORPHAN   0xffffffffu
static inline hak_free_t *hak_remote_ptr(uintptr_t w)
{
    return (hak_free_t *)(w & (((uintptr_t)1 << HAK_REMOTE_SHIFT) - 1));
}
static inline uint32_t hak_remote_cnt(uintptr_t w) { return (uint32_t)(w >> HAK_REMOTE_SHIFT); }
static inline uintptr_t hak_remote_word(const hak_free_t *head, uint32_t cnt)
{
    return (uintptr_t)head | (uintptr_t)cnt << HAK_REMOTE_SHIFT;
}

/* Address of user pointer 0 of slab s, derived (s lies in its chunk's
 * descriptor).  Under Memcheck s->start is marked undefined, because a raw
 * pointer to slot 0 in the descriptor would keep a leaked slot 0 "still
 * reachable"; paths that run under Memcheck use this instead. */
static inline uintptr_t hak_slab_start(const hak_slab_t *s)
{
    uintptr_t a = (uintptr_t)s;
    return a - a % HAK_CHUNK + s->first;
}

#define HAK_HUGE_SEAMS 19       /* seams a huge block keeps (huge.c: twice its pieces, and some) */

/* Chunk descriptor, at the base of every chunk (slab chunks) or of every huge
 * mapping.  Huge fields are used only when kind == HAK_CHUNK_HUGE. */
typedef struct hak_chunk {
    uint32_t kind;             /* enum hak_chunk_kind */
    uint32_t free_units;       /* bit u set: unit u is free (slab chunks, under the global lock) */
    uint32_t dirty_units;      /* bit u set: free unit u may hold pages not yet purged */
    size_t   huge_uoff;        /* huge: user pointer - base.  An offset, not a pointer: a raw pointer
                                  here keeps a leaked huge block "reachable" for Memcheck */
    uint64_t huge_check;       /* huge: hak_key(user pointer) ^ state */
    size_t   huge_size;        /* huge: usable bytes from the user pointer to the end of the mapping */
    size_t   map_len;          /* huge: mapping length from the base */
    size_t   huge_req;         /* huge: the size last asked (malloc, realloc), whose page count the
                                  sized frees check (sized.c): a growing realloc maps more (huge.c) */
    struct hak_chunk *next;    /* slab chunks: list of all of them */
    /* every huge field in the first page: a freed huge block's descriptor
     * stays mapped while it is in huge.c's ring of 64, one resident page
     * each (with the seams after slab[], two: 256 KiB more peak RSS for a
     * program that frees Huge blocks) */
    uint32_t huge_nseam;       /* huge: seams below, or HAK_HUGE_SEAMS + 1 when too many to keep */
    uint32_t huge_seam[HAK_HUGE_SEAMS];   /* huge: page offsets in the user range where the
                                             mappings it is made of meet (recycled pages, huge.c) */
    hak_unit_t unit[HAK_NSLAB];  /* classifier's view, per unit */
    hak_slab_t slab[HAK_NSLAB];  /* slab state, at head units only */
    /* cold fields last (slab chunks only) */
    uint32_t dirty_ms[HAK_NSLAB];  /* os_now_ms() when unit u was released dirty (global lock) */
    uint32_t dirty_seq[HAK_NSLAB]; /* release order of unit u (global lock): oldest purged first */
} hak_chunk_t;

/* Per-thread heap.  avail[c] is never NULL: an empty class points at the
 * shared sentinel slab whose free list is empty, so the malloc fast path
 * needs no NULL test.  Only the owning thread touches a heap, except
 * remote_full, which remote freers set. */
typedef struct hak_heap {
    hak_slab_t *avail[HAK_NCLASS];   /* head of the list of slabs that may have free blocks */
    hak_slab_t *fullq[HAK_NCLASS];   /* slabs with no free block at the time they were parked */
    uint64_t nalloc[HAK_NCLASS];     /* statistics, owner-written; frees are derived (stats.c) */
    _Atomic int remote_full;         /* a remote free hit one of our full slabs */
    /* Empty spans kept for reuse, all classes together (heap.c: idle_*):
     * they stay in their avail lists, so malloc finds them; an entry whose
     * slab went back into use is dropped at the next look.  Bounded by
     * hak_opt.idle_bytes, released after hak_opt.decay_ms unused. */
    hak_slab_t *idle[HAK_IDLE_MAX];
    uint32_t nidle;
    uint32_t sweep_ms;               /* last sweep of the idle set */
    uint32_t slow_calls;             /* malloc slow paths, to space the clock reads (heap.c) */
    size_t   idle_bytes;             /* span bytes of the entries */
    int      state;                  /* HAK_HEAP_LIVE / FREE (reusable) / ORPHAN (after fork) */
    struct hak_heap *next_all;       /* global list of heaps (under the global lock) */
} hak_heap_t;

enum { HAK_HEAP_LIVE = 1, HAK_HEAP_FREE = 2, HAK_HEAP_ORPHAN = 3 };

/* What the classifier found, for the free that follows. */
typedef struct hak_where {
    hak_chunk_t *chunk;
    hak_unit_t  *unit;         /* the unit descriptor the pointer falls in (slab chunks) */
    unsigned char *user;       /* the real user pointer (differs from p for an aligned alias) */
} hak_where_t;
#endif
