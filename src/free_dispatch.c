/* free_dispatch.c: classification verdict -> action (DESIGN.md 5).
 *
 * hak_classify() (classify.h) decides; this file frees on HAK_FREE_OK and
 * hands everything else to hak_report() (report.c), which applies
 * HAKMEM_INVALID_FREE.  Before a slab block is freed, the tag or header
 * right after it must still be one of its slab's (guard.h): an overflow out
 * of the block is fatal.  The sized frees check the size first (sized.c). */
#include "free_fast.h"

/* Verdicts the classifier cannot give: a malloc(0) pointer (zero.c, never
 * in the chunk map) and a huge block already unmapped both look foreign. */
static hak_free_status refine(hak_free_status st, const void *p, hak_where_t *w)
{
    if (st != HAK_FREE_FOREIGN && st != HAK_FREE_UNMAPPED) return st;
    if (zero_owns(p)) {
        w->chunk = NULL;
        w->unit = NULL;
        w->user = (unsigned char *)(uintptr_t)p;
        return zero_state(p);
    }
    if (huge_recently_freed((uintptr_t)p)) return HAK_FREE_DOUBLE;
    return st;
}

hak_free_status hak_classify_all(const void *p, hak_where_t *w)
{
    hak_free_status st = hak_classify(p, w);
    if (likely(st == HAK_FREE_OK)) return st;
    return refine(st, p, w);
}

/* Free what hak_classify_all found live.  p is the pointer the user passed
 * (an aligned alias when it differs from w->user).  Another thread freeing
 * the same pointer at the same moment may win the slot: then DOUBLE, and
 * nothing was touched. */
__attribute__((always_inline)) inline hak_free_status hak_free_found(hak_where_t *w, void *p, int exact)
{
    hak_chunk_t *c = w->chunk;
    if (unlikely(c == NULL)) return zero_free(p);
    /* the overflow check before the tools hear of the free: a fatal overflow
     * leaves the block as it was (a caught abort must find it still live) */
    if (c->kind != HAK_CHUNK_HUGE && unlikely(!hak_next_ok(w->unit, w->user, HAK_TOOLS_RT))) hak_overflow(w->user);
    if (HAK_TOOLS_ON) tool_release(w, p);   /* the tools hear of it first (tool.c) */
    if (c->kind == HAK_CHUNK_HUGE) return huge_free(c);
    if ((unsigned char *)p != w->user) {
        /* retire the alias header first, so a second free of p reads DOUBLE
         * (through the accessor: under the tools the header is closed); the
         * retired word is keyless: the block, handed out again with the
         * header inside it, must not show a key (SECURITY.md) */
        uint64_t k = hak_key((uintptr_t)p);
        if (!hak_hdr_cas_check(p, hak_hdr_check(k, HAK_ST_ALLOC), HAK_ALIAS_RETIRED, HAK_TOOLS_RT))
            return HAK_FREE_DOUBLE;
    }
    if (HAK_HARDEN_ON) return harden_free(w->unit->slab, w->user, p);   /* full mode: quarantine */
    return heap_free(w->unit->slab, w->user, exact);
}

hak_free_status hak_classify_ptr(const void *p)
{
    hak_init();
    hak_where_t w;
    return hak_classify_all(p, &w);
}

/* The checked frees: a == 0 and !sized for hak_free_checked. */
static hak_free_status free_checked(void *p, size_t a, size_t n, bool sized)
{
    hak_init();
    hak_where_t w;
    hak_free_status st = hak_classify_all(p, &w);
    if (st == HAK_FREE_OK) {
        if ((sized || a != 0) && !hak_size_fits(&w, p, a, n, sized)) {
            st = HAK_FREE_SIZE_MISMATCH;
        } else {
            st = hak_free_found(&w, p, 1);   /* a verdict to return: exact (heap.h) */
            if (st == HAK_FREE_OK) return st;
        }
    }
    if (st != HAK_FREE_NULL) atomic_fetch_add_explicit(&hak_rejected[st], 1, memory_order_relaxed);
    return st;
}

hak_free_status hak_free_checked(void *p)
{
    return free_checked(p, 0, 0, false);
}

