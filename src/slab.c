/* slab.c: chunks and slab spans, under the global lock (DESIGN.md 2-3).
 *
 * A chunk's unit 0 holds its descriptor; units 1..31 are handed out as spans.
 * Released spans stay mapped (a descriptor or tag read through a stale
 * pointer must never fault) and are purged with MADV_DONTNEED once they have
 * been dirty for hak_opt.decay_ms, or at once when more than purge_limit()
 * bytes are dirty. */
#include <stddef.h>
#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"
#include "tag.h"

static hak_chunk_t *chunks;                  /* every slab chunk */
static hak_slab_t *abandoned[HAK_NCLASS];    /* slabs whose owner thread died; written under
                                                the lock with relaxed atomic stores, because
                                                slab_adopt peeks at it without the lock */
static size_t dirty_bytes;                   /* released, not yet purged */
static uint64_t committed, peak;             /* bytes of spans and huge mappings in use */

/* Account n bytes more (or fewer) held from the OS; caller holds the lock. */
void commit_add_locked(int64_t n)
{
    committed += (uint64_t)n;
    if (committed > peak) peak = committed;
}

static void purge_maybe_locked(uint32_t now);
uint64_t commit_locked(void) { return committed; }

#define ALL_UNITS 0xfffffffeu                /* units 1..31 */

/* A huge block's user pointer sits HAK_HUGE_UOFF past its descriptor, and a
 * slab chunk's descriptor must fit in unit 0. */
_Static_assert(sizeof(hak_chunk_t) <= HAK_HUGE_UOFF, "chunk descriptor overlaps a huge block");
_Static_assert(offsetof(hak_chunk_t, unit) <= HAK_PAGE, "a huge descriptor's fields span two pages (types.h)");
_Static_assert(sizeof(hak_chunk_t) <= HAK_SLAB, "chunk descriptor larger than unit 0");
_Static_assert(sizeof(hak_slab_t) == 192, "slab state is three cache lines");
_Static_assert(offsetof(hak_slab_t, kind) == 64 && offsetof(hak_slab_t, remote) == 128,
               "the owner's, the shared and the remote freers' fields on lines of their own (types.h)");
_Static_assert(sizeof(hak_unit_t) == 32, "the unit stride is assumed to be a power of two");
/* the remote word counts a span's blocks in 16 bits (types.h): a Tiny span is
 * one unit of blocks of at least 16 bytes, a Mid span at most a chunk of
 * blocks above the Tiny maximum */
_Static_assert(HAK_SLAB / HAK_ALIGN < 65536 && HAK_CHUNK / HAK_TINY_MAXREQ < 65536, "remote count overflows");
_Static_assert(HAK_VA_BITS <= HAK_REMOTE_SHIFT, "remote count overlaps pointer bits");
/* the remote link (heap.c) lies inside the usable bytes of the smallest slot:
 * HAK_ALIGN is the smallest stride, its last byte the next slot's tag */
_Static_assert(HAK_RLINK_OFF >= sizeof(hak_free_t) && HAK_RLINK_OFF + 4 <= HAK_ALIGN - 1,
               "remote link outside the smallest slot");

/* Units of a span for class c: tiny classes one unit; mid classes enough
 * for 8 blocks (4 above 16 KiB), choosing among three lengths the one that
 * wastes the smallest fraction of its bytes. */
static unsigned span_units(unsigned c)
{
    if (hak_class_is_tiny(c)) return 1;
    size_t stride = hak_class_stride[c];
    size_t want = stride <= 16400 ? 8 : 4;
    unsigned k;
    /* the largest classes hold fewer blocks: a span must fit in a chunk */
    while ((k = (unsigned)((want * stride + HAK_FIRST + HAK_SLAB - 1) / HAK_SLAB)) > HAK_NSLAB - 1 && want > 1)
        want--;
    unsigned best = k;
    size_t best_waste = SIZE_MAX;
    for (unsigned t = k; t < k + 3 && t < HAK_NSLAB; t++) {
        size_t bytes = (size_t)t * HAK_SLAB - HAK_FIRST;
        size_t waste = (bytes % stride) * 1024 / bytes;
        if (waste < best_waste) { best_waste = waste; best = t; }
    }
    return best;
}

