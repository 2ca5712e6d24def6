/* heap.c: per-thread heaps: refill, parking full slabs, remote frees,
 * thread exit (DESIGN.md 4).  The fast paths are in heap.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "guard.h"
#include "heap.h"
#include "os.h"

__thread hak_heap_t *hak_tl_heap = &hak_empty_heap;   /* fast-path heap (heap.h) */
__thread hak_heap_t *hak_tl_own = &hak_empty_heap;    /* the thread's real heap */

/* The sentinel: its free list is empty, so heap_pop() on it falls through. */
hak_slab_t hak_empty_slab;
hak_heap_t hak_empty_heap = {
    .avail = { [0 ... HAK_NCLASS - 1] = &hak_empty_slab },
};

static hak_heap_t *heaps;            /* all heaps ever made (global lock) */
static pthread_key_t heap_key;
static int heap_key_ok;

/* ------------------------------------------------------------------ lists */

static void list_remove(hak_slab_t **head, hak_slab_t *s)
{
    if (s->prev) s->prev->next = s->next; else *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void list_push(hak_slab_t **head, hak_slab_t *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
}

/* avail lists end at the sentinel rather than NULL: the fast path never tests */
static void avail_push(hak_heap_t *h, hak_slab_t *s);

static void avail_remove(hak_heap_t *h, hak_slab_t *s)
{
    hak_slab_t **head = &h->avail[s->cls];
    if (*head == &hak_empty_slab) return;
    if (s->prev) s->prev->next = s->next; else *head = s->next ? s->next : &hak_empty_slab;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->where = HAK_IN_NONE;
}

/* Second place, behind the current slab: a slab that got a few blocks back
 * should not displace the one malloc is carving from. */
static void avail_add(hak_heap_t *h, hak_slab_t *s)
{
    hak_slab_t *head = h->avail[s->cls];
    if (head == &hak_empty_slab) { avail_push(h, s); return; }
    s->prev = head;
    s->next = head->next;
    if (s->next) s->next->prev = s;
    head->next = s;
    s->where = HAK_IN_AVAIL;
    hak_slab_set_low(s, 0);
}

static void avail_push(hak_heap_t *h, hak_slab_t *s)
{
    hak_slab_t **head = &h->avail[s->cls];
    s->prev = NULL;
    s->next = *head == &hak_empty_slab ? NULL : *head;
    if (s->next) s->next->prev = s;
    *head = s;
    s->where = HAK_IN_AVAIL;
    hak_slab_set_low(s, 0);
}

/* ------------------------------------------------------------- refilling */

/* The remote list links through a 32-bit word at HAK_RLINK_OFF of each block
 * (types.h), never through the local list's link word: a double free racing
 * between the owner (plain stores) and another thread (CAS) may put one block
 * on both lists, and neither list may then run into the other. */
HAK_INBAND uint32_t rlink_load(const hak_free_t *b, int tools)
{
    uint32_t *q = (uint32_t *)(void *)((unsigned char *)b + HAK_RLINK_OFF);
    HAK_VG_OPEN(tools, q, sizeof *q);
    uint32_t v = *q;
    *q = 0;                               /* no metadata left in a block malloc hands out */
    HAK_VG_CLOSE(tools, q, sizeof *q);
    return v;
}

/* the same, leaving it in place (a block that is not ours to clear) */
HAK_INBAND uint32_t rlink_peek(const hak_free_t *b, int tools)
{
    const uint32_t *q = (const uint32_t *)(const void *)((const unsigned char *)b + HAK_RLINK_OFF);
    HAK_VG_OPEN(tools, q, sizeof *q);
    uint32_t v = *q;
    HAK_VG_CLOSE(tools, q, sizeof *q);
    return v;
}

HAK_INBAND void rlink_store(hak_free_t *b, uint32_t v, int tools)
{
    uint32_t *q = (uint32_t *)(void *)((unsigned char *)b + HAK_RLINK_OFF);
    HAK_VG_OPEN(tools, q, sizeof *q);
    *q = v;
    HAK_VG_CLOSE(tools, q, sizeof *q);
}

/* encoded remote link: 1 + the offset of next from user pointer 0 (0: end), keyed */
static inline uint32_t rlink_enc(const hak_free_t *next, uintptr_t start, uintptr_t key)
{
    return (next ? (uint32_t)((uintptr_t)next - start) + 1u : 0u) ^ (uint32_t)(key >> 32);
}

/* A block on the remote list reads REMOTE (its remote freer's claim). */
static inline int slot_is_remote(const hak_slab_t *s, const unsigned char *p, int tiny, int tools)
{
    if (tiny) return hak_tag_load(p, tools) == hak_tag_encode(s->cookie, HAK_ST_REMOTE);
    hak_mid_hdr_t h = hak_hdr_load(p, tools);
    return h.magic == HAK_MID_MAGIC && h.aux == s->cls && hak_hdr_state(h.check, hak_key((uintptr_t)p)) == HAK_ST_REMOTE;
}

static hak_chunk_t *chunk_of(hak_slab_t *s)
{
    uintptr_t a = (uintptr_t)s;
    return (hak_chunk_t *)(a - a % HAK_CHUNK);
}

/* Move the remote-free list onto the local one; returns blocks gained.
 * Each block must be a carved slot of this slab reading REMOTE: it becomes
 * FREE and is pushed on the local list.  A block that reads otherwise was
 * freed by the owner too (a double free whose two frees raced: the owner's
 * plain store overwrote the claim): it is already on the local list, or
 * handed out again, so it is left alone and counted as a rejected double
 * free.  Its remote link may since have been overwritten by the program, so
 * the walk goes on through it only if it decodes onto the grid; a revisited
 * block of ours reads FREE by then, two skipped blocks in a row (a loop
 * through them, say) end the walk, and so does a bad link (the
 * blocks behind it are lost to the program's double free, never handed out
 * twice).  `tools` is a constant in each instance: no hook cost otherwise. */
static inline __attribute__((always_inline)) uint32_t collect_remote_body(hak_slab_t *s, int tools)
{
    /* a plain load first: the exchange is a locked instruction, and most
     * refills (every one of a single-threaded program) find the list empty */
    if (atomic_load_explicit(&s->remote, memory_order_relaxed) == 0) return 0;
    uintptr_t w = atomic_exchange_explicit(&s->remote, 0, memory_order_acquire);
    if (w == 0) return 0;
    hak_free_t *b = hak_remote_ptr(w);
    uintptr_t start = hak_slab_start(s), limit = (uintptr_t)s->bumped * s->stride;
    /* the grid test by the head unit's reciprocal, as the classifier's (no div per block) */
    uint64_t recip = chunk_of(s)->unit[s->head].recip;
    int tiny = s->kind == HAK_SLAB_TINY, trusted = 1, skipped_last = 0;
    uint32_t n = 0, seen = 0;
    while (b != NULL) {
        uintptr_t off = (uintptr_t)b - start;
        if (off >= limit || off * recip / 4294967296u * s->stride != off) {
            if (trusted) hak_fatal("corrupted remote free list", b);
            break;                              /* a link read from a double-freed block */
        }
        if (++seen > s->capacity) {
            if (trusted) hak_fatal("remote free list loops", b);
            break;                              /* a loop through double-freed blocks */
        }
        int mine = slot_is_remote(s, (unsigned char *)b, tiny, tools);
        uint32_t r = (mine ? rlink_load(b, tools) : rlink_peek(b, tools)) ^ (uint32_t)(s->key >> 32);
        hak_free_t *nx = r ? (hak_free_t *)(start + r - 1u) : NULL;
        if (mine) {
            slot_mark(s, (unsigned char *)b, HAK_ST_FREE, tiny, tools);
            if (tools) hak_san_internal(b, sizeof *b);
            hak_fl_push(&s->free, b, s->key);
            if (tools) hak_san_internal_done(b, sizeof *b);
            n++;
        } else {
            /* the free that lost the race returned long ago (free() has no
             * verdict): the double free is reported now, per policy */
            hak_report(HAK_FREE_DOUBLE, b, "free");
            if (!trusted && skipped_last) break;   /* two in a row: nothing trustworthy left */
            trusted = 0;
        }
        skipped_last = !mine;
        b = nx;
    }
    /* the count packed in the word must match the walk (mod 2^16) */
    if (trusted && (n & 0xffffu) != hak_remote_cnt(w)) hak_fatal("corrupted remote free list (count)", s);
    s->left -= (int32_t)n;
    return n;
}

uint32_t heap_collect_remote(hak_slab_t *s)
{
    return HAK_TOOLS_ON ? collect_remote_body(s, 1) : collect_remote_body(s, 0);
}

/* Carve up to a page's worth (at least 4) of never-used slots onto the
 * local list.  Their tags are set to FREE so a stray free of a carved slot
 * reads DOUBLE, never OK; `end` moves forward so uncarved slots stay off the
 * grid for the classifier. */
static uint32_t carve(hak_chunk_t *c, hak_slab_t *s)
{
    uint32_t left = s->capacity - s->bumped;
    if (left == 0) return 0;
    uint32_t n = HAK_PAGE / s->stride;
    if (n < 4) n = 4;
    if (n > left) n = left;
    unsigned char *base = (unsigned char *)hak_slab_start(s) + (size_t)s->bumped * s->stride;
    /* link them in address order so the list hands them out ascending */
    hak_free_t *next = s->free;
    for (uint32_t i = n; i-- > 0;) {
        unsigned char *p = base + (size_t)i * s->stride;
        hak_san_internal(p, sizeof(hak_free_t));   /* the link; the tag/header stays closed */
        if (HAK_HARDEN_ON) harden_carved(s, p);    /* a recycled span's old bytes */
        slot_mark(s, p, HAK_ST_FREE, s->kind == HAK_SLAB_TINY, HAK_TOOLS_RT);
        hak_fl_push(&next, (hak_free_t *)(void *)p, s->key);
        hak_san_internal_done(p, sizeof(hak_free_t));
    }
    /* the end mark after the last carved slot (guard.h) */
    hak_mark_end(base + (size_t)n * s->stride, s->kind == HAK_SLAB_TINY, s->cookie, s->cls, HAK_TOOLS_RT);
    s->free = next;
    s->bumped += n;
    uint32_t end = s->first + s->bumped * s->stride;
    for (unsigned u = s->head; u < (unsigned)s->head + s->nunits; u++)
        __atomic_store_n(&c->unit[u].end, end, __ATOMIC_RELEASE);
    return n;
}


/* Try to give slab s free blocks: remote frees first (they are warm), then carving. */
static int refill(hak_slab_t *s)
{
    if (s->free) return 1;
    if (heap_collect_remote(s)) return 1;
    return carve(chunk_of(s), s) != 0;
}

/* Park s as full.  The store to s->full and the re-read of s->remote pair
 * with the remote freer's push-then-read-full: one of the two sides sees the
 * other, so no remote free is stranded on a parked slab. */
static void park_full(hak_heap_t *h, hak_slab_t *s)
{
    avail_remove(h, s);
    list_push(&h->fullq[s->cls], s);
    s->where = HAK_IN_FULL;
    /* it comes back once an eighth of it is free: unparking it for every
     * single block would make malloc park it again at once */
    hak_slab_set_low(s, s->capacity - (s->capacity + 7) / 8);
    atomic_store_explicit(&s->full, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->remote, memory_order_seq_cst) != 0) {
        atomic_store_explicit(&s->full, 0, memory_order_relaxed);
        list_remove(&h->fullq[s->cls], s);
        avail_push(h, s);
    }
}