hak_free_status hak_free_sized_checked(void *p, size_t a, size_t n)
{
    /* the public spelling of free_aligned_sized has no alignment 0 */
    return free_checked(p, a, n, true);
}

/* The rare outcomes of a free: not a live block of the calling thread's
 * heap.  The classifier's findings come in registers, not through memory. */
HAK_COLD static void free_rare(void *p, hak_free_status st, hak_chunk_t *chunk, hak_unit_t *unit,
                               unsigned char *user, const char *fn)
{
    hak_where_t w = { chunk, unit, user };
    if (st != HAK_FREE_OK) st = refine(st, p, &w);
    if (st == HAK_FREE_OK) {
        st = hak_free_found(&w, p, 0);
        if (st == HAK_FREE_OK) return;
    }
    if (st == HAK_FREE_NULL) return;
    hak_report(st, p, fn);
}

/* Full mode: every free lands here, and a tiny block at its own start is
 * freed in one step, without a second look at its unit (harden.c).  Both
 * calls are tail calls: no frame. */
__attribute__((noinline)) static void free_slow(void *p, hak_free_status st, hak_chunk_t *chunk, hak_unit_t *unit,
                                                unsigned char *user, const char *fn)
{
    if (HAK_HARDEN_ON && st == HAK_FREE_OK && unit != NULL && (unsigned char *)p == user &&
        unit->kind == HAK_SLAB_TINY) {
        harden_free_tiny(unit, p, fn);
        return;
    }
    free_rare(p, st, chunk, unit, user, fn);
}

/* The full gate: every verdict, every tier. */
__attribute__((flatten)) void hak_free_named(void *p, const char *fn)
{
    hak_where_t w = { NULL, NULL, NULL };
    hak_free_status st = hak_classify(p, &w);
    if (likely(st == HAK_FREE_OK) && likely(w.unit != NULL) && likely((unsigned char *)p == w.user)) {
        hak_unit_t *u = w.unit;
        hak_slab_t *s = u->slab;
        hak_heap_t *h = hak_tl_heap;
        if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
            if (likely(u->kind == HAK_SLAB_TINY)) {
                if (unlikely(!hak_next_ok_tiny_own(s, u, p, u->stride, u->cookie))) hak_overflow(p);
                heap_free_body(h, s, p, 1, 0);
            } else {
                if (unlikely(!hak_next_ok_mid(p, u->stride, u->cls, 0))) hak_overflow(p);
                heap_free_mid(h, s, p);
            }
            return;
        }
    }
    free_slow(p, st, w.chunk, w.unit, w.user, fn);
}

/* A live tiny block of another thread's slab. */
__attribute__((noinline)) static void free_remote(hak_slab_t *s, void *p, const char *fn)
{
    if (unlikely(heap_free_other(s, p, 0) != HAK_FREE_OK)) hak_report(HAK_FREE_DOUBLE, p, fn);
}

/* The fast accept of free() and of the sized frees: a live tiny block is
 * freed right here, with no call and no stack frame (another thread's block
 * goes to its remote list), and true comes back; everything else returns
 * false and goes through a full gate.  The decision is the proved
 * hak_free_fast (free_fast.h); `sized` (a constant in each instance) adds
 * its size test.  Under the tools (Memcheck, ASan) the arena is empty
 * (chunk_map.h), so the fast accept, which reads the tag bytes those tools
 * keep closed, never accepts. */
static inline __attribute__((always_inline)) bool free_fast(unsigned char *p, size_t n, int sized, const char *fn)
{
    hak_fast_t f = hak_free_fast(p, n, sized);
    if (likely(f.how == HAK_FAST_OWN))
        heap_free_tiny(f.h, f.s, p);
    else if (f.how == HAK_FAST_REMOTE)
        free_remote(f.s, p, fn);
    else
        return false;
    return true;
}

/* What free_fast does not accept: a live mid block is freed here, with one
 * look at its header (hak_mid_live, which leaves the check word it read:
 * the owner's FREE word is that one flipped, so the key is mixed for the
 * next header's check only), another thread's going to its remote list as
 * from the gate.  `sized` (a constant in each instance) adds the size test
 * of a sized free, the proved hak_mid_size_fits (sized.c has the whole
 * rule).  False: the caller takes its full gate.  Inlined into two
 * out-of-line callers, so the tiny path stays as it is. */
