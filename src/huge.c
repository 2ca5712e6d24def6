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
 * free: the user pages move (mremap: page tables, not bytes) to a private
 * reservation shaped like a block, where they wait in the cache, and the
 * user range becomes PROT_NONE address space (a "hole"), so a use after free
 * faults at once.  The descriptor region and the hole stay ours while the
 * block is in the ring of the last RING freed blocks: a thread that read the
 * chunk map just before the free reads the descriptor (its state says FREE),
 * never an unmapped page; a second free of the pointer reads DOUBLE; and no
 * new mapping can appear at the freed address, so a stale pointer keeps
 * faulting even after its pages were reused.  (Moving the pages costs a
 * page-table move; mprotect-ing them in place would cost a change of every
 * page-table entry, ten times more, measured.)
 * malloc: preferably a parked block becomes the new block where it lies (no
 * move, no page fault), cut to size or extended into its headroom; else a
 * fresh reservation whose user range is filled with cached pages moved
 * there.  Either way the address is not the freed one.
 * realloc: shrinks in place (the tail joins the cache), grows in place when
 * the address space above is free, else moves the pages; the old descriptor
 * and a hole go to the ring as for a free.
 *
 * Pages of different origins put side by side stay separate mappings (the
 * kernel merges neither their anon_vmas nor their page offsets), and every
 * mapping costs each later move: were blocks made of blocks made of blocks,
 * a long malloc-large run would get slower with every thousand blocks.  So
 * a block keeps the "seams" where its mappings meet, and a freed block made
 * of several is cached as several runs: every run is one mapping, a new
 * block is at most PIECES_MAX of them and fresh pages, and only a block
 * grown by realloc over and over can pass HAK_HUGE_SEAMS (it is then not
 * recycled).
 *
 * The cache holds at most half the memory in use (but 32 MiB even when
 * little is in use) and never more than HAKMEM_HUGE_CACHE_KB; pages unused
 * for HAKMEM_HUGE_DECAY_MS are unmapped, checked lazily by every huge call,
 * by slab creation and release (huge_tick) and by malloc_trim.  Cached bytes
 * are not live, but they are held from the OS: they count in committed
 * (hak_stats), as the descriptor pages in the ring do not.
 *
 * Bookkeeping is under the global lock, system calls outside it, except a
 * move of a live block's pages on a kernel that unmaps the source as it
 * moves (then no other thread may map and register a block in the vacated
 * range before its chunk-map entries are cleared), and the cut of a home
 * run's end (see pool_take_locked). */
#include <errno.h>
#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"
#include "tag.h"

#define GROW_ROOM ((size_t)32 << 20)   /* most a growing realloc takes beyond the request */
#define RING 64
/* Recently freed huge blocks: their user pointers (a second free of one reads
 * DOUBLE) and the address range each keeps (descriptor region, and the hole
 * and old guard when there is one), unmapped when the entry is evicted. */
static _Atomic uintptr_t ring[RING];
static uintptr_t ring_desc[RING];                   /* global lock */
static size_t ring_dlen[RING];                      /* global lock */
static size_t ring_uoff[RING];                      /* global lock: the poisoned part starts there */
static unsigned ring_pos;                           /* global lock */
static uint64_t live_bytes, live_blocks, nallocs;   /* global lock */

static size_t page_up(size_t n) { return (n + HAK_PAGE - 1) / HAK_PAGE * HAK_PAGE; }

/* ---- seams: page offsets, ascending, where a range's mappings meet ---- */
#define SEAMS_LOST (HAK_HUGE_SEAMS + 1u)    /* n: more than can be kept */
typedef struct seams { uint32_t n; uint32_t at[HAK_HUGE_SEAMS]; } seams_t;

static void seams_add(seams_t *s, size_t off)
{
    uint32_t pg = (uint32_t)(off / HAK_PAGE), i = 0;
    if (s->n == SEAMS_LOST) return;
    while (i < s->n && s->at[i] < pg) i++;
    if (i < s->n && s->at[i] == pg) return;
    if (s->n == HAK_HUGE_SEAMS) { s->n = SEAMS_LOST; return; }
    memmove(&s->at[i + 1], &s->at[i], (s->n - i) * sizeof s->at[0]);
    s->at[i] = pg;
    s->n++;
}