static void unpark(hak_heap_t *h, hak_slab_t *s)
{
    atomic_store_explicit(&s->full, 0, memory_order_relaxed);
    list_remove(&h->fullq[s->cls], s);
    avail_add(h, s);
}

/* A remote freer flagged us: bring back every parked slab with remote frees. */
static void scan_full(hak_heap_t *h)
{
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *s = h->fullq[c];
        while (s) {
            hak_slab_t *nx = s->next;
            if (atomic_load_explicit(&s->remote, memory_order_acquire) != 0) unpark(h, s);
            s = nx;
        }
    }
}

/* ------------------------------------------------- free Mid blocks' pages */

/* A free Mid block of two pages or more gives the pages inside it back once
 * it has lain on its slab's local list for the decay delay.  A segregated
 * heap keeps, per class, the most blocks the class ever had live (a class's
 * population rises and falls with the program's mix): glibc_bench thread
 * (1/size from 8 B to 32 KiB, 1000 live per thread) held 2 MB of free
 * blocks of 10-32 KiB per heap at its peak.  The sweep runs with the idle
 * set's (every quarter delay, on the slow path, in the owner: the local
 * lists are its own), looks at a bounded number of blocks, and marks what
 * it saw in the block's first page, past the two links (the user bytes of a
 * free block; no key: a block handed out may show it): `seen` with the time
 * on the first look, `purged` once its pages are gone, so a block is
 * purged once per stay on the list.  A mark left over in a block that was
 * handed out and freed again only makes that block go early or stay: never
 * wrong bytes, since the pages given back are free ones.  The first page
 * (links and mark) and the next block's header stay.  Not in full mode
 * (it checks that a free block stays zero) nor under the tools. */
