/* harden.c: full mode, HAKMEM_HARDEN=full (issue 12; SECURITY.md).
 *
 * What the default checks cannot see cheaply: writes after free, reads of
 * freed data, and a freed block handed out again at once.  In full mode
 * hak_tl_heap stays the empty sentinel, as under the tools (heap.h), so
 * every malloc and free misses the fast paths and comes through here; the
 * default fast paths carry no instruction for it (`make bench-guard`).
 * The slab arena is made, so free()'s fast accept classifies a live Tiny
 * block (once) and, the sentinel owning no slab, hands it on through
 * heap_free_other to harden_free_slab; the full gate's frees of Tiny
 * blocks come to harden_free_tiny, everything else to harden_free.
 *
 *  - free zeroes the block and holds it back in a per-thread FIFO ring of
 *    HAK_QUARANTINE blocks; only the block that falls out of the ring goes
 *    back to its slab (a Tiny block of the thread's own slab first waits,
 *    zero and FREE, in a small per-class stash for the next malloc).  A block in the ring is FREE in its tag or header
 *    (no fourth state: a second free of it is DOUBLE, as usual), but on no
 *    list, and counts as used, so its slab stays.
 *  - when malloc hands a block out, it must still be all zero: anything
 *    else is a write after free, fatal.  The words the free lists write
 *    into a free block (the link, and the remote link, which a remote free
 *    leaves behind) are exempt there, and checked instead when the block
 *    leaves the ring, before the lists write them.
 *  - carving zeroes the slots of a recycled span, so every block malloc
 *    hands out is zero: calloc skips its memset (api.c).
 *  - at free, a FREE tiny block right after the block must have a link
 *    that lands in the slab (a zero one while it is quarantined): an
 *    overflow of up to 8 bytes past the tag is caught, fatal.
 *  - an aligned block keeps its retired alias header while quarantined, so
 *    a second free of the aligned pointer still reads DOUBLE.
 *  - requests above HAK_HARDEN_SLAB_MAX are Huge blocks, so a use after
 *    free of a large block faults at once (PROT_NONE, guard page).
 * Racing frees: a free claims the block ALLOC -> REMOTE (a compare-and-swap,
 * as a remote free does: of racing frees one wins, the others get DOUBLE and
 * touch nothing), zeroes it, and only then marks it FREE: a FREE block in
 * full mode is always zero but for its link. */
#include <string.h>
#include "classify.h"
#include "guard.h"
#include "heap.h"

typedef struct q_ent {
    hak_slab_t *s;           /* head descriptor of the block's span */
    unsigned char *user;     /* the block's start; NULL: an empty slot */
    unsigned char *p;        /* what was freed: user, or an aligned alias inside the block */
} q_ent_t;


/* A tiny block of the thread's own slab that leaves the ring waits here,
 * FREE and zero, for the next malloc of its class (LIFO), rather than on
 * its slab's list: that malloc scans it while its lines are still in the
 * cache (a slab's list can hand out a block freed long ago, cold, and the
 * scan is where full mode spends its time).  Like the ring's, these blocks
 * count as used; a full stash sends its oldest block to its slab, so the
 * next malloc of the class gets the block that left the ring last, as it
 * would from the slab's list. */
#define HAK_STASH 8u
typedef struct stash {
    unsigned top;            /* entries top - n .. top - 1 (mod HAK_STASH), newest last */
    unsigned n;
    hak_slab_t *s[HAK_STASH];
    unsigned char *b[HAK_STASH];
} stash_t;

/* The thread's ring and stash in one TLS block: one base address for both.
 * The ring is a FIFO of fixed slots: the slot a free takes holds the oldest
 * entry, the free of HAK_QUARANTINE frees ago (empty while the ring fills). */
static __thread struct {
    unsigned ring_pos;
    q_ent_t ring[HAK_QUARANTINE];
    stash_t stash[HAK_NTINY];
} tl;
#define ring_pos (tl.ring_pos)
#define ring (tl.ring)
#define stash (tl.stash)

/* 16 bytes, by copy (SSE2, the x86-64 baseline) */
typedef uint64_t hak_v2 __attribute__((vector_size(16)));

static inline hak_v2 ld16(const unsigned char *a)
{
    hak_v2 v;
    memcpy(&v, a, sizeof v);
    return v;
}

static inline void st16(unsigned char *a, hak_v2 v)
{
    memcpy(a, &v, sizeof v);
}

/* [a, a + n) all zero, n >= 16: 16-byte loads, the last one overlapping
 * (Tiny sizes are odd).  This scan and the zeroing are most of full
 * mode's cost; both stay inline for the common sizes. */