/* The seams of the part [from, to) of a range, relative to from. */
static seams_t seams_cut(const seams_t *s, size_t from, size_t to)
{
    seams_t r = { s->n == SEAMS_LOST ? SEAMS_LOST : 0, { 0 } };
    for (uint32_t i = 0; r.n != SEAMS_LOST && i < s->n; i++) {
        size_t off = (size_t)s->at[i] * HAK_PAGE;
        if (off > from && off < to) seams_add(&r, off - from);
    }
    return r;
}

/* d gains the seams of a piece of len bytes (one mapping) placed at off in
 * a range of total bytes: where it meets what is around it. */
static void seams_place(seams_t *d, size_t len, size_t off, size_t total)
{
    if (off) seams_add(d, off);
    if (off + len < total) seams_add(d, off + len);
}

static seams_t seams_of(const hak_chunk_t *c)
{
    seams_t s;
    s.n = c->huge_nseam;
    memcpy(s.at, c->huge_seam, sizeof s.at);
    return s;
}

static void seams_set(hak_chunk_t *c, const seams_t *s)
{
    c->huge_nseam = s->n;
    memcpy(c->huge_seam, s->at, sizeof s->at);
}

/* ---- the cache: runs of parked pages, oldest first (global lock) ----
 * A run parked by a free is shaped like a block ("home"): its pages sit at
 * addr = base + HAK_HUGE_UOFF of a reservation [base, end) with room for a
 * descriptor in front and HEADROOM of PROT_NONE address space behind, so a
 * later malloc can become a block right there and extend into the headroom.
 * Other runs ("fillers": the tail of a split run or of a shrink, the pages
 * of an aligned block) are moved into the blocks they serve. */
#define POOL_MAX   256                   /* runs; more evict the oldest */
#define PIECES_MAX 8                     /* runs one new block is filled from, at most */
#define MIN_RUN    ((size_t)64 << 10)    /* smaller runs are not worth a system call later */
#define HEADROOM   ((size_t)32 << 20)    /* address space behind a parked run, for growth */
#define BUDGET_FLOOR ((size_t)32 << 20)  /* budget however little is in use */
#define BUDGET_SHARE 2                   /* budget: in-use bytes / BUDGET_SHARE */

enum { RUN_FILLER, RUN_HOME, RUN_SUFFIX };   /* RUN_SUFFIX: a piece cut from a home run's end */
typedef struct run {
    uintptr_t addr;            /* the pages: [addr, addr+len), readable and writable, one mapping */
    size_t len;
    uint64_t born;             /* ms when it was cached */
    uintptr_t base, end;       /* RUN_HOME: the whole reservation */
    uint32_t kind;
    uint32_t desc_rw;          /* RUN_HOME: its descriptor region is read-write already (ring_take_locked) */
} run_t;
static run_t pool[POOL_MAX];
static unsigned npool;
static size_t pool_bytes;
static _Atomic uint64_t pool_due = UINT64_MAX;   /* ms when the oldest run expires */

/* Address ranges to unmap once the lock is dropped, each with the part of
 * it that may carry ASan poison (cleaned first: whoever maps the range next
 * starts clean).  Only user ranges and guard pages are ever poisoned; the
 * rest is left alone, because cleaning shadow memory that was never
 * touched would make it resident. */
typedef struct spill {
    struct { uintptr_t a; size_t len; uintptr_t pa; size_t plen; } r[POOL_MAX + PIECES_MAX + 4];
    unsigned n;
} spill_t;

/* Unmap a range that was poisoned (a user range, a guard page): unmapped
 * memory keeps no ASan poison. */
static void unmap_clean(uintptr_t a, size_t len)
{
    HAK_UNPOISON((void *)a, len);
    os_unmap((void *)a, len);
}

/* [a, a+len) to unmap, of which [pa, pa+plen) may be poisoned */
static void spill_add_p(spill_t *s, uintptr_t a, size_t len, uintptr_t pa, size_t plen)
{
    if (len == 0) return;
    if (s->n < sizeof s->r / sizeof s->r[0]) {
        s->r[s->n].a = a;
        s->r[s->n].len = len;
        s->r[s->n].pa = pa;
        s->r[s->n++].plen = plen;
    } else {                   /* cannot happen by the sizes above; correct anyway */
        HAK_UNPOISON((void *)pa, plen);
        os_unmap((void *)a, len);
    }
}