#define MID_PURGE_STRIDE (2u * HAK_PAGE + HAK_MID_HDR)   /* smallest stride with a whole page inside */
#define MID_PURGE_LOOKS  1024u                            /* blocks looked at per sweep */
#define MID_MARK_OFF     16u                              /* past the local and the remote link */
#define MID_SEEN   0x6e6565732d6b6168ull                  /* "hak-seen" */
#define MID_PURGED 0x6567727570616b68ull                  /* "hkapurge" */
_Static_assert(MID_MARK_OFF >= HAK_RLINK_OFF + 4 && MID_MARK_OFF + 12 <= HAK_PAGE, "mark beside the links");

typedef struct mid_mark { uint64_t word; uint32_t ms; } mid_mark_t;

/* purge what lies free long enough on s's local list; the looks left */
static unsigned mid_purge_slab(hak_slab_t *s, uint32_t now, bool all, unsigned looks)
{
    hak_free_t *b = s->free;
    while (b != NULL && looks != 0) {
        looks--;
        unsigned char *p = (unsigned char *)b;
        mid_mark_t *m = (mid_mark_t *)(void *)(p + MID_MARK_OFF);
        uint64_t me = (uintptr_t)p;
        bool seen = m->word == (MID_SEEN ^ me);
        if (all || (seen && now - m->ms >= hak_opt.decay_ms)) {
            uintptr_t lo = ((uintptr_t)p + MID_MARK_OFF + sizeof *m + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1);
            uintptr_t hi = ((uintptr_t)p + slab_usable(s)) & ~(uintptr_t)(HAK_PAGE - 1);
            if (hi > lo) os_purge((void *)lo, hi - lo);
            m->word = MID_PURGED ^ me;
        } else if (!seen && m->word != (MID_PURGED ^ me)) {
            m->word = MID_SEEN ^ me;
            m->ms = now;
        }
        /* the pop's test: a link off the grid ends the walk (the pop will report it) */
        hak_free_t *nx = hak_fl_dec(b->next_enc, s->key, b);
        if (!hak_fl_in_grid(nx, s->start, s->stride, s->recip, s->capacity)) break;
        b = nx;
    }
    return looks;
}