static inline bool all_zero16(const unsigned char *a, size_t n)
{
    hak_v2 acc = ld16(a + n - 16);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) acc |= (ld16(a + i) | ld16(a + i + 16)) | (ld16(a + i + 32) | ld16(a + i + 48));
    for (; i + 16 <= n; i += 16) acc |= ld16(a + i);
    return (acc[0] | acc[1]) == 0;
}

/* [a, a + n) all zero, any n */
static inline bool all_zero(const unsigned char *a, size_t n)
{
    if (n >= 16) return all_zero16(a, n);
    uint64_t r = 0, w;
    if (n < 8) {
        for (size_t i = 0; i < n; i++) r |= a[i];
        return r == 0;
    }
    memcpy(&r, a, 8);
    memcpy(&w, a + n - 8, 8);
    return (r | w) == 0;
}

/* Zero [a, a + n): inline 16-byte stores up to a few hundred bytes (a
 * memset call costs more than the stores), memset above. */
static inline void zero_bytes(unsigned char *a, size_t n)
{
    if (n < 16 || n > 256) { memset(a, 0, n); return; }
    hak_v2 z = { 0, 0 };
    for (size_t i = 0; i + 16 < n; i += 16) {
        st16(a + i, z);
        __asm__("" : "+r"(i));   /* stores, not a `rep stos` (slow to start) */
    }
    st16(a + n - 16, z);
}

/* The usable bytes of a block, minus an alias header (16 bytes in front of
 * p, when p is an aligned alias): zero them. */
static void zero_block(unsigned char *user, size_t u, unsigned char *p)
{
    if (p == user) { zero_bytes(user, u); return; }
    memset(user, 0, (size_t)(p - HAK_MID_HDR - user));
    memset(p, 0, u - (size_t)(p - user));
}

void harden_carved(const hak_slab_t *s, unsigned char *p)
{
    memset(p, 0, hak_class_usable(s->cls));
}

void *harden_malloc(size_t n)
{
    if (n > HAK_HARDEN_SLAB_MAX) return huge_alloc(n, 0, 1);
    /* the fast path's pop, on the thread's own heap (hak_tl_heap is the sentinel) */
    unsigned c = hak_size_class(n);
    hak_heap_t *h = hak_tl_own;
    hak_slab_t *s = h->avail[c];
    hak_free_t *b = s->free;
    unsigned char *p;
    if (hak_class_is_tiny(c) && stash[c].n > 0) {
        stash_t *t = &stash[c];
        unsigned k = --t->top % HAK_STASH;
        t->n--;
        hak_slab_t *ts = t->s[k];
        p = t->b[k];
        uint8_t cookie = ts->cookie;
        if (unlikely(hak_tag_load(p, 0) != hak_tag_encode(cookie, HAK_ST_FREE))) hak_fatal(HAK_QTAG_MSG, p);
        hak_tag_store(p, hak_tag_encode(cookie, HAK_ST_ALLOC), 0);
        h->nalloc[c]++;
        /* no link was written into it: the check below is the whole block */
        if (unlikely(!all_zero(p, hak_class_usable(c)))) hak_fatal(HAK_WAF_MSG, p);
        return p;
    }
    if (likely(b != NULL)) {
        h->nalloc[c]++;   /* full mode counts every malloc (heap_alloc_slow counts its own) */
        p = hak_class_is_tiny(c) ? heap_pop_slot(s, b, s->start, 1, 0)
                                 : heap_pop_slot(s, b, s->start, 0, 0);
    }
    else if ((p = heap_alloc_slow(n)) == NULL)
        return NULL;
    /* the next pop of the class reads the new head's link, and then scans it */
    __builtin_prefetch(s->free);
    /* the pop cleared the link; a remote free leaves its link behind */
    memset(p + HAK_RLINK_OFF, 0, sizeof(uint32_t));
    if (unlikely(!all_zero(p, hak_class_usable(c)))) hak_fatal(HAK_WAF_MSG, p);
    return p;
}

/* The block leaves the ring, then back to its slab, FREE as it is (the
 * owner's list, or the remote list from FREE, not ALLOC).  Only the bytes
 * the lists will write over are checked here (a write there would be lost):
 * malloc checks the whole block when it hands it out, one scan, not two. */
/* A FREE, zero block back to its slab: the owner's local list, or the
 * remote list when the slab is another thread's (or the thread has no heap). */
static void to_slab(hak_heap_t *me, hak_slab_t *s, unsigned char *user)
{
    if (me != &hak_empty_heap && atomic_load_explicit(&s->owner, memory_order_relaxed) == me)
        heap_free_body(me, s, user, s->kind == HAK_SLAB_TINY, 0);
    else if (heap_free_remote_from(s, user, HAK_ST_FREE) != HAK_FREE_OK)
        hak_fatal(HAK_QTAG_MSG, user);
}