static void spill_add(spill_t *s, uintptr_t a, size_t len) { spill_add_p(s, a, len, a, 0); }

/* all the address space a run holds */
static void spill_run(spill_t *s, const run_t *r)
{
    if (r->kind == RUN_HOME) spill_add(s, r->base, r->end - r->base);
    else spill_add(s, r->addr, r->len);
}

static void spill_release(spill_t *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        HAK_UNPOISON((void *)s->r[i].pa, s->r[i].plen);
        os_unmap((void *)s->r[i].a, s->r[i].len);
    }
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
        spill_run(s, &pool[0]);
        pool_remove_locked(0);
    }
    pool_due_update_locked();
}

/* Cache the run r (parked), evicting the oldest runs to stay within the
 * budget; a run the budget cannot hold is spilled. */
static void pool_put_locked(run_t r, uint64_t now, spill_t *s)
{
    size_t b = budget_locked();
    if (r.len < MIN_RUN || r.len > b) { spill_run(s, &r); return; }
    while (npool && (pool_bytes + r.len > b || npool == POOL_MAX)) {
        spill_run(s, &pool[0]);
        pool_remove_locked(0);
    }
    r.born = now;
    pool[npool++] = r;
    pool_bytes += r.len;
    commit_add_locked((int64_t)r.len);
    pool_due_update_locked();
}

/* Move one piece to dst: 1 if its pages are there.  A piece the kernel will
 * not move (before Linux 6.17, a range that spans several mappings) is
 * dropped; so is what is left of a home run's reservation.  A suffix leaves
 * PROT_NONE headroom in its home run, never unmapped address space (the
 * reservation must stay whole). */
static int piece_place(const run_t *r, uintptr_t dst)
{
    void *src = (void *)r->addr;
    if (r->kind == RUN_SUFFIX) {
        int ok = os_move(src, r->len, (void *)dst, 1) == 1;
        os_hole(src, r->len);   /* emptied, or still full when the move failed */
        return ok;
    }
    if (os_move(src, r->len, (void *)dst, 0) != 0) {
        if (r->kind == RUN_HOME) os_unmap((void *)r->base, r->end - r->base);
        else os_unmap(src, r->len);
        return 0;
    }
    if (r->kind == RUN_HOME) {
        os_unmap((void *)r->base, r->addr - r->base);
        os_unmap((void *)(r->addr + r->len), r->end - (r->addr + r->len));
    }
    return 1;
}

/* Take cached pages for [dst, dst+need), the part [off, off+need) of a range
 * of total bytes whose seams are *sm, in at most PIECES_MAX pieces, each at
 * its own offset: the smallest run that covers what is left (a filler gives
 * its head, a home run its end, the rest stays cached), else the largest
 * run whole; no piece that would bring *sm past HAK_HUGE_SEAMS.  The pieces
 * leave the cache (and committed).  A home run's end is moved here, under
 * the lock: until that range is headroom again, nobody may form a block in
 * that home run. */