static inline __attribute__((always_inline)) bool free_mid_body(unsigned char *p, size_t n, int sized,
                                                                const char *fn)
{
    hak_chunk_t *c;
    uint64_t chk;
    hak_unit_t *u = hak_mid_live(p, &c, &chk);
    if (unlikely(u == NULL) || (sized && unlikely(!hak_mid_size_fits(n, u->cls)))) return false;
    hak_slab_t *s = u->slab;
    hak_heap_t *h = hak_tl_heap;
    /* the next header's check in each branch, not hoisted: hoisted, the
     * owner's path spills (9 instructions more per 2 KiB pair) */
    if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
        if (unlikely(!hak_next_ok_mid(p, u->stride, u->cls, 0))) hak_overflow(p);
        hak_hdr_set_check(p, chk ^ (HAK_ST_ALLOC ^ HAK_ST_FREE), 0);
        heap_free_push(h, s, p, 0);
        return true;
    }
    if (HAK_HARDEN_ON) return false;   /* another thread's, full mode: the gate's harden_free */
    if (unlikely(!hak_next_ok_mid(p, u->stride, u->cls, 0))) hak_overflow(p);
    free_remote(s, p, fn);             /* as free_fast's tiny branch */
    return true;
}

__attribute__((noinline)) static void free_mid(unsigned char *p, const char *fn)
{
    if (free_mid_body(p, 0, 0, fn)) return;
    hak_free_named(p, fn);
}

void hak_free(void *p)
{
    if (free_fast(p, 0, 0, "free")) return;
    free_mid(p, "free");
}

/* free() under another name (C++ delete) */
void hak_free_fast_named(void *p, const char *fn)
{
    if (free_fast(p, 0, 0, fn)) return;
    free_mid(p, fn);
}

/* ------------------------------------------------------------ sized frees */

/* Everything but the fast accept: a == 0 for no alignment given. */
HAK_COLD static void free_sized_slow(void *p, size_t a, size_t n, bool sized, const char *fn)
{
    hak_where_t w = { NULL, NULL, NULL };
    hak_free_status st = hak_classify_all(p, &w);
    if (st == HAK_FREE_OK) {
        if (!hak_size_fits(&w, p, a, n, sized)) {
            st = HAK_FREE_SIZE_MISMATCH;
        } else {
            st = hak_free_found(&w, p, 0);
            if (st == HAK_FREE_OK) return;
        }
    }
    if (st == HAK_FREE_NULL) return;
    hak_report(st, p, fn);
}

/* free_sized's mid block: the fast accept, else the gate */
__attribute__((noinline)) static void free_mid_sized(void *p, size_t n, const char *fn)
{
    if (free_mid_body(p, n, 1, fn)) return;
    free_sized_slow(p, 0, n, true, fn);
}

void hak_free_sized_named(void *p, size_t n, const char *fn)
{
    if (free_fast(p, n, 1, fn)) return;
    free_mid_sized(p, n, fn);
}

void hak_free_aligned_sized_named(void *p, size_t a, size_t n, const char *fn)
{
    /* up to HAK_ALIGN every pointer is aligned and aligned(a, n) is malloc(n) */
    if (a != 0 && a <= HAK_ALIGN && (a & (a - 1)) == 0 && free_fast(p, n, 1, fn)) return;
    free_sized_slow(p, a == 0 ? SIZE_MAX : a, n, true, fn);   /* SIZE_MAX: no power of two fits */
}

void hak_free_aligned_named(void *p, size_t a, const char *fn)
{
    if (a != 0 && a <= HAK_ALIGN && (a & (a - 1)) == 0 && free_fast(p, 0, 0, fn)) return;
    free_sized_slow(p, a == 0 ? SIZE_MAX : a, 0, false, fn);
}

void hak_free_sized(void *p, size_t n)
{
    if (free_fast(p, n, 1, "free_sized")) return;
    free_mid_sized(p, n, "free_sized");
}

void hak_free_aligned_sized(void *p, size_t a, size_t n)
{
    hak_free_aligned_sized_named(p, a, n, "free_aligned_sized");
}