/* `all` (malloc_trim): every free block now, with no bound */
static void mid_purge_sweep(hak_heap_t *h, uint32_t now, bool all)
{
    if (HAK_TOOLS_ON || HAK_HARDEN_ON) return;
    unsigned looks = all ? UINT_MAX : MID_PURGE_LOOKS;
    for (unsigned c = HAK_NCLASS; c-- > HAK_NTINY && looks != 0;) {
        if (hak_class_stride[c] < MID_PURGE_STRIDE) break;   /* strides grow with the class */
        for (hak_slab_t *s = h->avail[c]; s != &hak_empty_slab && s != NULL && looks != 0; s = s->next)
            looks = mid_purge_slab(s, now, all, looks);
        for (hak_slab_t *s = h->fullq[c]; s != NULL && looks != 0; s = s->next)
            looks = mid_purge_slab(s, now, all, looks);
    }
}

/* ------------------------------------------------------------- idle set */

static size_t span_bytes(const hak_slab_t *s) { return (size_t)s->nunits * HAK_SLAB; }

static void idle_drop_at(hak_heap_t *h, unsigned i)
{
    hak_slab_t *s = h->idle[i];
    s->in_idle = 0;
    h->idle_bytes -= span_bytes(s);
    h->idle[i] = h->idle[--h->nidle];
}

