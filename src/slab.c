/* slab.c: chunks and slab spans, under the global lock (DESIGN.md 2-3).
 *
 * A chunk's unit 0 holds its descriptor; units 1..31 are handed out as spans.
 * Released spans stay mapped (a descriptor or tag read through a stale
 * pointer must never fault) and are purged with MADV_DONTNEED once more than
 * hak_opt.purge_bytes of them are dirty. */
#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"
#include "tag.h"

static hak_chunk_t *chunks;                  /* every slab chunk */
static hak_slab_t *abandoned[HAK_NCLASS];    /* slabs whose owner thread died */
static size_t dirty_bytes;                   /* released, not yet purged */
static uint64_t committed, peak;             /* bytes of spans and huge mappings in use */

/* Account n bytes more (or fewer) held from the OS; caller holds the lock. */
void commit_add_locked(int64_t n)
{
    committed += (uint64_t)n;
    if (committed > peak) peak = committed;
}

uint64_t commit_locked(void) { return committed; }

#define ALL_UNITS 0xfffffffeu                /* units 1..31 */

/* A huge block's user pointer sits HAK_HUGE_UOFF past its descriptor, and a
 * slab chunk's descriptor must fit in unit 0. */
_Static_assert(sizeof(hak_chunk_t) <= HAK_HUGE_UOFF, "chunk descriptor overlaps a huge block");
_Static_assert(sizeof(hak_chunk_t) <= HAK_SLAB, "chunk descriptor larger than unit 0");
_Static_assert(sizeof(hak_unit_t) == 32, "the unit stride is assumed to be a power of two");

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

/* first run of k free units in mask, or 0 */
static unsigned find_run(uint32_t mask, unsigned k)
{
    uint32_t run = (1u << k) - 1u;   /* k <= 31: spans never cover unit 0 */
    for (unsigned u = 1; u + k <= HAK_NSLAB; u++)
        if (((mask >> u) & run) == run) return u;
    return 0;
}

static hak_chunk_t *chunk_new(void)
{
    hak_chunk_t *c = os_map(HAK_CHUNK, HAK_CHUNK);
    if (!c) return NULL;
    c->kind = HAK_CHUNK_SLABS;
    c->free_units = ALL_UNITS;
    for (unsigned u = 0; u < HAK_NSLAB; u++) {
        c->unit[u].stride = HAK_ALIGN;   /* never 0: the classifier divides by it */
        c->unit[u].head = (uint8_t)u;
    }
    /* ASan: all of the chunk but its descriptor is off limits until carved */
    HAK_POISON((char *)c + HAK_SLAB, HAK_CHUNK - HAK_SLAB);
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_NOACCESS((char *)c + HAK_SLAB, HAK_CHUNK - HAK_SLAB);
    c->next = chunks;
    chunks = c;
    cmap_set((uintptr_t)c, HAK_CHUNK, c);
    HAK_LSAN_ROOT(c, HAK_CHUNK);
    return c;
}