static inline __attribute__((always_inline)) void evict(const q_ent_t *e, int may_stash)
{
    hak_slab_t *s = e->s;
    unsigned char *user = e->user;
    if (likely(e->p == user)) {
        /* the words at 0 and HAK_RLINK_OFF: every class has 15 usable bytes or more */
        uint64_t w0;
        uint32_t w1;
        memcpy(&w0, user, sizeof w0);
        memcpy(&w1, user + HAK_RLINK_OFF, sizeof w1);
        if (unlikely((w0 | w1) != 0)) hak_fatal(HAK_WAF_MSG, e->p);
    } else {
        size_t u = hak_class_usable(s->cls);
        size_t n = HAK_RLINK_OFF + sizeof(uint32_t);
        if (n > u) n = u;
        /* a retired alias header right at the start is not a write after free */
        if ((size_t)(e->p - HAK_MID_HDR - user) < n) n = (size_t)(e->p - HAK_MID_HDR - user);
        if (unlikely(!all_zero(user, n))) hak_fatal(HAK_WAF_MSG, e->p);
        memset(e->p - HAK_MID_HDR, 0, HAK_MID_HDR);   /* the retired alias header */
    }
    hak_heap_t *me = hak_tl_own;
    unsigned c = s->cls;
    if (may_stash && e->p == user && hak_class_is_tiny(c) && me != &hak_empty_heap &&
        atomic_load_explicit(&s->owner, memory_order_relaxed) == me) {
        stash_t *t = &stash[c];
        unsigned k = t->top++ % HAK_STASH;
        if (t->n < HAK_STASH) {
            t->n++;
            t->s[k] = s;
            t->b[k] = user;
            return;
        }
        /* full: the oldest (in slot k) goes to its slab instead */
        hak_slab_t *os = t->s[k];
        unsigned char *ob = t->b[k];
        t->s[k] = s;
        t->b[k] = user;
        s = os;
        user = ob;
    }
    to_slab(me, s, user);
}

/* Into the ring; the oldest entry falls out. */
static inline __attribute__((always_inline)) void quarantine(hak_slab_t *s, unsigned char *user, unsigned char *p)
{
    unsigned i = ring_pos;
    ring_pos = (i + 1) % HAK_QUARANTINE;
    q_ent_t old = ring[i];
    ring[i] = (q_ent_t){ s, user, p };
    /* the next free evicts the block after: its first line, early */
    __builtin_prefetch(ring[ring_pos].user, 1);
    if (old.user != NULL) evict(&old, 1);
}

/* The tiny block at q (after the block freed), FREE by its tag t, is on a
 * list (a link that lands in the slab) or in a ring (all zero, so a zero
 * link, or an aligned block's retired alias header right at its start). */
static bool free_link_intact(const hak_slab_t *s, const unsigned char *q)
{
    /* FREE where no slot of the grid is (past the slab): an overflow, and
     * its "link" may lie past the chunk (guard.h) */
    if (!hak_slot_room(s, q)) return false;
    uint64_t w = __atomic_load_n((const uint64_t *)(const void *)q, __ATOMIC_RELAXED);
    if (w == 0) return true;
    /* quarantined with its retired alias header first: magic, then the distance back */
    if ((uint32_t)w == HAK_ALIAS_MAGIC && (w >> 32) < HAK_SLAB) return true;
    return hak_fl_link_ok(w, (uintptr_t)q, s->key, hak_slab_start(s), s->span);
}

static bool next_free_intact(const hak_slab_t *s, const unsigned char *q)
{
    uint8_t t = __atomic_load_n(&q[-1], __ATOMIC_ACQUIRE);   /* as in harden_free_tiny */
    if (hak_tag_state(t, HAK_LOAD_RELAXED(s->cookie)) != HAK_ST_FREE) return true;
    return free_link_intact(s, q);
}

/* Free the live block user of slab s (hak_free_found did the overflow check
 * of the tag or header after it, and retired an alias header at p). */