static void idle_drop(hak_heap_t *h, hak_slab_t *s)
{
    for (unsigned i = 0; i < h->nidle; i++)
        if (h->idle[i] == s) { idle_drop_at(h, i); return; }
}

static void heap_release_slab(hak_heap_t *h, hak_slab_t *s);

/* Release entry i (its slab is empty) to its chunk, where slab_new finds
 * its pages still resident for whichever class asks next. */
static void idle_release_at(hak_heap_t *h, unsigned i)
{
    hak_slab_t *s = h->idle[i];
    idle_drop_at(h, i);
    heap_release_slab(h, s);
}

/* Drop entries whose slab went back into use; release the empty ones that
 * have been idle for the decay delay (all of them when `all`). */
static void idle_sweep(hak_heap_t *h, uint32_t now, bool all)
{
    for (unsigned i = h->nidle; i-- > 0;) {
        hak_slab_t *s = h->idle[i];
        if (hak_slab_used(s) != 0) idle_drop_at(h, i);
        else if (all || now - s->idle_ms >= hak_opt.decay_ms) idle_release_at(h, i);
    }
    mid_purge_sweep(h, now, all);
    h->sweep_ms = now;
}

/* a sweep every quarter of the decay delay at most */
static void idle_sweep_due(hak_heap_t *h, uint32_t now)
{
    if (now - h->sweep_ms >= hak_opt.decay_ms / 4 + 1) idle_sweep(h, now, false);
}

/* with nothing idle the clock is read on every 8th slow path, for the free
 * Mid blocks' sweep (none under the tools, where every malloc comes here
 * and the sweep does nothing) */
static void idle_sweep_maybe(hak_heap_t *h)
{
    if (h->nidle != 0 || (!HAK_TOOLS_ON && (++h->slow_calls & 7u) == 0))
        idle_sweep_due(h, (uint32_t)os_now_ms());   /* differences mod 2^32 */
}

/* s just became empty and is not listed yet: keep it, within the heap's
 * budget of empty span bytes (shared by all classes), evicting the longest
 * idle first.  The newest is kept even alone over the budget (until the
 * decay): released at once, a malloc/free loop of one block released and
 * made its span again every cycle (HAKMEM_IDLE_KB=0 HAKMEM_PURGE_KB=0,
 * `pair 16 3000000`: a purge and 16 page faults a cycle, 6M faults and 16 s
 * of system time against 0.02 s). */
static void idle_add(hak_heap_t *h, hak_slab_t *s)
{
    size_t b = span_bytes(s);
    for (unsigned i = h->nidle; i-- > 0;)
        if (hak_slab_used(h->idle[i]) != 0) idle_drop_at(h, i);
    while (h->nidle == HAK_IDLE_MAX || (h->nidle != 0 && h->idle_bytes + b > hak_opt.idle_bytes)) {
        unsigned old = 0;
        for (unsigned i = 1; i < h->nidle; i++)
            if ((int32_t)(h->idle[i]->idle_ms - h->idle[old]->idle_ms) < 0) old = i;
        idle_release_at(h, old);
    }
    uint32_t now = (uint32_t)os_now_ms();
    s->in_idle = 1;
    s->idle_ms = now;
    h->idle[h->nidle++] = s;
    h->idle_bytes += b;
    idle_sweep_due(h, now);
}