/* first run of k free units in mask, or 0 (unit 0 is the descriptor).
 * Bit u of m ends up set iff units u..u+k-1 are all in mask: k - 1 shifts
 * and ands instead of a scan of every start (slab_new runs it on every
 * chunk; the scan was 8 % of rptest's instructions).  The shifts bring in
 * zeroes, so no run reaches past unit HAK_NSLAB - 1. */
static unsigned find_run(uint32_t mask, unsigned k)
{
    uint32_t m = mask & ~1u;   /* k <= 31: spans never cover unit 0 */
    for (unsigned i = 1; i < k && m != 0; i++)
        m &= mask >> i;
    return m != 0 ? (unsigned)__builtin_ctz(m) : 0;
}

static hak_chunk_t *chunk_new(void)
{
    hak_chunk_t *c = arena_take();
    bool arena = c != NULL;
    if (!arena) c = os_map(HAK_CHUNK, HAK_CHUNK);
    if (!c) return NULL;
    c->kind = HAK_CHUNK_SLABS;
    c->free_units = ALL_UNITS;
    for (unsigned u = 0; u < HAK_NSLAB; u++) {
        c->unit[u].stride = HAK_ALIGN;   /* never 0: the grid test needs stride > 0 */
        c->unit[u].recip = hak_grid_recip(HAK_ALIGN);   /* and recip of its stride (chunk_map.h) */
        c->unit[u].head = (uint8_t)u;
    }
    /* ASan: all of the chunk but its descriptor is off limits until carved */
    HAK_POISON((char *)c + HAK_SLAB, HAK_CHUNK - HAK_SLAB);
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_NOACCESS((char *)c + HAK_SLAB, HAK_CHUNK - HAK_SLAB);
    c->next = chunks;
    chunks = c;
    cmap_set((uintptr_t)c, HAK_CHUNK, c);
    if (arena) arena_publish(c);
    HAK_LSAN_ROOT(c, HAK_CHUNK);
    return c;
}

