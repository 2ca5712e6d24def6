/* heap.c: per-thread heaps: refill, parking full slabs, remote frees,
 * thread exit (DESIGN.md 4).  The fast paths are in heap.h. */
#include <errno.h>
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
    s->low_water = 0;
}

static void avail_push(hak_heap_t *h, hak_slab_t *s)
{
    hak_slab_t **head = &h->avail[s->cls];
    s->prev = NULL;
    s->next = *head == &hak_empty_slab ? NULL : *head;
    if (s->next) s->next->prev = s;
    *head = s;
    s->where = HAK_IN_AVAIL;
    s->low_water = 0;
}

/* ------------------------------------------------------------- refilling */

/* Move the remote-free list into the local one; returns blocks gained.
 * `tools` is a constant in each instance: the hooks cost nothing otherwise. */
static inline __attribute__((always_inline)) uint32_t collect_remote_body(hak_slab_t *s, int tools)
{
    uintptr_t r = atomic_exchange_explicit(&s->remote, 0, memory_order_acquire);
    if (r == 0) return 0;
    hak_free_t *first = (hak_free_t *)r, *b = first;
    uint32_t n = 1;
    for (;;) {
        if (tools) hak_san_internal(b, sizeof *b);
        hak_free_t *nx = hak_fl_dec(b->next_enc, s->key, b);
        if (!hak_fl_in_range(nx, hak_slab_start(s), s->span))
            hak_fatal("corrupted remote free list", b);
        if (nx == NULL) break;
        if (tools) hak_san_internal_done(b, sizeof *b);
        b = nx;
        if (++n > s->capacity) hak_fatal("remote free list loops", b);
    }
    b->next_enc = hak_fl_enc(s->free, s->key, b);   /* splice: tail -> local list */
    if (tools) hak_san_internal_done(b, sizeof *b);
    s->free = first;
    s->used -= n;
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

static hak_chunk_t *chunk_of(hak_slab_t *s)
{
    uintptr_t a = (uintptr_t)s;
    return (hak_chunk_t *)(a - a % HAK_CHUNK);
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
    s->low_water = s->capacity - (s->capacity + 7) / 8;
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

static void heap_release_slab(hak_heap_t *h, hak_slab_t *s)
{
    if (s->where == HAK_IN_AVAIL) avail_remove(h, s);
    else if (s->where == HAK_IN_FULL) { atomic_store(&s->full, 0); list_remove(&h->fullq[s->cls], s); }
    s->where = HAK_IN_NONE;
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    slab_release(s);
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
    if (!HAK_TOOLS_ON) hak_tl_heap = h;   /* tool mode: fast paths stay on the sentinel */
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
    for (;;) {
        hak_slab_t *s = h->avail[c];
        while (s != &hak_empty_slab) {
            if (refill(s)) {
                /* make s the head so the fast path finds it */
                if (h->avail[c] != s) { avail_remove(h, s); avail_push(h, s); }
                if (HAK_TOOLS_ON)
                    return heap_pop_body(h, s, s->free, c, hak_class_is_tiny(c), 1);
                return hak_class_is_tiny(c) ? heap_pop_body(h, s, s->free, c, 1, 0)
                                            : heap_pop_body(h, s, s->free, c, 0, 0);
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
            s = slab_new(c);
            if (!s) { errno = ENOMEM; return NULL; }
            atomic_store_explicit(&s->owner, h, memory_order_release);
        }
        avail_push(h, s);
    }
}

/* ---------------------------------------------------------------- free */

/* Local free left s empty, or hit a slab parked full. */
void heap_free_slow(hak_heap_t *h, hak_slab_t *s)
{
    if (s->used == 0) {
        /* keep one slab per class so a malloc/free loop does not thrash the
         * global lock; release the others */
        if (s->where == HAK_IN_AVAIL && h->avail[s->cls] == s && s->next == NULL) return;
        heap_release_slab(h, s);
        return;
    }
    if (s->where == HAK_IN_FULL) unpark(h, s);
}

static hak_free_status heap_free_remote(hak_slab_t *s, unsigned char *p);

void heap_free_mid(hak_heap_t *h, hak_slab_t *s, unsigned char *p)
{
    heap_free_body(h, s, p, 0, 0);
}

/* The block's slab is not the fast-path heap's: tool mode, or another thread's. */
hak_free_status heap_free_other(hak_slab_t *s, unsigned char *p)
{
    hak_heap_t *me = hak_tl_own;
    if (HAK_TOOLS_ON && atomic_load_explicit(&s->owner, memory_order_relaxed) == me) {
        heap_free_body(me, s, p, s->kind == HAK_SLAB_TINY, 1);
        return HAK_FREE_OK;
    }
    return heap_free_remote(s, p);
}

/* A free by a thread that does not own the slab.  The slot is claimed first,
 * with a compare-and-swap of its tag or header from ALLOC to FREE: of any
 * number of racing frees of one pointer exactly one gets past it; the others
 * get DOUBLE and touch nothing. */
static inline __attribute__((always_inline)) hak_free_status heap_free_remote_body(hak_slab_t *s, unsigned char *p,
                                                                                  int tools)
{
    hak_heap_t *me = hak_tl_own;
    if (s->kind == HAK_SLAB_TINY) {
        uint8_t want = hak_tag_encode(s->cookie, HAK_ST_ALLOC);
        if (!hak_tag_cas(p, want, hak_tag_encode(s->cookie, HAK_ST_FREE), tools))
            return HAK_FREE_DOUBLE;
    } else {
        uint64_t k = hak_key((uintptr_t)p);
        if (!hak_hdr_cas_check(p, hak_hdr_check(k, HAK_ST_ALLOC), hak_hdr_check(k, HAK_ST_FREE), tools))
            return HAK_FREE_DOUBLE;
    }
    /* A slab whose owner died is claimed by the first thread that frees into
     * it: later frees are local, and the slab can go back once empty. */
    if (atomic_load_explicit(&s->owner, memory_order_relaxed) == NULL && me != &hak_empty_heap &&
        slab_claim(s, me)) {
        heap_collect_remote(s);
        avail_push(me, s);
        heap_free_body(me, s, p, s->kind == HAK_SLAB_TINY, tools);   /* re-marks FREE: harmless */
        return HAK_FREE_OK;
    }
    if (tools) hak_san_free(p, slab_usable(s));
    hak_free_t *b = (hak_free_t *)(void *)p;
    /* Once b is on the remote list the owner may pop it and hand it out at
     * once: nothing here may touch b (or its shadow) after the CAS.  The
     * link is written by an accessor that closes it again before the CAS. */
    uintptr_t old = atomic_load_explicit(&s->remote, memory_order_relaxed);
    do {
        hak_link_store(b, hak_fl_enc((hak_free_t *)old, s->key, b), tools);
    } while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, (uintptr_t)b,
                                                    memory_order_seq_cst, memory_order_relaxed));
    if (me != &hak_empty_heap) me->nfree[s->cls]++;
    else atomic_fetch_add_explicit(&hak_heapless_frees[s->cls], 1, memory_order_relaxed);
    if (atomic_load_explicit(&s->full, memory_order_seq_cst)) {
        hak_heap_t *o = atomic_load_explicit(&s->owner, memory_order_acquire);
        if (o) atomic_store_explicit(&o->remote_full, 1, memory_order_release);
    }
    return HAK_FREE_OK;
}

static hak_free_status heap_free_remote(hak_slab_t *s, unsigned char *p)
{
    return HAK_TOOLS_ON ? heap_free_remote_body(s, p, 1) : heap_free_remote_body(s, p, 0);
}

/* ---------------------------------------------------------- thread exit */

/* Empty slabs go back; the rest are abandoned for another thread to adopt. */
static void heap_retire(hak_heap_t *h)
{
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
                atomic_store_explicit(&s->owner, NULL, memory_order_release);
                if (s->used == 0) slab_release(s);
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
    heap_retire(h);
    hak_tl_heap = &hak_empty_heap;
    hak_tl_own = &hak_empty_heap;
    hak_lock();
    h->state = HAK_HEAP_FREE;   /* counters stay: the stats sum over all heaps */
    hak_unlock();
}

/* Called by the owner (hak_trim): give back what its heap holds empty. */
void heap_collect_all(hak_heap_t *h)
{
    if (h == &hak_empty_heap) return;
    scan_full(h);
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *s = h->avail[c];
        while (s != &hak_empty_slab && s) {
            hak_slab_t *nx = s->next;
            heap_collect_remote(s);
            if (s->used == 0) heap_release_slab(h, s);
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