static void heap_release_slab(hak_heap_t *h, hak_slab_t *s)
{
    if (s->in_idle) idle_drop(h, s);
    if (s->where == HAK_IN_AVAIL) avail_remove(h, s);
    else if (s->where == HAK_IN_FULL) { atomic_store(&s->full, 0); list_remove(&h->fullq[s->cls], s); }
    s->where = HAK_IN_NONE;
    slab_release(s);   /* clears the owner under the lock */
}

/* ------------------------------------------------------------ heap setup */

static void *meta_alloc(size_t n);

static hak_heap_t *heap_create(void)
{
    hak_init();
    hak_heap_t *h = NULL;
    hak_lock();
    for (hak_heap_t *x = heaps; x; x = x->next_all)
        if (x->state == HAK_HEAP_FREE) { h = x; break; }
    if (!h) {
        h = meta_alloc(sizeof *h);
        if (h) {
            for (unsigned c = 0; c < HAK_NCLASS; c++) h->avail[c] = &hak_empty_slab;
            h->next_all = heaps;
            heaps = h;
        }
    }
    if (h) h->state = HAK_HEAP_LIVE;
    if (!heap_key_ok) {
        heap_key_ok = pthread_key_create(&heap_key, heap_thread_exit) == 0 ? 1 : -1;
    }
    hak_unlock();
    if (!h) return NULL;
    hak_tl_own = h;
    /* tool mode, full mode and HAKMEM_STATS=1 (which counts every malloc
     * in heap_alloc_slow, stats.c): fast paths stay on the sentinel */
    if (!HAK_TOOLS_ON && !HAK_HARDEN_ON && !hak_opt.stats) hak_tl_heap = h;
    if (heap_key_ok == 1) pthread_setspecific(heap_key, h);
    return h;
}

/* Small, never-freed metadata (heaps), carved from 64 KiB mappings. */
static void *meta_alloc(size_t n)
{
    static unsigned char *cur;
    static size_t left;
    n = (n + 63) / 64 * 64;
    if (n > left) {
        size_t len = n > 65536 ? (n + HAK_PAGE - 1) / HAK_PAGE * HAK_PAGE : 65536;
        cur = os_map(len, HAK_PAGE);
        if (!cur) { left = 0; return NULL; }
        left = len;
    }
    void *p = cur;
    cur += n;
    left -= n;
    return p;
}

/* --------------------------------------------------------------- alloc */

void *heap_alloc_slow(size_t n)
{
    unsigned c = hak_size_class(n);
    hak_heap_t *h = hak_tl_own;
    if (h == &hak_empty_heap) {
        h = heap_create();
        if (!h) { errno = ENOMEM; return NULL; }
    }
    idle_sweep_maybe(h);
    for (;;) {
        hak_slab_t *s = h->avail[c];
        while (s != &hak_empty_slab) {
            if (refill(s)) {
                /* make s the head so the fast path finds it */
                if (h->avail[c] != s) { avail_remove(h, s); avail_push(h, s); }
                /* counted here, not on the fast path: with HAKMEM_STATS=1 every
                 * malloc comes this way (stats.c) */
                h->nalloc[c]++;
                if (HAK_TOOLS_ON) return heap_pop_tools(s, c);
                return hak_class_is_tiny(c) ? heap_pop_slot(s, s->free, s->start, 1, 0)
                                            : heap_pop_slot(s, s->free, s->start, 0, 0);
            }
            hak_slab_t *nx = s->next ? s->next : &hak_empty_slab;
            park_full(h, s);
            s = nx;
        }
        if (atomic_exchange_explicit(&h->remote_full, 0, memory_order_acquire))
            scan_full(h);
        /* park_full or scan_full may have put slabs with free blocks back */
        if (h->avail[c] != &hak_empty_slab) continue;
        s = slab_adopt(c, h);
        if (!s) {
            s = slab_new(c, h);
            if (!s) { errno = ENOMEM; return NULL; }
        }
        avail_push(h, s);
    }
}

