/* huge.c: blocks above HAKMEM_MID_MAX, each a chunk-aligned mapping of its
 * own (DESIGN.md 2), and the cache of freed huge pages (issue 10).
 *
 * A live block at base c (aligned to HAK_CHUNK, or to a larger requested
 * alignment), len = map_len, uoff = huge_uoff:
 *   [c, c+uoff)          descriptor region: the hak_chunk_t at c, then unused
 *   [c+uoff, c+len)      the user's bytes (huge_size = len - uoff)
 *   [c+len, c+len+page)  guard page, PROT_NONE: a write past the usable end faults
 * The chunk map covers [c, c+len); committed counts len.
 *
 * free: the user pages move (mremap, no copy) to a private address where
 * they wait in the cache, and the user range becomes PROT_NONE address space
 * (a "hole"), so a use after free faults at once.  The descriptor region and
 * the hole stay ours while the block is in the ring of the last RING freed
 * blocks: a thread that read the chunk map just before the free reads the
 * descriptor (its state says FREE), never an unmapped page; a second free of
 * the pointer reads DOUBLE; and no new mapping can appear at the freed
 * address, so a stale pointer keeps faulting even after its pages were
 * reused.  (Moving the pages costs a page-table move; mprotect-ing them in
 * place would cost a change of every page table entry, ten times more.)
 * malloc: a fresh reservation whose user range is filled with cached pages
 * moved there (no page faults for those), and a guard page.
 * realloc: shrinks in place (the tail joins the cache), grows in place when
 * the address space above is free, else moves the pages; the old descriptor
 * and a hole go to the ring as for a free.
 *
 * The cache holds at most a quarter of the memory in use (but 32 MiB even
 * when little is in use) and never more than HAKMEM_HUGE_CACHE_KB; pages
 * unused for HAKMEM_HUGE_DECAY_MS are unmapped, checked lazily by every huge
 * call, by slab creation and release (huge_tick) and by malloc_trim.  Cached
 * bytes are not live, but they are held from the OS: they count in
 * committed (hak_stats), as the descriptor pages in the ring do not.
 *
 * Bookkeeping is under the global lock, system calls outside it, except a
 * move of a live block's pages on a kernel that unmaps the source as it
 * moves: then no other thread may map and register a block in the vacated
 * range before its chunk-map entries are cleared. */
#include <errno.h>
#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"
#include "tag.h"

#define RING 64
/* Recently freed huge blocks: their user pointers (a second free of one reads
 * DOUBLE) and the address range each keeps (descriptor region, and the hole
 * and old guard when there is one), unmapped when the entry is evicted. */
static _Atomic uintptr_t ring[RING];
static uintptr_t ring_desc[RING];                   /* global lock */
static size_t ring_dlen[RING];                      /* global lock */
static unsigned ring_pos;                           /* global lock */
static uint64_t live_bytes, live_blocks, nallocs;   /* global lock */

/* ---- the cache: runs of parked pages, oldest first (global lock) ---- */
#define POOL_MAX   64                    /* runs; more evict the oldest */
#define PIECES_MAX 4                     /* runs one new block is filled from */
#define MIN_RUN    ((size_t)64 << 10)    /* smaller runs are not worth a system call later */
#define BUDGET_FLOOR ((size_t)32 << 20)  /* budget however little is in use */
#define BUDGET_SHARE 4                   /* budget: in-use bytes / BUDGET_SHARE */

typedef struct run { uintptr_t addr; size_t len; uint64_t born; } run_t;
static run_t pool[POOL_MAX];
static unsigned npool;
static size_t pool_bytes;
static _Atomic uint64_t pool_due = UINT64_MAX;   /* ms when the oldest run expires */

/* Runs and descriptor regions to unmap once the lock is dropped. */
typedef struct spill { run_t r[POOL_MAX + PIECES_MAX + 4]; unsigned n; } spill_t;

static size_t page_up(size_t n) { return (n + HAK_PAGE - 1) / HAK_PAGE * HAK_PAGE; }

/* Unmapped memory keeps no ASan poison: whoever maps it next starts clean. */
static void unmap_clean(uintptr_t a, size_t len)
{
    HAK_UNPOISON((void *)a, len);
    os_unmap((void *)a, len);
}

static void spill_add(spill_t *s, uintptr_t a, size_t len)
{
    if (len == 0) return;
    if (s->n < sizeof s->r / sizeof s->r[0]) s->r[s->n++] = (run_t){ a, len, 0 };
    else unmap_clean(a, len);   /* cannot happen by the sizes above; correct anyway */
}