static unsigned pool_take_locked(uintptr_t dst, size_t off, size_t need, size_t total, seams_t *sm,
                                 run_t *pc, uintptr_t *at, int *placed, spill_t *s)
{
    unsigned np = 0;
    size_t done = 0;
    if (need < MIN_RUN) return 0;   /* a fresh page or two is cheaper than splitting a run */
    while (done < need && npool && np < PIECES_MAX) {
        size_t left = need - done;
        unsigned best = POOL_MAX, big = POOL_MAX;
        for (unsigned i = 0; i < npool; i++) {
            const run_t *r = &pool[i];
            if (r->len >= left && (best == POOL_MAX || r->len < pool[best].len)) best = i;
            if (r->len < left && (big == POOL_MAX || r->len > pool[big].len)) big = i;
        }
        unsigned k = best != POOL_MAX ? best : big;
        if (k == POOL_MAX) break;
        run_t *r = &pool[k];
        size_t take = r->len < left ? r->len : left;
        /* a home run gives its end, anything else its head */
        int suffix = r->kind == RUN_HOME && r->len - take >= MIN_RUN;
        seams_t trial = *sm;
        seams_place(&trial, take, off + done, total);
        if (trial.n == SEAMS_LOST) break;
        *sm = trial;
        at[np] = dst + done;
        placed[np] = 0;
        if (suffix) {
            r->len -= take;
            pc[np] = (run_t){ r->addr + r->len, take, 0, 0, 0, RUN_SUFFIX, 0 };
            placed[np] = 1 + piece_place(&pc[np], at[np]);
            pool_bytes -= take;
            commit_add_locked(-(int64_t)take);
        } else if (r->kind == RUN_FILLER && r->len - take >= MIN_RUN) {
            pc[np] = (run_t){ r->addr, take, 0, 0, 0, RUN_FILLER, 0 };
            r->addr += take;
            r->len -= take;
            pool_bytes -= take;
            commit_add_locked(-(int64_t)take);
        } else {
            /* whole; a tail too small to keep goes: a filler's now, a home
             * run's with its reservation (piece_place) */
            pc[np] = *r;
            if (r->kind != RUN_HOME) spill_add(s, r->addr + take, r->len - take);
            pc[np].len = take;
            pool_remove_locked(k);
        }
        done += take;
        np++;
    }
    pool_due_update_locked();
    return np;
}

/* The parked block to become a block of size user bytes in place: the
 * smallest that holds them, else the largest whose headroom takes the rest. */
static int pool_take_home_locked(size_t size, run_t *out)
{
    unsigned best = POOL_MAX, big = POOL_MAX;
    for (unsigned i = 0; i < npool; i++) {
        const run_t *r = &pool[i];
        if (r->kind != RUN_HOME) continue;
        if (r->len >= size && (best == POOL_MAX || r->len < pool[best].len)) best = i;
        if (r->addr + size + HAK_PAGE <= r->end && (big == POOL_MAX || r->len > pool[big].len)) big = i;
    }
    unsigned k = best != POOL_MAX ? best : big;
    if (k == POOL_MAX) return 0;
    *out = pool[k];
    pool_remove_locked(k);
    pool_due_update_locked();
    return 1;
}

/* Fill [dst, dst+need), the part at off of a range of total bytes whose
 * seams are *sm, with cached pages as far as there are any (and *sm
 * allows); what no piece covers stays as it is (fresh).  Returns how far
 * from dst recycled, dirty pages may lie. */
static size_t fill_from_cache(uintptr_t dst, size_t off, size_t need, size_t total, seams_t *sm)
{
    run_t pc[PIECES_MAX];
    uintptr_t at[PIECES_MAX];
    int placed[PIECES_MAX];
    spill_t s;
    s.n = 0;
    hak_lock();
    pool_expire_locked(os_now_ms(), &s);
    unsigned np = pool_take_locked(dst, off, need, total, sm, pc, at, placed, &s);
    hak_unlock();
    size_t reach = 0;
    for (unsigned i = 0; i < np; i++) {
        int ok = placed[i] ? placed[i] - 1 : piece_place(&pc[i], at[i]);
        if (ok) reach = at[i] + pc[i].len - dst;
    }
    spill_release(&s);
    if (reach < need && off + reach) seams_add(sm, off + reach);   /* fresh pages follow */
    return reach;
}

/* The range the ring's next push would unmap, taken instead as the
 * reservation a freed block of `size` user bytes parks in (park): a block's
 * old descriptor region (read-write), its hole and guard (PROT_NONE),
 * chunk-aligned and large enough.  Its block left the ring's protection as
 * it would have by being unmapped (the address may be handed out again,
 * SECURITY.md), and a malloc/free loop of one large block then costs two
 * system calls a cycle instead of nine: no reservation to map and trim, no
 * descriptor to open or headroom to give back at malloc, nothing to unmap
 * at eviction.  Not under the tools: the range may carry ASan poison. */