/* ---------------------------------------------------------------- free */

/* Local free left s empty, or hit a slab parked full. */
void heap_free_slow(hak_heap_t *h, hak_slab_t *s)
{
    if (s->where == HAK_IN_FULL) unpark(h, s);
    /* an empty span stays where malloc finds it, in the idle set's budget,
     * so a malloc/free loop does not thrash the global lock */
    if (hak_slab_used(s) == 0 && !s->in_idle) idle_add(h, s);   /* already listed: no clock read per free */
}

void heap_free_mid(hak_heap_t *h, hak_slab_t *s, unsigned char *p)
{
    heap_free_body(h, s, p, 0, 0);
}

/* A free by a thread that does not own the slab.  The slot is claimed first,
 * with a compare-and-swap of its tag or header from ALLOC to FREE: of any
 * number of racing frees of one pointer exactly one gets past it; the others
 * get DOUBLE and touch nothing. */
static inline __attribute__((always_inline)) hak_free_status heap_free_remote_body(hak_slab_t *s, unsigned char *p,
                                                                                  int tools, unsigned from)
{
    /* claimed into REMOTE, not FREE: only the owner's collection makes it
     * FREE, so a block the owner freed meanwhile is told apart there */
    if (!slot_claim_from(s, p, from, HAK_ST_REMOTE, tools)) return HAK_FREE_DOUBLE;
    if (tools) hak_san_free(p, slab_usable(s));
    /* Once b is pushed the slab may empty, go back and be described anew for
     * another class: what is needed of its plain fields is read now, while
     * the claimed block keeps it in use; after the push only atomics. */
    uintptr_t key = s->key, start = hak_slab_start(s);
    hak_free_t *b = (hak_free_t *)(void *)p;
    /* Once b is on the remote list the owner may pop it and hand it out at
     * once: nothing here may touch b (or its shadow) after the CAS.  The
     * remote link is written by an accessor that closes it again before the CAS. */
    uintptr_t old = atomic_load_explicit(&s->remote, memory_order_relaxed);
    uint32_t cnt;
    do {
        cnt = hak_remote_cnt(old) + 1;
        rlink_store(b, rlink_enc(hak_remote_ptr(old), start, key), tools);
    } while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, hak_remote_word(b, cnt),
                                                    memory_order_seq_cst, memory_order_relaxed));
    if (atomic_load_explicit(&s->full, memory_order_seq_cst)) {
        hak_heap_t *o = atomic_load_explicit(&s->owner, memory_order_acquire);
        if (o) atomic_store_explicit(&o->remote_full, 1, memory_order_release);
    }
    /* An abandoned slab: the free that brings the remote count up to the
     * blocks that were still out settles it (releases it once empty).  The
     * seq_cst CAS above and this load pair with the store-then-reread in
     * slab_orphan_settle: one side always sees the other. */
    if (unlikely(cnt == atomic_load_explicit(&s->orphan_left, memory_order_seq_cst)))
        slab_orphan_settle(s);
    return HAK_FREE_OK;
}

HAK_COLD static hak_free_status heap_free_remote_tools(hak_slab_t *s, unsigned char *p)
{
    return heap_free_remote_body(s, p, 1, HAK_ST_ALLOC);
}

/* The owner's free when the fast paths are off (the tools, HAKMEM_STATS=1):
 * out of line, so that the remote free below saves no registers for it. */
__attribute__((noinline)) static hak_free_status heap_free_own(hak_heap_t *me, hak_slab_t *s, unsigned char *p,
                                                               int exact)
{
    if (exact && !slot_claim(s, p, HAK_ST_FREE, HAK_TOOLS_ON)) return HAK_FREE_DOUBLE;
    heap_free_body(me, s, p, s->kind == HAK_SLAB_TINY, HAK_TOOLS_ON);
    return HAK_FREE_OK;
}