hak_slab_t *slab_new(unsigned cls, hak_heap_t *h)
{
    unsigned k = span_units(cls);
    huge_tick();   /* the huge cache decays on slab paths too (a test and a clock read) */
    hak_lock();
    hak_chunk_t *c;
    unsigned u = 0;
    /* dirty units first: their pages are still resident, so reusing them
     * costs no page faults and keeps them from being purged for nothing */
    for (c = chunks; c; c = c->next)
        if ((u = find_run(c->free_units & c->dirty_units, k)) != 0) break;
    if (!c)
        for (c = chunks; c; c = c->next)
            if ((u = find_run(c->free_units, k)) != 0) break;
    if (!c) {
        c = chunk_new();
        if (!c) { hak_unlock(); return NULL; }
        u = 1;
    }
    uint32_t bits = ((1u << k) - 1u) << u;
    uint32_t was_dirty = (uint32_t)__builtin_popcount(c->dirty_units & bits);
    dirty_bytes -= (size_t)was_dirty * HAK_SLAB < dirty_bytes ? (size_t)was_dirty * HAK_SLAB : dirty_bytes;
    c->dirty_units &= ~bits;
    c->free_units &= ~bits;
    if (dirty_bytes) purge_maybe_locked(os_now_ms());   /* the decay also runs when nothing is released */
    commit_add_locked((int64_t)k * HAK_SLAB);
    /* the descriptors are written under the lock too, so a fork() never
     * sees a unit that is taken but not yet described */

    hak_slab_t *s = &c->slab[u];
    uint32_t stride = hak_class_stride[cls];
    uint64_t recip = hak_grid_recip(stride);   /* proved (types.h); assumed by cmap_lookup */
    uint32_t first = u * HAK_SLAB + HAK_FIRST;
    uint32_t cap = (k * HAK_SLAB - HAK_FIRST) / stride;
    uintptr_t start = (uintptr_t)c + first;
    uint64_t key = hak_key(start);
    uint8_t kind = hak_class_is_tiny(cls) ? HAK_SLAB_TINY : HAK_SLAB_MID;
    uint8_t cookie = (uint8_t)(1u + key % HAK_COOKIE_MAX);   /* 1..HAK_COOKIE_MAX: no state encodes to 0 (tag.h) */
    s->free = NULL;
    s->left = 0;
    s->low_water = 0;
    s->where = HAK_IN_NONE;
    /* read without the lock by a remote free racing a stale pointer */
    HAK_STORE_RELAXED(s->kind, kind);
    HAK_STORE_RELAXED(s->cls, (uint8_t)cls);
    HAK_STORE_RELAXED(s->cookie, cookie);
    HAK_STORE_RELAXED(s->key, (uintptr_t)(key * 0x9e3779b97f4a7c15ull) | 1u);
    s->start = start;
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_UNDEFINED(&s->start, sizeof s->start);   /* hidden from the leak scan */
    s->span = (uintptr_t)cap * stride;
    /* owned before the lock is dropped: hak_heap_check (under the lock)
     * must never take a slab its owner is already carving for abandoned */
    atomic_store_explicit(&s->owner, h, memory_order_relaxed);
    atomic_store_explicit(&s->remote, 0, memory_order_relaxed);
    atomic_store_explicit(&s->orphan_left, HAK_NOT_ORPHAN, memory_order_relaxed);
    atomic_store_explicit(&s->full, 0, memory_order_relaxed);
    s->head = (uint8_t)u;
    s->nunits = (uint8_t)k;
    s->capacity = cap;
    s->bumped = 0;
    s->stride = stride;
    s->recip = (uint32_t)recip;   /* stride >= 16: recip <= 2^28 */
    s->first = first;
    s->in_idle = 0;
    s->idle_ms = 0;
    s->next = s->prev = NULL;
    /* grid fields first, kind last (released): a racing classifier of a
     * stale pointer sees either UNUSED or a complete grid */
    for (unsigned i = u; i < u + k; i++) {
        hak_unit_t *x = &c->unit[i];
        x->first = first;
        x->end = first;              /* nothing carved yet: nothing on the grid */
        x->stride = stride;
        x->recip = recip;
        x->cookie = cookie;
        x->cls = (uint8_t)cls;
        x->head = (uint8_t)u;
        x->slab = s;
    }
    for (unsigned i = u; i < u + k; i++)
        __atomic_store_n(&c->unit[i].kind, kind, __ATOMIC_RELEASE);
    hak_unlock();
    return s;
}

#define PURGE_CAP ((size_t)16 << 20)

/* Dirty bytes kept before the least recently released are purged:
 * HAKMEM_PURGE_KB, or a sixteenth of what is in use (at most 16 MiB) when
 * that is more.  The pool only absorbs the churn of spans released and
 * taken again within moments (the decay does not matter there: glibc-thread
 * reuses its dirty units within milliseconds), and every byte of it counts
 * in peak RSS.  A quarter (chosen when Mid blocks went to 1 MiB and
 * realloc growth churned their spans) held glibc-thread-like
 * `glibc_bench thread 1 20000000 1000 42` at 11.9 MB peak RSS against
 * glibc's 7.1; a sixteenth holds 8.1 MB for 4.6k -> 21k page faults and
 * 5-7 % of its throughput (larson, mixed, memheavy, rptest unchanged).
 * Caller holds the lock. */