static void spill_release(spill_t *s)
{
    for (unsigned i = 0; i < s->n; i++) unmap_clean(s->r[i].addr, s->r[i].len);
    s->n = 0;
}

static void pool_due_update_locked(void)
{
    atomic_store_explicit(&pool_due, npool ? pool[0].born + hak_opt.huge_decay_ms : UINT64_MAX,
                          memory_order_relaxed);
}

static void pool_remove_locked(unsigned i)
{
    pool_bytes -= pool[i].len;
    commit_add_locked(-(int64_t)pool[i].len);
    memmove(&pool[i], &pool[i + 1], (npool - i - 1) * sizeof pool[0]);
    npool--;
}

/* What the cache may hold now: a share of the bytes in use, with a floor and
 * the cap; nothing when the cap is 0. */
static size_t budget_locked(void)
{
    size_t cap = hak_opt.huge_cache_bytes;
    uint64_t held = commit_locked();
    uint64_t in_use = held > pool_bytes ? held - pool_bytes : 0;
    size_t b = (size_t)(in_use / BUDGET_SHARE);
    size_t floor = cap < BUDGET_FLOOR ? cap : BUDGET_FLOOR;
    if (b < floor) b = floor;
    return b < cap ? b : cap;
}

static void pool_expire_locked(uint64_t now, spill_t *s)
{
    while (npool && pool[0].born + hak_opt.huge_decay_ms <= now) {
        spill_add(s, pool[0].addr, pool[0].len);
        pool_remove_locked(0);
    }
    pool_due_update_locked();
}

/* Cache the run [a, a+len) (parked), evicting the oldest runs to
 * stay within the budget; a run the budget cannot hold is spilled. */
static void pool_put_locked(uintptr_t a, size_t len, uint64_t now, spill_t *s)
{
    size_t b = budget_locked();
    if (len < MIN_RUN || len > b) { spill_add(s, a, len); return; }
    while (npool && (pool_bytes + len > b || npool == POOL_MAX)) {
        spill_add(s, pool[0].addr, pool[0].len);
        pool_remove_locked(0);
    }
    pool[npool++] = (run_t){ a, len, now };
    pool_bytes += len;
    commit_add_locked((int64_t)len);
    pool_due_update_locked();
}

/* Take up to need bytes of cached pages, in at most PIECES_MAX pieces: the
 * smallest run that covers what is left (its tail stays cached), else the
 * largest run whole.  The pieces leave the cache (and committed). */
static unsigned pool_take_locked(size_t need, run_t *pc, spill_t *s)
{
    unsigned np = 0;
    if (need < MIN_RUN) return 0;   /* a fresh page or two is cheaper than splitting a run */
    while (need && npool && np < PIECES_MAX) {
        unsigned best = POOL_MAX, big = 0;
        for (unsigned i = 0; i < npool; i++) {
            if (pool[i].len >= need && (best == POOL_MAX || pool[i].len < pool[best].len)) best = i;
            if (pool[i].len > pool[big].len) big = i;
        }
        if (best == POOL_MAX) {
            pc[np++] = pool[big];
            need -= pool[big].len;
            pool_remove_locked(big);
            continue;
        }
        run_t *r = &pool[best];
        pc[np++] = (run_t){ r->addr, need, 0 };
        size_t left = r->len - need;
        if (left >= MIN_RUN) {
            r->addr += need;
            r->len = left;
            pool_bytes -= need;
            commit_add_locked(-(int64_t)need);
        } else {
            spill_add(s, r->addr + need, left);
            pool_remove_locked(best);
        }
        need = 0;
    }
    pool_due_update_locked();
    return np;
}

/* Move the pieces to [dst, ...) back to back; returns the bytes placed.  A
 * piece the kernel will not move (older kernels refuse a range that spans
 * several mappings) is unmapped instead. */
static size_t pool_place(const run_t *pc, unsigned np, uintptr_t dst)
{
    size_t done = 0;
    for (unsigned i = 0; i < np; i++) {
        if (os_move((void *)pc[i].addr, pc[i].len, (void *)(dst + done), 0) >= 0) done += pc[i].len;
        else os_unmap((void *)pc[i].addr, pc[i].len);
    }
    return done;
}