hak_slab_t *slab_new(unsigned cls)
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
    commit_add_locked((int64_t)k * HAK_SLAB);
    /* the descriptors are written under the lock too, so a fork() never
     * sees a unit that is taken but not yet described */

    hak_slab_t *s = &c->slab[u];
    uint32_t stride = hak_class_stride[cls];
    uint32_t first = u * HAK_SLAB + HAK_FIRST;
    uint32_t cap = (k * HAK_SLAB - HAK_FIRST) / stride;
    uintptr_t start = (uintptr_t)c + first;
    uint64_t key = hak_key(start);
    uint8_t kind = hak_class_is_tiny(cls) ? HAK_SLAB_TINY : HAK_SLAB_MID;
    uint8_t cookie = (uint8_t)(1u + key % 253u);
    s->free = NULL;
    s->used = 0;
    s->low_water = 0;
    s->where = HAK_IN_NONE;
    s->kind = kind;
    s->cls = (uint8_t)cls;
    s->cookie = cookie;
    s->key = (uintptr_t)(key * 0x9e3779b97f4a7c15ull) | 1u;
    s->start = start;
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_UNDEFINED(&s->start, sizeof s->start);   /* hidden from the leak scan */
    s->span = (uintptr_t)cap * stride;
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->remote, 0, memory_order_relaxed);
    atomic_store_explicit(&s->full, 0, memory_order_relaxed);
    s->head = (uint8_t)u;
    s->nunits = (uint8_t)k;
    s->capacity = cap;
    s->bumped = 0;
    s->stride = stride;
    s->first = first;
    s->next = s->prev = NULL;
    /* grid fields first, kind last (released): a racing classifier of a
     * stale pointer sees either UNUSED or a complete grid */
    for (unsigned i = u; i < u + k; i++) {
        hak_unit_t *x = &c->unit[i];
        x->first = first;
        x->end = first;              /* nothing carved yet: nothing on the grid */
        x->stride = stride;
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

#define PURGE_CAP ((size_t)8 << 20)

/* Dirty bytes kept before purging: HAKMEM_PURGE_KB, or an eighth of what is
 * in use (at most 8 MiB) when that is more, so a large heap that churns (realloc growth,
 * phases of alloc and free) does not fault its pages back in after every
 * release.  Caller holds the lock. */
static size_t purge_limit(void)
{
    size_t eighth = (size_t)(committed / 8);
    if (eighth > PURGE_CAP) eighth = PURGE_CAP;
    return eighth > hak_opt.purge_bytes ? eighth : hak_opt.purge_bytes;
}

static void purge_locked(void)
{
    for (hak_chunk_t *c = chunks; c; c = c->next) {
        uint32_t dirty = c->free_units & c->dirty_units;
        c->dirty_units = 0;
        unsigned u = 1;
        while (u < HAK_NSLAB) {
            if (!((dirty >> u) & 1u)) { u++; continue; }
            unsigned v = u;
            while (v < HAK_NSLAB && ((dirty >> v) & 1u)) v++;
            os_purge((char *)c + (size_t)u * HAK_SLAB, (size_t)(v - u) * HAK_SLAB);
            u = v;
        }
    }
    dirty_bytes = 0;
}

void slab_release(hak_slab_t *s)
{
    hak_chunk_t *c = (hak_chunk_t *)((uintptr_t)s - (uintptr_t)s % HAK_CHUNK);
    unsigned u = s->head, k = s->nunits;
    huge_tick();
    HAK_POISON((char *)c + (size_t)u * HAK_SLAB, (size_t)k * HAK_SLAB);
    if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_NOACCESS((char *)c + (size_t)u * HAK_SLAB, (size_t)k * HAK_SLAB);
    hak_lock();
    for (unsigned i = u; i < u + k; i++)
        __atomic_store_n(&c->unit[i].kind, HAK_SLAB_UNUSED, __ATOMIC_RELEASE);
    c->free_units |= ((1u << k) - 1u) << u;
    c->dirty_units |= ((1u << k) - 1u) << u;
    commit_add_locked(-(int64_t)k * HAK_SLAB);
    dirty_bytes += (size_t)k * HAK_SLAB;
    if (dirty_bytes > purge_limit()) purge_locked();
    hak_unlock();
}

void slab_abandon(hak_slab_t *s)
{
    hak_lock();
    s->where = HAK_IN_ABANDONED;
    s->prev = NULL;
    s->next = abandoned[s->cls];
    if (s->next) s->next->prev = s;
    abandoned[s->cls] = s;
    hak_unlock();
}

hak_slab_t *slab_adopt(unsigned cls, hak_heap_t *h)
{
    if (__atomic_load_n(&abandoned[cls], __ATOMIC_RELAXED) == NULL) return NULL;
    hak_lock();
    hak_slab_t *s = abandoned[cls];
    if (s) {
        abandoned[cls] = s->next;
        if (s->next) s->next->prev = NULL;
        s->next = s->prev = NULL;
        s->where = HAK_IN_NONE;
        atomic_store_explicit(&s->owner, h, memory_order_release);
    }
    hak_unlock();
    return s;
}

/* Take over abandoned slab s for heap h, unless someone else already did. */
bool slab_claim(hak_slab_t *s, hak_heap_t *h)
{
    bool ok = false;
    hak_lock();
    if (s->where == HAK_IN_ABANDONED && atomic_load_explicit(&s->owner, memory_order_relaxed) == NULL) {
        if (s->prev) s->prev->next = s->next; else abandoned[s->cls] = s->next;
        if (s->next) s->next->prev = s->prev;
        s->next = s->prev = NULL;
        s->where = HAK_IN_NONE;
        atomic_store_explicit(&s->owner, h, memory_order_release);
        ok = true;
    }
    hak_unlock();
    return ok;
}

/* Return memory: abandoned slabs whose blocks all came back are released,
 * then every dirty free unit is purged. */
int slab_purge(bool all)
{
    hak_lock();
    size_t before = dirty_bytes;
    hak_slab_t *empty = NULL;
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        hak_slab_t *s = abandoned[c];
        while (s) {
            hak_slab_t *nx = s->next;
            /* no owner: under the lock we may drain its remote list */
            heap_collect_remote(s);
            if (s->used == 0) {
                if (s->prev) s->prev->next = s->next; else abandoned[c] = s->next;
                if (s->next) s->next->prev = s->prev;
                s->where = HAK_IN_NONE;       /* no longer claimable */
                s->prev = NULL;
                s->next = empty;
                empty = s;
            }
            s = nx;
        }
    }
    hak_unlock();
    while (empty) { hak_slab_t *nx = empty->next; empty->next = NULL; slab_release(empty); empty = nx; }
    hak_lock();
    int released = dirty_bytes > 0 || before > 0;
    if (all || dirty_bytes > purge_limit()) purge_locked();
    hak_unlock();
    return released;
}