hak_free_status harden_free(hak_slab_t *s, unsigned char *user, const unsigned char *pp)
{
    unsigned char *p = (unsigned char *)(uintptr_t)pp;
    int tiny = HAK_LOAD_RELAXED(s->kind) == HAK_SLAB_TINY;
    size_t u = hak_class_usable(HAK_LOAD_RELAXED(s->cls));
    /* Only the owner looks: a FREE neighbour on the owner's list can be
     * popped, handed out and written by the owner between another thread's
     * read of its tag and of its link (a false alarm, seen in xthread and
     * rptest).  The owner's own list and the rings cannot move under it:
     * other threads change no link word of a FREE block (a remote free
     * claims it REMOTE first and writes only the remote link). */
    if (tiny && atomic_load_explicit(&s->owner, memory_order_relaxed) == hak_tl_own &&
        unlikely(!next_free_intact(s, user + HAK_LOAD_RELAXED(s->stride))))
        hak_fatal(HAK_OVERFLOW_MSG, user);
    if (tiny) {
        uint8_t cookie = HAK_LOAD_RELAXED(s->cookie);
        if (!hak_tag_cas(user, hak_tag_encode(cookie, HAK_ST_ALLOC), hak_tag_encode(cookie, HAK_ST_REMOTE), 0))
            return HAK_FREE_DOUBLE;
    } else {
        uint64_t k = hak_key((uintptr_t)user);
        if (!hak_hdr_cas_check(user, hak_hdr_check(k, HAK_ST_ALLOC), hak_hdr_check(k, HAK_ST_REMOTE), 0))
            return HAK_FREE_DOUBLE;
    }
    zero_block(user, u, p);
    /* ours alone since the claim; a tiny tag with release (harden_free_tiny) */
    if (tiny)
        __atomic_store_n(&user[-1], hak_tag_encode(HAK_LOAD_RELAXED(s->cookie), HAK_ST_FREE), __ATOMIC_RELEASE);
    else
        slot_mark(s, user, HAK_ST_FREE, 0, 0);
    quarantine(s, user, p);
    return HAK_FREE_OK;
}

/* The free of p, a live tiny block at its own start: hak_free_found and
 * harden_free in one, each field read once.  The same checks in the same
 * order: the tag after the block, a FREE one's link (owner only), the
 * claim, then zero and quarantine.  cookie and stride are the unit's or
 * the slab's copies (the same values). */
static inline __attribute__((always_inline)) hak_free_status free_tiny(hak_slab_t *s, unsigned char *p,
                                                                       uint8_t cookie, uint32_t stride)
{
    const unsigned char *q = p + stride;
    /* acquire: a FREE tag was stored with release after its block was
     * zeroed (below), so the link read next sees the zeros (a plain mov on
     * x86-64; for TSan, the happens-before it could not see) */
    uint8_t t = __atomic_load_n(&q[-1], __ATOMIC_ACQUIRE);
    if (unlikely(!hak_tag_next_ok(t, cookie))) hak_fatal(HAK_OVERFLOW_MSG, p);
    if (unlikely(hak_tag_state(t, cookie) == HAK_ST_FREE) &&
        atomic_load_explicit(&s->owner, memory_order_relaxed) == hak_tl_own && unlikely(!free_link_intact(s, q)))
        hak_fatal(HAK_OVERFLOW_MSG, p);
    if (!hak_tag_cas(p, hak_tag_encode(cookie, HAK_ST_ALLOC), hak_tag_encode(cookie, HAK_ST_REMOTE), 0))
        return HAK_FREE_DOUBLE;   /* a racing free won the slot */
    zero_bytes(p, stride - 1u);
    /* ours alone since the claim; release: the zeros before the FREE tag */
    __atomic_store_n(&p[-1], hak_tag_encode(cookie, HAK_ST_FREE), __ATOMIC_RELEASE);
    quarantine(s, p, p);
    return HAK_FREE_OK;
}

/* free() through the full gate (free_slow): unit u's copies, so the slab's
 * line is not read unless the next block is FREE.  A lost race is reported
 * as hak_free_named would (fn names the call). */
void harden_free_tiny(const hak_unit_t *u, unsigned char *p, const char *fn)
{
    if (free_tiny(u->slab, p, u->cookie, u->stride) != HAK_FREE_OK) hak_report(HAK_FREE_DOUBLE, p, fn);
}

/* free() through the fast accept (free_dispatch.c's free_fast found p live
 * and checked the tag after it; hak_tl_heap owns no slab, so it comes by
 * heap_free_other): no second classification. */
hak_free_status harden_free_slab(hak_slab_t *s, unsigned char *p)
{
    return free_tiny(s, p, HAK_LOAD_RELAXED(s->cookie), HAK_LOAD_RELAXED(s->stride));
}

void harden_flush(void)
{
    /* the ring's blocks go to their slabs, and then the stash's */
    for (unsigned k = 0; k < HAK_QUARANTINE; k++) {
        q_ent_t *slot = &ring[(ring_pos + k) % HAK_QUARANTINE];   /* oldest first */
        q_ent_t e = *slot;
        slot->user = NULL;
        if (e.user != NULL) evict(&e, 0);
    }
    hak_heap_t *me = hak_tl_own;
    for (unsigned c = 0; c < HAK_NTINY; c++) {
        stash_t *t = &stash[c];
        while (t->n > 0) {
            unsigned k = --t->top % HAK_STASH;
            t->n--;
            to_slab(me, t->s[k], t->b[k]);
        }
    }
}