static int ring_take_locked(size_t size, uintptr_t *base, size_t *len)
{
    unsigned i = ring_pos % RING;
    if (HAK_TOOLS_ON || ring_uoff[i] != HAK_HUGE_UOFF || ring_dlen[i] < HAK_HUGE_UOFF + size + HAK_PAGE) return 0;
    *base = ring_desc[i];
    *len = ring_dlen[i];
    ring_desc[i] = 0;
    ring_dlen[i] = 0;
    atomic_store_explicit(&ring[i], 0, memory_order_relaxed);
    return 1;
}

/* Move the pages of [a, a+len) (ours, no longer in the chunk map) to a
 * fresh private reservation (or, home, the range [rb, rb+rl) taken from the
 * ring, which park uses or unmaps): shaped like a block when home (a is a default
 * user pointer), else at a's phase modulo a chunk; either way whole page
 * tables move.  1 with *r the run, or 0 with [a, a+len) as it was.  On
 * success *hole says whether [a, a+len) is now PROT_NONE address space of
 * ours (1) or unmapped, maybe mapped by someone else already (0). */
static int park(uintptr_t a, size_t len, int home, run_t *r, int *hole, uintptr_t rb, size_t rl)
{
    char *p, *base = NULL;
    size_t rlen = len;
    if (rb) {
        base = (char *)rb;
        rlen = rl;
        p = base + HAK_HUGE_UOFF;
    } else if (home) {
        rlen = HAK_HUGE_UOFF + len + HAK_PAGE + HEADROOM;
        base = os_reserve(rlen, HAK_CHUNK, 0, 0);
        p = base ? base + HAK_HUGE_UOFF : NULL;
    } else {
        p = base = os_reserve(len, HAK_CHUNK, a % HAK_CHUNK, 0);
    }
    if (!p) return 0;
    if (os_move((void *)a, len, p, 1) == 1) {        /* the source is still ours, empty */
        *hole = os_hole((void *)a, len) == 0;
        if (!*hole) unmap_clean(a, len);
    } else if (HAK_UNPOISON((void *)a, len), os_move((void *)a, len, p, 0) == 0) {
        /* the source went with the move (its ASan shadow cleaned first, while
         * the range was ours): take it back if nobody has */
        *hole = os_hole_at((void *)a, len) == 0;
    } else {
        os_unmap(base, rlen);
        return 0;
    }
    *r = (run_t){ (uintptr_t)p, len, 0, home ? (uintptr_t)base : 0, home ? (uintptr_t)base + rlen : 0,
                  home ? RUN_HOME : RUN_FILLER, rb != 0 };
    return 1;
}

/* Cache the pages [a, a+len) parked from a range whose seams are *sm: one
 * run per mapping. */
static void pool_put_pieces_locked(uintptr_t a, size_t len, const seams_t *sm, uint64_t now, spill_t *s)
{
    size_t from = 0;
    for (uint32_t i = 0; i <= sm->n; i++) {
        size_t to = i < sm->n ? (size_t)sm->at[i] * HAK_PAGE : len;
        pool_put_locked((run_t){ a + from, to - from, 0, 0, 0, RUN_FILLER, 0 }, now, s);
        from = to;
    }
}