/* The block's slab is not the fast-path heap's: another thread's, or the
 * caller's own when the fast paths are off (the tools, HAKMEM_STATS=1). */
hak_free_status heap_free_other(hak_slab_t *s, unsigned char *p, int exact)
{
    /* full mode: the fast accept's every free (hak_tl_heap owns no slab) */
    if (HAK_HARDEN_ON) return harden_free_slab(s, p);
    hak_heap_t *me = hak_tl_own;
    if (unlikely(atomic_load_explicit(&s->owner, memory_order_relaxed) == me)) return heap_free_own(me, s, p, exact);
    if (HAK_TOOLS_ON) return heap_free_remote_tools(s, p);
    return heap_free_remote_body(s, p, 0, HAK_ST_ALLOC);
}

/* Full mode's quarantine hands back a block it holds FREE (harden.c). */
hak_free_status heap_free_remote_from(hak_slab_t *s, unsigned char *p, unsigned from)
{
    return heap_free_remote_body(s, p, 0, from);
}

/* ---------------------------------------------------------- thread exit */

/* Empty slabs go back; the rest are abandoned for another thread to adopt. */
static void heap_retire(hak_heap_t *h)
{
    for (unsigned i = 0; i < h->nidle; i++) h->idle[i]->in_idle = 0;   /* the lists below hold them */
    h->nidle = 0;
    h->idle_bytes = 0;
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *lists[2] = { h->avail[c] == &hak_empty_slab ? NULL : h->avail[c], h->fullq[c] };
        for (int l = 0; l < 2; l++) {
            hak_slab_t *s = lists[l];
            while (s) {
                hak_slab_t *nx = s->next;
                s->next = s->prev = NULL;
                atomic_store_explicit(&s->full, 0, memory_order_relaxed);
                heap_collect_remote(s);
                s->where = HAK_IN_NONE;
                /* the owner is cleared under the lock (slab_release / slab_abandon),
                 * after everything this thread wrote to s: hak_heap_check takes
                 * an ownerless slab as its own to read */
                if (hak_slab_used(s) == 0) slab_release(s);
                else slab_abandon(s);
                s = nx;
            }
        }
        h->avail[c] = &hak_empty_slab;
        h->fullq[c] = NULL;
    }
}

void heap_thread_exit(void *arg)
{
    hak_heap_t *h = arg;
    if (!h || h == &hak_empty_heap) return;
    if (HAK_HARDEN_ON) harden_flush();   /* its quarantined blocks first: they count as used */
    heap_retire(h);
    hak_tl_heap = &hak_empty_heap;
    hak_tl_own = &hak_empty_heap;
    hak_lock();
    h->state = HAK_HEAP_FREE;   /* its alloc counters stay: the stats sum over all heaps */
    hak_unlock();
}

/* Called by the owner (hak_trim): give back what its heap holds empty. */
void heap_collect_all(hak_heap_t *h)
{
    if (h == &hak_empty_heap) return;
    idle_sweep(h, os_now_ms(), true);
    scan_full(h);
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *s = h->avail[c];
        while (s != &hak_empty_slab && s) {
            hak_slab_t *nx = s->next;
            heap_collect_remote(s);
            if (hak_slab_used(s) == 0) heap_release_slab(h, s);
            s = nx ? nx : &hak_empty_slab;
        }
    }
}

void heap_foreach(void (*fn)(hak_heap_t *, void *), void *arg)
{
    hak_lock();
    for (hak_heap_t *h = heaps; h; h = h->next_all) fn(h, arg);
    hak_unlock();
}

/* In a forked child only the forking thread runs: heaps of the other threads
 * may be mid-update, so they are never touched again (their blocks freed
 * by the child go to remote lists and stay there). */
void heap_atfork_child(void)
{
    for (hak_heap_t *h = heaps; h; h = h->next_all)
        if (h != hak_tl_own && h->state == HAK_HEAP_LIVE) h->state = HAK_HEAP_ORPHAN;
}