/* Fill [dst, dst+need) with cached pages as far as there are any (the rest
 * stays as it is, fresh); returns the bytes filled. */
static size_t fill_from_cache(uintptr_t dst, size_t need)
{
    run_t pc[PIECES_MAX];
    spill_t s;
    s.n = 0;
    hak_lock();
    pool_expire_locked(os_now_ms(), &s);
    unsigned np = pool_take_locked(need, pc, &s);
    hak_unlock();
    size_t filled = pool_place(pc, np, dst);
    spill_release(&s);
    return filled;
}

/* Move the pages of [a, a+len) (ours, no longer in the chunk map) to a
 * fresh private address, whose phase modulo a chunk is a's so that whole
 * page tables move.  The address of the parked pages, or 0 with [a, a+len)
 * as it was.  On success *hole says whether [a, a+len) is now PROT_NONE
 * address space of ours (1) or unmapped, maybe mapped by someone else
 * already (0). */
static uintptr_t park(uintptr_t a, size_t len, int *hole)
{
    char *p = os_reserve(len, HAK_CHUNK, a % HAK_CHUNK, 0);
    if (!p) return 0;
    if (os_move((void *)a, len, p, 1) == 1) {        /* the source is still ours, empty */
        *hole = os_hole((void *)a, len) == 0;
        if (!*hole) unmap_clean(a, len);
    } else if (HAK_UNPOISON((void *)a, len), os_move((void *)a, len, p, 0) == 0) {
        /* the source went with the move (its ASan shadow cleaned first, while
         * the range was ours): take it back if nobody has */
        *hole = os_hole_at((void *)a, len) == 0;
    } else {
        os_unmap(p, len);
        return 0;
    }
    return (uintptr_t)p;
}

static void ring_push_locked(uintptr_t user, uintptr_t desc, size_t dlen, spill_t *s)
{
    unsigned i = ring_pos++ % RING;
    spill_add(s, ring_desc[i], ring_dlen[i]);
    ring_desc[i] = desc;
    ring_dlen[i] = dlen;
    atomic_store_explicit(&ring[i], user, memory_order_relaxed);
}

/* The tools are told the guard page is off limits, so they name an overflow
 * into it before the fault (Memcheck does not follow mprotect). */
static void guard_mark(uintptr_t g)
{
    HAK_POISON((void *)g, HAK_PAGE);
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_NOACCESS((void *)g, HAK_PAGE);
}

/* Under the tools the descriptor region is hakmem's own, defined memory,
 * whatever Memcheck made of the PROT_NONE reservation it was carved from. */
static void desc_write(hak_chunk_t *d, size_t uoff, size_t len)
{
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_DEFINED(d, sizeof *d);
    uintptr_t user = (uintptr_t)d + uoff;
    d->kind = HAK_CHUNK_HUGE;
    d->huge_uoff = uoff;
    d->huge_size = len - uoff;
    d->map_len = len;
    d->huge_check = hak_hdr_check(hak_key(user), HAK_ST_ALLOC);
}

void *huge_alloc(size_t n, size_t align, int zero)
{
    size_t uoff = align > HAK_HUGE_UOFF ? align : HAK_HUGE_UOFF;
    size_t maxalign = align > HAK_CHUNK ? align : HAK_CHUNK;
    if (n > PTRDIFF_MAX - uoff - maxalign - 2 * HAK_PAGE) { errno = ENOMEM; return NULL; }
    /* at least one byte, so that even malloc-size 0 leaves the user pointer inside the mapping */
    size_t len = page_up(uoff + (n ? n : 1)), size = len - uoff;
    char *c = os_reserve(len + HAK_PAGE, maxalign, 0, 1);
    if (!c) { errno = ENOMEM; return NULL; }
    if (os_protect(c + len, HAK_PAGE, 0) != 0) {
        os_unmap(c, len + HAK_PAGE);
        errno = ENOMEM;
        return NULL;
    }
    guard_mark((uintptr_t)c + len);
    size_t filled = fill_from_cache((uintptr_t)c + uoff, size);
    hak_chunk_t *d = (hak_chunk_t *)(void *)c;
    desc_write(d, uoff, len);
    hak_lock();
    cmap_set((uintptr_t)c, len, d);
    commit_add_locked((int64_t)len);
    live_bytes += size;
    live_blocks++;
    nallocs++;
    hak_unlock();
    HAK_LSAN_ROOT(c, len);
    void *user = c + uoff;
    /* fresh pages are zero in fact, but malloc's contents are indeterminate:
     * Memcheck must flag a read before a write (hak_calloc marks them defined) */
    hak_san_alloc(user, size, 0);
    if (zero && filled) {                 /* recycled pages are dirty */
        size_t z = filled < n ? filled : n;
        /* under the tools the block is still closed here (tool.c opens it) */
        if (HAK_TOOLS_ON) hak_san_internal(user, z);
        memset(user, 0, z);
        if (HAK_TOOLS_ON) hak_san_internal_done(user, z);
    }
    return user;
}