static size_t purge_limit(void)
{
    size_t share = (size_t)(committed / 16);
    if (share > PURGE_CAP) share = PURGE_CAP;
    return share > hak_opt.purge_bytes ? share : hak_opt.purge_bytes;
}

static uint32_t purge_ms;   /* last time-based purge pass (lock) */

static uint32_t release_seq;   /* units released so far (lock): dirty_seq's clock */

/* Purge the free units that have been dirty for at least min_age ms and
 * were released before sequence number before_seq (recently released ones
 * are the likeliest to be taken again, and taking them back costs no page
 * faults).  Lock held. */
static void purge_older_locked(uint32_t now, uint32_t min_age, uint32_t before_seq)
{
    for (hak_chunk_t *c = chunks; c; c = c->next) {
        uint32_t dirty = c->free_units & c->dirty_units, old = 0;
        for (unsigned u = 1; u < HAK_NSLAB; u++)
            if (((dirty >> u) & 1u) && now - c->dirty_ms[u] >= min_age &&
                (int32_t)(c->dirty_seq[u] - before_seq) < 0)
                old |= 1u << u;
        c->dirty_units &= ~old;
        size_t n = (size_t)__builtin_popcount(old) * HAK_SLAB;
        dirty_bytes -= n < dirty_bytes ? n : dirty_bytes;
        unsigned u = 1;
        while (u < HAK_NSLAB) {
            if (!((old >> u) & 1u)) { u++; continue; }
            unsigned v = u;
            while (v < HAK_NSLAB && ((old >> v) & 1u)) v++;
            os_purge((char *)c + (size_t)u * HAK_SLAB, (size_t)(v - u) * HAK_SLAB);
            u = v;
        }
    }
}

static void purge_locked(bool all, uint32_t now)
{
    purge_older_locked(now, all ? 0 : hak_opt.decay_ms, release_seq + 1);
    if (all) dirty_bytes = 0;
    purge_ms = now;
}

/* Every half delay, what has been dirty for a whole delay goes.  Above the
 * byte limit, the least recently released go until half the limit is left:
 * a heap that churns big spans keeps its most recent ones resident.
 * Lock held. */
static void purge_maybe_locked(uint32_t now)
{
    size_t limit = purge_limit();
    if (dirty_bytes > limit) {
        uint32_t keep_units = (uint32_t)(limit / 2 / HAK_SLAB);
        purge_older_locked(now, 0, release_seq + 1 - keep_units);
        purge_ms = now;
    } else if (dirty_bytes > 0 && now - purge_ms >= hak_opt.decay_ms / 2)
        purge_locked(false, now);
}

/* A released span keeps its bytes until it is purged, and the next slab
 * carved from it, of any class, hands them out inside its blocks.  Clear
 * what would give a key away there: every slot's free-list link (keyed by
 * the span's start, so the next slab's key too) and every mid header (its
 * check word is hak_key of a known address).  All slots are free here
 * (used == 0), and no one else touches an empty slab's slots. */
static void slab_scrub(const hak_slab_t *s)
{
    uintptr_t start = hak_slab_start(s);
    int mid = s->kind == HAK_SLAB_MID;
    for (uint32_t i = 0; i < s->bumped; i++) {
        unsigned char *p = (unsigned char *)(start + (uintptr_t)i * s->stride);
        hak_link_store(p, 0, HAK_TOOLS_RT);
        if (mid) hak_hdr_store(p, 0, 0, 0, HAK_TOOLS_RT);
    }
}


/* Caller holds the lock.  where goes back to NONE: a stale descriptor (this
 * one, or a non-head one after its units join another span) never reads
 * ABANDONED, which slab_orphan_settle relies on. */