void slab_stats(uint64_t *cm, uint64_t *pk)
{
    hak_lock();
    *cm = committed;
    *pk = peak;
    hak_unlock();
}

/* Walk one list of slab s (local or remote): every link decodes inside the
 * slab onto a carved slot whose tag/header says FREE.  Returns its length,
 * or -1 when something is off. */
__attribute__((no_sanitize("address"))) static long check_list(const hak_slab_t *s, uintptr_t head)
{
    long n = 0;
    for (uintptr_t b = head; b != 0; n++) {
        if (n > (long)s->capacity) return -1;                   /* a loop */
        if (b - hak_slab_start(s) >= s->span) return -1;                 /* outside the slab */
        uintptr_t i = (b - hak_slab_start(s)) / s->stride;
        if ((b - hak_slab_start(s)) % s->stride != 0 || i >= s->bumped) return -1;
        const unsigned char *p = (const unsigned char *)b;
        if (s->kind == HAK_SLAB_TINY) {
            if (hak_tag_state(p[-1], s->cookie) != HAK_ST_FREE) return -1;
        } else {
            const hak_mid_hdr_t *h = (const hak_mid_hdr_t *)(const void *)(p - HAK_MID_HDR);
            if (h->magic != HAK_MID_MAGIC || hak_hdr_state(h->check, hak_key(b)) != HAK_ST_FREE) return -1;
        }
        b = ((const hak_free_t *)p)->next_enc ^ s->key ^ b;
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
            if (x->stride == 0) { bad = -4; break; }
            if (isfree || x->head != u) continue;
            hak_slab_t *s = &c->slab[u];
            /* a forked child's orphaned heaps may have been mid-update: skip them */
            hak_heap_t *o = atomic_load_explicit(&s->owner, memory_order_relaxed);
            if (o && o->state == HAK_HEAP_ORPHAN) continue;
            if (s->nunits == 0 || u + s->nunits > HAK_NSLAB || s->head != u || x->slab != s) { bad = -4; break; }
            if (s->bumped > s->capacity || s->used > s->bumped) { bad = -5; break; }
            if (x->end != s->first + s->bumped * s->stride || x->first != s->first) { bad = -6; break; }
            if (s->stride != hak_class_stride[s->cls] || x->cls != s->cls || x->kind != s->kind ||
                x->cookie != s->cookie) { bad = -7; break; }
            if (o == NULL || o == hak_tl_own) {
                long nf = check_list(s, (uintptr_t)s->free);
                long nr = check_list(s, atomic_load_explicit(&s->remote, memory_order_acquire));
                if (nf < 0 || nr < 0) { bad = -9; break; }
                if (s->used + (uint64_t)nf != s->bumped || (uint64_t)nr > s->used) {
                    bad = -10;
                    break;
                }
            }
            for (unsigned i = u + 1; i < u + s->nunits; i++) {
                hak_unit_t *y = &c->unit[i];
                if (y->head != u || y->end != x->end || y->stride != x->stride || y->first != x->first ||
                    y->kind != x->kind || y->slab != s)
                    bad = -8;
            }
        }
    }
    hak_unlock();
    if (HAK_TOOLS_RT) VALGRIND_ENABLE_ERROR_REPORTING;
    return bad;
}