/* Free the huge block c describes.  The state word is claimed with a
 * compare-and-swap first: of two racing frees only one touches anything. */
hak_free_status huge_free(hak_chunk_t *c)
{
    uintptr_t base = (uintptr_t)c, user = base + c->huge_uoff;
    uint64_t k = hak_key(user), want = hak_hdr_check(k, HAK_ST_ALLOC);
    if (!__atomic_compare_exchange_n(&c->huge_check, &want, hak_hdr_check(k, HAK_ST_FREE), 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return HAK_FREE_DOUBLE;
    size_t uoff = c->huge_uoff, len = c->map_len, size = c->huge_size;
    hak_san_free((void *)user, size);
    spill_t s;
    s.n = 0;
    /* out of the chunk map first: the range is still ours, so no block can
     * appear there and be registered before this clears its entries */
    hak_lock();
    cmap_clear(base, len);
    HAK_LSAN_UNROOT(c, len);
    commit_add_locked(-(int64_t)len);
    live_bytes -= size;
    live_blocks--;
    hak_unlock();
    int hole = 0;
    uintptr_t parked = 0;
    if (size >= MIN_RUN && size <= hak_opt.huge_cache_bytes) parked = park(user, size, &hole);
    if (!parked) {           /* not cached: the pages go, the address space stays */
        hole = os_hole((void *)user, size) == 0;
        if (!hole) unmap_clean(user, size);
    }
    hak_lock();
    if (hole) {
        ring_push_locked(user, base, len + HAK_PAGE, &s);   /* descriptor, hole and guard */
    } else {
        ring_push_locked(user, base, uoff, &s);
        spill_add(&s, base + len, HAK_PAGE);                 /* the guard alone */
    }
    uint64_t now = os_now_ms();
    pool_expire_locked(now, &s);
    if (parked) pool_put_locked(parked, size, now, &s);
    hak_unlock();
    spill_release(&s);
    return HAK_FREE_OK;
}

bool huge_recently_freed(uintptr_t a)
{
    for (unsigned i = 0; i < RING; i++)
        if (atomic_load_explicit(&ring[i], memory_order_relaxed) == a) return true;
    return false;
}

/* ---- realloc: the caller holds the block's claim (state FREE) ---- */

/* The page at base+len becomes the new guard; the pages after it join the
 * cache, and the range they leave, with the old guard, is unmapped.  Keeps
 * the block as it is if the kernel says no. */
static void shrink_here(hak_chunk_t *c, size_t len)
{
    uintptr_t base = (uintptr_t)c;
    size_t uoff = c->huge_uoff, old = c->map_len, oldsize = c->huge_size, size = len - uoff;
    if (os_hole((void *)(base + len), HAK_PAGE) != 0) return;
    hak_san_resize((void *)(base + uoff), oldsize, size);
    guard_mark(base + len);
    spill_t s;
    s.n = 0;
    /* readers see the smaller block, and no chunk beyond it names it any
     * more, before the range beyond is given up */
    hak_lock();
    __atomic_store_n(&c->map_len, len, __ATOMIC_RELAXED);
    __atomic_store_n(&c->huge_size, size, __ATOMIC_RELAXED);
    uintptr_t gone = (base + len + HAK_CHUNK - 1) / HAK_CHUNK * HAK_CHUNK;   /* first chunk left entirely */
    if (gone < base + old) cmap_clear(gone, base + old - gone);
    HAK_LSAN_UNROOT(c, old);
    HAK_LSAN_ROOT(c, len);
    commit_add_locked(-(int64_t)(old - len));
    live_bytes -= oldsize - size;
    hak_unlock();
    uintptr_t tail = base + len + HAK_PAGE;
    size_t tlen = old - len - HAK_PAGE;   /* may be 0 */
    uintptr_t parked = 0;
    char *p = tlen >= MIN_RUN ? os_reserve(tlen, HAK_CHUNK, tail % HAK_CHUNK, 0) : NULL;
    if (p && os_move((void *)tail, tlen, p, 0) >= 0) parked = (uintptr_t)p;
    else if (p) os_unmap(p, tlen);
    unmap_clean(parked ? base + old : tail, parked ? HAK_PAGE : tlen + HAK_PAGE);
    if (parked) HAK_UNPOISON((void *)tail, tlen);
    hak_lock();
    uint64_t now = os_now_ms();
    pool_expire_locked(now, &s);
    if (parked) pool_put_locked(parked, tlen, now, &s);
    hak_unlock();
    spill_release(&s);
}

/* Grow the guard page's mapping over free address space above, fill it with
 * cached pages and open it.  0 (nothing changed) when the space is taken. */
static int grow_here(hak_chunk_t *c, size_t len)
{
    uintptr_t base = (uintptr_t)c;
    size_t uoff = c->huge_uoff, old = c->map_len, oldsize = c->huge_size, delta = len - old;
    if (os_grow((void *)(base + old), HAK_PAGE, HAK_PAGE + delta) != 0) return 0;
    fill_from_cache(base + old, delta);
    if (os_protect((void *)(base + old), delta, 1) != 0) {
        os_unmap((void *)(base + old + HAK_PAGE), delta);   /* back to one guard page */
        return 0;
    }
    hak_lock();
    __atomic_store_n(&c->huge_size, len - uoff, __ATOMIC_RELAXED);
    __atomic_store_n(&c->map_len, len, __ATOMIC_RELAXED);
    cmap_set(base, len, c);
    HAK_LSAN_UNROOT(c, old);
    HAK_LSAN_ROOT(c, len);
    commit_add_locked((int64_t)delta);
    live_bytes += delta;
    hak_unlock();
    hak_san_resize((void *)(base + uoff), oldsize, len - uoff);
    guard_mark(base + len);
    return 1;
}

#define MOVE_REFUSED ((void *)1)

/* Move the block's pages to a new reservation of len bytes whose extension
 * has been filled first, so nothing can fail once the pages have moved.
 * NULL (ENOMEM) or MOVE_REFUSED (the kernel will not move the range: copy
 * instead) with the block untouched. */
static void *move_away(hak_chunk_t *c, size_t len)
{
    uintptr_t base = (uintptr_t)c;
    size_t uoff = c->huge_uoff, old = c->map_len, oldsize = c->huge_size, size = len - uoff;
    uintptr_t olduser = base + uoff;
    char *t = os_reserve(len + HAK_PAGE, HAK_CHUNK, 0, 1);
    if (!t) return NULL;
    if (os_protect(t + len, HAK_PAGE, 0) != 0) {
        os_unmap(t, len + HAK_PAGE);
        return NULL;
    }
    guard_mark((uintptr_t)t + len);
    fill_from_cache((uintptr_t)t + old, len - old);
    hak_chunk_t *d = (hak_chunk_t *)(void *)t;
    desc_write(d, uoff, len);
    spill_t s;
    s.n = 0;
    int m = os_move((void *)olduser, oldsize, t + uoff, 1);
    int hole = 0;
    if (m == 1) {            /* the old range is still ours, empty: make it a hole */
        hole = os_hole((void *)olduser, oldsize) == 0;
        if (hole) HAK_POISON((void *)olduser, oldsize);    /* ASan names a use of the old pointer */
        else spill_add(&s, olduser, oldsize);              /* unmapped once out of the chunk map */
        hak_lock();
    } else {
        /* the move unmaps the old range: under the lock, so that no block of
         * ours appears there before its chunk-map entries are cleared */
        hak_lock();
        if (os_move((void *)olduser, oldsize, t + uoff, 0) < 0) {
            hak_unlock();
            unmap_clean((uintptr_t)t, len + HAK_PAGE);
            return MOVE_REFUSED;
        }
    }
    /* the old descriptor stays mapped in the ring, saying FREE */
    cmap_clear(base, old);
    HAK_LSAN_UNROOT(c, old);
    if (hole) {
        ring_push_locked(olduser, base, old + HAK_PAGE, &s);
    } else {
        ring_push_locked(olduser, base, uoff, &s);
        spill_add(&s, base + old, HAK_PAGE);   /* the old guard */
    }
    cmap_set((uintptr_t)t, len, d);
    commit_add_locked((int64_t)len - (int64_t)old);
    live_bytes += size - oldsize;
    hak_unlock();
    HAK_LSAN_ROOT(t, len);
    spill_release(&s);
    void *user = t + uoff;
    if (HAK_TOOLS_RT) {
        VALGRIND_FREELIKE_BLOCK((void *)olduser, 0);
        VALGRIND_MALLOCLIKE_BLOCK(user, size, 0, 0);
        VALGRIND_MAKE_MEM_DEFINED(user, oldsize);
    } else {
        HAK_UNPOISON(user, size);
    }
    return user;
}

/* Resize in place or move the pages (no copy).  The state word is claimed
 * first, so a racing free or realloc of the same pointer reads DOUBLE and
 * touches nothing; readers of the old pointer of a move read DOUBLE (the
 * descriptor, then the ring), never an unmapped page. */
void *huge_realloc(hak_chunk_t *c, size_t n, hak_free_status *st)
{
    uintptr_t user = (uintptr_t)c + c->huge_uoff;
    uint64_t k = hak_key(user), alloc = hak_hdr_check(k, HAK_ST_ALLOC), want = alloc;
    if (!__atomic_compare_exchange_n(&c->huge_check, &want, hak_hdr_check(k, HAK_ST_FREE), 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        *st = HAK_FREE_DOUBLE;
        return NULL;
    }
    size_t uoff = c->huge_uoff, old = c->map_len;
    void *r = (void *)user;
    if (n > PTRDIFF_MAX - uoff - HAK_CHUNK - 2 * HAK_PAGE) {
        errno = ENOMEM;
        r = NULL;
    } else {
        size_t len = page_up(uoff + (n ? n : 1));
        if (len < old) {
            shrink_here(c, len);
        } else if (len > old && !grow_here(c, len)) {
            r = move_away(c, len);
            if (r == NULL) errno = ENOMEM;
            if (r != MOVE_REFUSED && r != NULL) return r;   /* the old descriptor keeps FREE */
            if (r == MOVE_REFUSED) {
                size_t keep = c->huge_size < n ? c->huge_size : n;
                r = huge_alloc(n, 0, 0);
                if (r) {
                    memcpy(r, (void *)user, keep);
                    __atomic_store_n(&c->huge_check, alloc, __ATOMIC_RELEASE);
                    huge_free(c);
                    return r;
                }
            }
        }
    }
    __atomic_store_n(&c->huge_check, alloc, __ATOMIC_RELEASE);
    return r;
}

void huge_stats(uint64_t *lb, uint64_t *lk, uint64_t *na, uint64_t *cached)
{
    hak_lock();
    *lb = live_bytes;
    *lk = live_blocks;
    *na = nallocs;
    *cached = pool_bytes;
    hak_unlock();
}

void huge_tick(void)
{
    uint64_t due = atomic_load_explicit(&pool_due, memory_order_relaxed);
    if (due == UINT64_MAX || os_now_ms() < due) return;
    spill_t s;
    s.n = 0;
    hak_lock();
    pool_expire_locked(os_now_ms(), &s);
    hak_unlock();
    spill_release(&s);
}

int huge_trim(void)
{
    spill_t s;
    s.n = 0;
    hak_lock();
    while (npool) {
        spill_add(&s, pool[0].addr, pool[0].len);
        pool_remove_locked(0);
    }
    pool_due_update_locked();
    hak_unlock();
    int any = s.n > 0;
    spill_release(&s);
    return any;
}

/* The cache's bookkeeping: page-aligned disjoint runs, oldest first, whose
 * lengths add up to pool_bytes. */
int huge_check_all(void)
{
    int bad = 0;
    size_t sum = 0;
    hak_lock();
    if (npool > POOL_MAX) bad = 1;
    for (unsigned i = 0; !bad && i < npool; i++) {
        const run_t *r = &pool[i];
        if (r->addr % HAK_PAGE || r->len % HAK_PAGE || r->len < MIN_RUN || r->addr + r->len < r->addr) bad = 1;
        if (i && r->born < pool[i - 1].born) bad = 1;
        for (unsigned j = 0; j < i; j++)
            if (r->addr < pool[j].addr + pool[j].len && pool[j].addr < r->addr + r->len) bad = 1;
        sum += r->len;
    }
    if (!bad && sum != pool_bytes) bad = 1;
    hak_unlock();
    return bad ? -1 : 0;
}