static void release_locked(hak_slab_t *s)
{
    hak_chunk_t *c = (hak_chunk_t *)((uintptr_t)s - (uintptr_t)s % HAK_CHUNK);
    unsigned u = s->head, k = s->nunits;
    slab_scrub(s);
    HAK_POISON((char *)c + (size_t)u * HAK_SLAB, (size_t)k * HAK_SLAB);
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_NOACCESS((char *)c + (size_t)u * HAK_SLAB, (size_t)k * HAK_SLAB);
    s->where = HAK_IN_NONE;
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->orphan_left, HAK_NOT_ORPHAN, memory_order_relaxed);
    for (unsigned i = u; i < u + k; i++)
        __atomic_store_n(&c->unit[i].kind, HAK_SLAB_UNUSED, __ATOMIC_RELEASE);
    c->free_units |= ((1u << k) - 1u) << u;
    c->dirty_units |= ((1u << k) - 1u) << u;
    uint32_t now = (uint32_t)os_now_ms();   /* differences mod 2^32 */
    for (unsigned i = u; i < u + k; i++) {
        c->dirty_ms[i] = now;
        c->dirty_seq[i] = ++release_seq;
    }
    commit_add_locked(-(int64_t)k * HAK_SLAB);
    dirty_bytes += (size_t)k * HAK_SLAB;
    purge_maybe_locked(now);
}

void slab_release(hak_slab_t *s)
{
    huge_tick();   /* the huge cache decays on slab paths too; it takes the lock itself */
    hak_lock();
    release_locked(s);
    hak_unlock();
}

static void abandoned_unlink(hak_slab_t *s)
{
    if (s->prev) s->prev->next = s->next; else __atomic_store_n(&abandoned[s->cls], s->next, __ATOMIC_RELAXED);
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->where = HAK_IN_NONE;
}

/* An abandoned slab with no owner: the lock stands in for one.  Drain its
 * remote list; release it if nothing is out any more; otherwise publish how
 * many blocks are out (orphan_left), so that the remote free which brings
 * the remote count up to that number comes back here.  The store and the
 * re-read of the remote word pair with the freer's CAS-then-load (heap.c):
 * if the freer of the last block read a stale orphan_left, this re-read
 * sees its push, and the loop drains it.  Caller holds the lock. */
static void settle_locked(hak_slab_t *s)
{
    for (;;) {
        heap_collect_remote(s);
        uint32_t used = hak_slab_used(s);
        if (used == 0) {
            abandoned_unlink(s);
            release_locked(s);
            return;
        }
        atomic_store_explicit(&s->orphan_left, used, memory_order_seq_cst);
        if (hak_remote_cnt(atomic_load_explicit(&s->remote, memory_order_seq_cst)) != used) return;
    }
}

/* Park a slab whose owner thread exited (its own lists drained; the owner
 * is cleared here, under the lock): on the abandoned list of its class for a live heap to adopt, or
 * straight back if every block came home meanwhile. */
void slab_abandon(hak_slab_t *s)
{
    hak_lock();
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    s->where = HAK_IN_ABANDONED;
    s->prev = NULL;
    s->next = abandoned[s->cls];
    if (s->next) s->next->prev = s;
    __atomic_store_n(&abandoned[s->cls], s, __ATOMIC_RELAXED);
    settle_locked(s);
    hak_unlock();
}

/* A remote free brought an abandoned slab's remote count up to orphan_left.
 * s may be stale by now (adopted, released, reused): only a head descriptor
 * that is still ABANDONED and ownerless is settled (settling is idempotent,
 * so a stale match costs one lock and nothing else). */
void slab_orphan_settle(hak_slab_t *s)
{
    hak_chunk_t *c = (hak_chunk_t *)((uintptr_t)s - (uintptr_t)s % HAK_CHUNK);
    hak_lock();
    unsigned u = (unsigned)(s - c->slab);
    /* owner before where: an adopter sets the owner under the lock but
     * writes `where` after it (avail_push), so `where` is ours to read only
     * once the slab is seen ownerless under the lock */
    if (u < HAK_NSLAB && !((c->free_units >> u) & 1u) && c->unit[u].head == u &&
        atomic_load_explicit(&s->owner, memory_order_relaxed) == NULL && s->where == HAK_IN_ABANDONED)
        settle_locked(s);
    hak_unlock();
}