static void ring_push_locked(uintptr_t user, uintptr_t desc, size_t dlen, spill_t *s)
{
    unsigned i = ring_pos++ % RING;
    size_t u = ring_uoff[i];
    spill_add_p(s, ring_desc[i], ring_dlen[i], ring_desc[i] + u, ring_dlen[i] > u ? ring_dlen[i] - u : 0);
    ring_desc[i] = desc;
    ring_dlen[i] = dlen;
    ring_uoff[i] = user - desc;
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
static void desc_write(hak_chunk_t *d, size_t uoff, size_t len, const seams_t *sm)
{
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_DEFINED(d, sizeof *d);
    uintptr_t user = (uintptr_t)d + uoff;
    d->kind = HAK_CHUNK_HUGE;
    d->huge_uoff = uoff;
    d->huge_size = len - uoff;
    d->map_len = len;
    d->huge_req = len - uoff;   /* the page count of the size asked: the caller's n rounds to it */
    seams_set(d, sm);
    d->huge_check = hak_hdr_check(hak_key(user), HAK_ST_ALLOC);
}

/* Register the block at c (pages in place, guard after len) and hand its
 * user pointer out. */
static void *publish(char *c, size_t uoff, size_t len, const seams_t *sm, size_t dirty, size_t n, int zero)
{
    size_t size = len - uoff;
    hak_chunk_t *d = (hak_chunk_t *)(void *)c;
    desc_write(d, uoff, len, sm);
    guard_mark((uintptr_t)c + len);
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
    if (zero && dirty) {                 /* recycled pages are dirty */
        size_t z = dirty < n ? dirty : n;
        /* under the tools the block is still closed here (tool.c opens it) */
        if (HAK_TOOLS_ON) hak_san_internal(user, z);
        memset(user, 0, z);
        if (HAK_TOOLS_ON) hak_san_internal_done(user, z);
    }
    return user;
}

/* Make the parked block r a block of size user bytes where it lies: open
 * its descriptor region; cut what it has beyond size (the first page turns
 * guard, the rest stays cached) or fill the headroom up to size; give up the
 * headroom beyond the guard.  NULL when the kernel says no (r is unmapped). */
static void *home_alloc(run_t *r, size_t size, size_t n, int zero)
{
    const size_t uoff = HAK_HUGE_UOFF;
    uintptr_t cut = r->addr + size;          /* the guard page */
    uintptr_t keep = cut + HAK_PAGE;         /* the reservation is ours up to here, at least */
    size_t dirty = r->len < size ? r->len : size;
    seams_t sm = { 0, { 0 } };
    run_t rest = { 0, 0, 0, 0, 0, RUN_FILLER, 0 };
    if (!r->desc_rw && os_protect((void *)r->base, uoff, 1) != 0) goto fail;
    if (r->len > size) {
        size_t excess = r->len - size;
        int tail = excess >= MIN_RUN + HAK_PAGE;
        if (os_hole((void *)cut, tail ? HAK_PAGE : excess) != 0) goto fail;
        if (tail) {
            rest = (run_t){ keep, excess - HAK_PAGE, 0, 0, 0, RUN_FILLER, 0 };
            keep = r->addr + r->len;
        }
    } else {
        if (r->len < size) {
            dirty += fill_from_cache(r->addr + r->len, r->len, size - r->len, size, &sm);
            if (os_protect((void *)(r->addr + r->len), size - r->len, 1) != 0) goto fail;
        }
        /* the guard page at cut is the reservation's PROT_NONE beyond the pages */
    }
    if (keep < r->end) os_unmap((void *)keep, r->end - keep);
    if (rest.len) {
        spill_t s;
        s.n = 0;
        hak_lock();
        pool_put_locked(rest, os_now_ms(), &s);
        hak_unlock();
        spill_release(&s);
    }
    return publish((char *)r->base, uoff, uoff + size, &sm, dirty, n, zero);
fail:
    os_unmap((void *)r->base, r->end - r->base);
    return NULL;
}

void *huge_alloc(size_t n, size_t align, int zero)
{
    size_t uoff = align > HAK_HUGE_UOFF ? align : HAK_HUGE_UOFF;
    size_t maxalign = align > HAK_CHUNK ? align : HAK_CHUNK;
    if (n > PTRDIFF_MAX - uoff - maxalign - 2 * HAK_PAGE) { errno = ENOMEM; return NULL; }
    /* at least one byte, so that even malloc-size 0 leaves the user pointer inside the mapping */
    size_t len = page_up(uoff + (n ? n : 1)), size = len - uoff;
    if (uoff == HAK_HUGE_UOFF && size >= MIN_RUN) {
        run_t r;
        spill_t s;
        s.n = 0;
        hak_lock();
        pool_expire_locked(os_now_ms(), &s);
        int got = pool_take_home_locked(size, &r);
        hak_unlock();
        spill_release(&s);
        void *p = got ? home_alloc(&r, size, n, zero) : NULL;
        if (p) return p;
    }
    char *c = os_reserve(len + HAK_PAGE, maxalign, 0, 1);
    if (!c) { errno = ENOMEM; return NULL; }
    if (os_protect(c + len, HAK_PAGE, 0) != 0) {
        os_unmap(c, len + HAK_PAGE);
        errno = ENOMEM;
        return NULL;
    }
    seams_t sm = { 0, { 0 } };
    size_t dirty = fill_from_cache((uintptr_t)c + uoff, 0, size, size, &sm);
    return publish(c, uoff, len, &sm, dirty, n, zero);
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
    seams_t sm = seams_of(c);
    hak_san_free((void *)user, size);
    spill_t s;
    s.n = 0;
    /* out of the chunk map first: the range is still ours, so no block can
     * appear there and be registered before this clears its entries */
    int cacheable = size >= MIN_RUN && size <= hak_opt.huge_cache_bytes && sm.n != SEAMS_LOST;
    int home = uoff == HAK_HUGE_UOFF && sm.n == 0;
    uintptr_t rb = 0;
    size_t rl = 0;
    hak_lock();
    cmap_clear(base, len);
    HAK_LSAN_UNROOT(c, len);
    commit_add_locked(-(int64_t)len);
    live_bytes -= size;
    live_blocks--;
    if (cacheable && home) ring_take_locked(size, &rb, &rl);
    hak_unlock();
    int hole = 0, parked = 0;
    run_t r;
    /* one mapping: parked shaped like a block; several: one run each */
    if (cacheable) parked = park(user, size, home, &r, &hole, rb, rl);
    if (!parked) {           /* not cached: the pages go, the address space stays */
        hole = os_hole((void *)user, size) == 0;
        if (!hole) unmap_clean(user, size);
    }
    hak_lock();
    if (hole) {
        ring_push_locked(user, base, len + HAK_PAGE, &s);   /* descriptor, hole and guard */
    } else {
        ring_push_locked(user, base, uoff, &s);
        spill_add_p(&s, base + len, HAK_PAGE, base + len, HAK_PAGE);   /* the guard alone */
    }
    uint64_t now = os_now_ms();
    pool_expire_locked(now, &s);
    if (parked && r.kind == RUN_HOME) pool_put_locked(r, now, &s);
    else if (parked) pool_put_pieces_locked(r.addr, r.len, &sm, now, &s);
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
    seams_t sm = seams_of(c);
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
    seams_t kept = seams_cut(&sm, 0, size);
    seams_set(c, &kept);
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
    char *p = tlen >= MIN_RUN && sm.n != SEAMS_LOST ? os_reserve(tlen, HAK_CHUNK, tail % HAK_CHUNK, 0) : NULL;
    if (p && os_move((void *)tail, tlen, p, 0) >= 0) parked = (uintptr_t)p;
    else if (p) os_unmap(p, tlen);
    unmap_clean(parked ? base + old : tail, parked ? HAK_PAGE : tlen + HAK_PAGE);
    if (parked) HAK_UNPOISON((void *)tail, tlen);
    hak_lock();
    uint64_t now = os_now_ms();
    pool_expire_locked(now, &s);
    if (parked) {
        seams_t ts = seams_cut(&sm, size + HAK_PAGE, oldsize);
        pool_put_pieces_locked(parked, tlen, &ts, now, &s);
    }
    hak_unlock();
    spill_release(&s);
}

/* Grow the guard page's mapping over free address space above, fill its
 * first `fill` bytes with cached pages and open it.  0 (nothing changed)
 * when the space is taken. */
static int grow_here(hak_chunk_t *c, size_t len, size_t fill)
{
    uintptr_t base = (uintptr_t)c;
    size_t uoff = c->huge_uoff, old = c->map_len, oldsize = c->huge_size, delta = len - old;
    if (os_grow((void *)(base + old), HAK_PAGE, HAK_PAGE + delta) != 0) return 0;
    seams_t sm = seams_of(c);
    seams_add(&sm, oldsize);   /* what grows is a mapping of its own */
    fill_from_cache(base + old, oldsize, fill < delta ? fill : delta, len - uoff, &sm);
    if (os_protect((void *)(base + old), delta, 1) != 0) {
        os_unmap((void *)(base + old + HAK_PAGE), delta);   /* back to one guard page */
        return 0;
    }
    hak_lock();
    __atomic_store_n(&c->huge_size, len - uoff, __ATOMIC_RELAXED);
    __atomic_store_n(&c->map_len, len, __ATOMIC_RELAXED);
    seams_set(c, &sm);
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
 * (its first `fill` bytes from the cache) has been made first, so nothing
 * can fail once the pages have moved.
 * NULL (ENOMEM) or MOVE_REFUSED (the kernel will not move the range: copy
 * instead) with the block untouched. */
static void *move_away(hak_chunk_t *c, size_t len, size_t fill)
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
    seams_t sm = seams_of(c);
    seams_add(&sm, oldsize);   /* the extension is a mapping of its own */
    fill_from_cache((uintptr_t)t + old, oldsize, fill < len - old ? fill : len - old, size, &sm);
    hak_chunk_t *d = (hak_chunk_t *)(void *)t;
    desc_write(d, uoff, len, &sm);
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
            HAK_UNPOISON(t + len, HAK_PAGE);
            os_unmap(t, len + HAK_PAGE);
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
        spill_add_p(&s, base + old, HAK_PAGE, base + old, HAK_PAGE);   /* the old guard */
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
        size_t room = len;
        /* growth takes half again (at most GROW_ROOM more), so a buffer
         * grown by appends pays the mapping calls once per half, not once
         * per call; shrinking gives back only what leaves the block at
         * less than half, so the next appends do not grow it back.  The
         * pages past what is written are never touched: address space, not
         * memory.  Under the tools the block is what was asked for. */
        if (!HAK_TOOLS_ON && len > old) {
            size_t half = (old - uoff) / 2 < GROW_ROOM ? (old - uoff) / 2 : GROW_ROOM;
            if (page_up(old + half) > len) room = page_up(old + half);
        }
        if (len < old && (HAK_TOOLS_ON || len - uoff < (old - uoff) / 2)) {
            shrink_here(c, len);
        } else if (len > old && !(room > len && grow_here(c, room, len - old)) && !grow_here(c, len, len - old)) {
            r = room > len ? move_away(c, room, len - old) : NULL;
            if (r == NULL) r = move_away(c, len, len - old);
            if (r == NULL) errno = ENOMEM;
            if (r != MOVE_REFUSED && r != NULL) {   /* the old descriptor keeps FREE */
                ((hak_chunk_t *)(void *)((uintptr_t)r - uoff))->huge_req = n;
                return r;
            }
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
    if (r == (void *)user) c->huge_req = n;
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
        spill_run(&s, &pool[0]);
        pool_remove_locked(0);
    }
    pool_due_update_locked();
    hak_unlock();
    int any = s.n > 0;
    spill_release(&s);
    return any;
}

/* The cache's bookkeeping: page-aligned runs whose address ranges (a home
 * run's whole reservation) are disjoint, oldest first, whose lengths add up
 * to pool_bytes. */
int huge_check_all(void)
{
    int bad = 0;
    size_t sum = 0;
    hak_lock();
    if (npool > POOL_MAX) bad = 1;
    for (unsigned i = 0; !bad && i < npool; i++) {
        const run_t *r = &pool[i];
        if (r->addr % HAK_PAGE || r->len % HAK_PAGE || r->len < MIN_RUN || r->addr + r->len < r->addr) bad = 1;
        if (r->kind == RUN_HOME && (r->base % HAK_CHUNK || r->addr != r->base + HAK_HUGE_UOFF ||
                                    r->end < r->addr + r->len + HAK_PAGE)) bad = 1;
        if (r->kind != RUN_HOME && r->kind != RUN_FILLER) bad = 1;
        if (i && r->born < pool[i - 1].born) bad = 1;
        int h = r->kind == RUN_HOME;
        uintptr_t lo = h ? r->base : r->addr, hi = h ? r->end : r->addr + r->len;
        for (unsigned j = 0; j < i; j++) {
            int h2 = pool[j].kind == RUN_HOME;
            uintptr_t lo2 = h2 ? pool[j].base : pool[j].addr;
            uintptr_t hi2 = h2 ? pool[j].end : pool[j].addr + pool[j].len;
            if (lo < hi2 && lo2 < hi) bad = 1;
        }
        sum += r->len;
    }
    if (!bad && sum != pool_bytes) bad = 1;
    hak_unlock();
    return bad ? -1 : 0;
}