hak_slab_t *slab_adopt(unsigned cls, hak_heap_t *h)
{
    if (__atomic_load_n(&abandoned[cls], __ATOMIC_RELAXED) == NULL) return NULL;
    hak_lock();
    hak_slab_t *s = abandoned[cls];
    if (s) {
        abandoned_unlink(s);
        atomic_store_explicit(&s->orphan_left, HAK_NOT_ORPHAN, memory_order_relaxed);
        atomic_store_explicit(&s->owner, h, memory_order_release);
    }
    hak_unlock();
    return s;
}

/* Return memory: abandoned slabs whose blocks all came back are released,
 * then every dirty free unit is purged. */
int slab_purge(bool all)
{
    hak_lock();
    size_t before = dirty_bytes;
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *s = abandoned[c];
        while (s) {
            hak_slab_t *nx = s->next;
            settle_locked(s);   /* no owner: under the lock we may drain its remote list */
            s = nx;
        }
    }
    int released = dirty_bytes > 0 || before > 0;
    if (all) purge_locked(true, os_now_ms());
    else purge_maybe_locked(os_now_ms());
    hak_unlock();
    return released;
}

/* Blocks in use per class, counted from the slabs: a block is out of its
 * slab's local list (used) and not waiting on its remote list.  No counter
 * on the fast paths (issue 11).  Other threads' slabs move meanwhile: exact
 * for quiescent heaps, a snapshot otherwise. */
void slab_live(uint64_t live[HAK_NCLASS])
{
    for (unsigned c = 0; c < HAK_NCLASS; c++) live[c] = 0;
    hak_lock();
    for (hak_chunk_t *c = chunks; c; c = c->next) {
        for (unsigned u = 1; u < HAK_NSLAB; u++) {
            const hak_unit_t *x = &c->unit[u];
            if (x->kind == HAK_SLAB_UNUSED || x->head != u) continue;
            const hak_slab_t *s = &c->slab[u];
            uint32_t used = (uint32_t)(HAK_LOAD_RELAXED(s->left) + (int32_t)HAK_LOAD_RELAXED(s->low_water));
            uint32_t rc = hak_remote_cnt(atomic_load_explicit(&s->remote, memory_order_relaxed));
            if (used > rc) live[s->cls] += used - rc;
        }
    }
    hak_unlock();
}

void slab_stats(uint64_t *cm, uint64_t *pk)
{
    hak_lock();
    *cm = committed;
    *pk = peak;
    hak_unlock();
}

/* Walk slab s's local list (remote == 0) or remote list: every link lands
 * on a carved slot of the slab whose tag/header says FREE (local) or REMOTE.
 * Returns its length, or -1 when something is off. */
__attribute__((no_sanitize("address"))) static long check_list(const hak_slab_t *s, uintptr_t head, int remote)
{
    long n = 0;
    uintptr_t start = hak_slab_start(s);
    unsigned want = remote ? HAK_ST_REMOTE : HAK_ST_FREE;
    for (uintptr_t b = head; b != 0; n++) {
        if (n > (long)s->capacity) return -1;                   /* a loop */
        if (b - start >= s->span) return -1;                     /* outside the slab */
        uintptr_t i = (b - start) / s->stride;
        if ((b - start) % s->stride != 0 || i >= s->bumped) return -1;
        const unsigned char *p = (const unsigned char *)b;
        if (s->kind == HAK_SLAB_TINY) {
            if (hak_tag_state(p[-1], s->cookie) != want) return -1;
        } else {
            const hak_mid_hdr_t *h = (const hak_mid_hdr_t *)(const void *)(p - HAK_MID_HDR);
            if (h->magic != HAK_MID_MAGIC || hak_hdr_state(h->check, hak_key(b)) != want) return -1;
        }
        if (remote) {
            uint32_t r = *(const uint32_t *)(const void *)(p + HAK_RLINK_OFF) ^ (uint32_t)(s->key >> 32);
            b = r ? start + r - 1u : 0;
        } else {
            b = ((const hak_free_t *)p)->next_enc ^ s->key ^ b;
        }
    }
    return n;
}

/* Invariants of every slab chunk (used by tests and fuzzers).  The free
 * lists are walked for the slabs nobody else may touch meanwhile: the
 * caller's own and the abandoned ones (claims take the lock we hold). */
int slab_check_all(void)
{
    int bad = 0;
    /* the walk reads free slots, which Memcheck knows as freed */
    if (HAK_TOOLS_RT) VALGRIND_DISABLE_ERROR_REPORTING;
    hak_lock();
    for (hak_chunk_t *c = chunks; c && !bad; c = c->next) {
        if (c->kind != HAK_CHUNK_SLABS || (c->free_units & 1u)) bad = -1;
        if (atomic_load(&hak_cmap[(uintptr_t)c / HAK_CHUNK]) != c) bad = -2;
        for (unsigned u = 1; u < HAK_NSLAB && !bad; u++) {
            hak_unit_t *x = &c->unit[u];
            int isfree = (c->free_units >> u) & 1u;
            if (isfree != (x->kind == HAK_SLAB_UNUSED)) { bad = -3; break; }
            if (x->stride == 0 || x->recip != hak_grid_recip(x->stride)) { bad = -4; break; }
            if (isfree || x->head != u) continue;
            hak_slab_t *s = &c->slab[u];
            /* a forked child's orphaned heaps may have been mid-update: skip them */
            hak_heap_t *o = atomic_load_explicit(&s->owner, memory_order_relaxed);
            if (o && o->state == HAK_HEAP_ORPHAN) continue;
            if (s->nunits == 0 || u + s->nunits > HAK_NSLAB || s->head != u || x->slab != s) { bad = -4; break; }
            /* counters and lists: only where nobody else may write meanwhile (the
             * caller's slabs, and abandoned ones, which need the lock we hold);
             * another live thread's are moving, and reading them would race */
            bool mine = o == NULL || o == hak_tl_own;
            if (mine && (s->bumped > s->capacity || hak_slab_used(s) > s->bumped)) { bad = -5; break; }
            if ((mine && hak_unit_end(x) != s->first + s->bumped * s->stride) || x->first != s->first) { bad = -6; break; }
            if (s->stride != hak_class_stride[s->cls] || x->cls != s->cls || x->kind != s->kind ||
                x->cookie != s->cookie || s->recip != x->recip) { bad = -7; break; }
            if (mine) {
                long nf = check_list(s, (uintptr_t)s->free, 0);
                uintptr_t rw = atomic_load_explicit(&s->remote, memory_order_acquire);
                long nr = check_list(s, (uintptr_t)hak_remote_ptr(rw), 1);
                if (nf < 0 || nr < 0 || (uint32_t)nr != hak_remote_cnt(rw)) { bad = -9; break; }
                if (hak_slab_used(s) + (uint64_t)nf != s->bumped || (uint64_t)nr > hak_slab_used(s)) {
                    bad = -10;
                    break;
                }
            }
            for (unsigned i = u + 1; i < u + s->nunits; i++) {
                hak_unit_t *y = &c->unit[i];
                if (y->head != u || hak_unit_end(y) != hak_unit_end(x) || y->stride != x->stride ||
                    y->recip != x->recip || y->first != x->first ||
                    y->kind != x->kind || y->slab != s)
                    bad = -8;
            }
        }
    }
    hak_unlock();
    if (HAK_TOOLS_RT) VALGRIND_ENABLE_ERROR_REPORTING;
    return bad;
}
