/* huge.c: blocks above HAKMEM_MID_MAX, each its own chunk-aligned mapping
 * (DESIGN.md 2).  The mapping starts with its hak_chunk_t; the user pointer
 * sits HAK_HUGE_UOFF (or the requested alignment) bytes in.  Freed blocks
 * are unmapped at once; a small ring of recently freed user pointers lets
 * a second free of one be reported as DOUBLE rather than UNMAPPED. */
#include <errno.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"
#include "tag.h"

#define RING 64
/* Recently freed huge blocks: their user pointers (a second free of one reads
 * DOUBLE) and their descriptor pages, which stay mapped until the entry is
 * evicted, so a thread that read the chunk map just before the free still
 * reads a descriptor (saying FREE), never an unmapped page. */
static _Atomic uintptr_t ring[RING];
static uintptr_t ring_desc[RING];                   /* global lock */
static unsigned ring_pos;                           /* global lock */
static uint64_t live_bytes, live_blocks, nallocs;   /* global lock */

static size_t page_up(size_t n) { return (n + HAK_PAGE - 1) / HAK_PAGE * HAK_PAGE; }

void *huge_alloc(size_t n, size_t align)
{
    size_t uoff = align > HAK_HUGE_UOFF ? align : HAK_HUGE_UOFF;
    size_t maxalign = align > HAK_CHUNK ? align : HAK_CHUNK;
    if (n > PTRDIFF_MAX - uoff - maxalign - HAK_PAGE) { errno = ENOMEM; return NULL; }
    /* at least one byte, so that even malloc-size 0 leaves the user pointer inside the mapping */
    size_t len = page_up(uoff + (n ? n : 1));
    hak_chunk_t *c = os_map(len, maxalign);
    if (!c) { errno = ENOMEM; return NULL; }
    uintptr_t user = (uintptr_t)c + uoff;
    c->kind = HAK_CHUNK_HUGE;
    c->huge_uoff = uoff;
    c->huge_size = len - uoff;
    c->map_len = len;
    c->huge_check = hak_hdr_check(hak_key(user), HAK_ST_ALLOC);
    hak_lock();
    cmap_set((uintptr_t)c, len, c);
    HAK_LSAN_ROOT(c, len);
    commit_add_locked((int64_t)len);
    live_bytes += c->huge_size;
    live_blocks++;
    nallocs++;
    hak_unlock();
    /* zero in fact, but malloc's contents are indeterminate: Memcheck must
     * flag a read before a write (hak_calloc marks them defined) */
    hak_san_alloc((void *)user, c->huge_size, 0);
    return (void *)user;
}

/* Free the huge block c describes.  The state word is claimed with a
 * compare-and-swap first: of two racing frees only one unmaps anything. */
hak_free_status huge_free(hak_chunk_t *c)
{
    uintptr_t user = (uintptr_t)c + c->huge_uoff;
    uint64_t k = hak_key(user), want = hak_hdr_check(k, HAK_ST_ALLOC);
    if (!__atomic_compare_exchange_n(&c->huge_check, &want, hak_hdr_check(k, HAK_ST_FREE), 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return HAK_FREE_DOUBLE;
    size_t len = c->map_len;
    hak_san_free((void *)user, c->huge_size);
    /* ASan's shadow outlives the mapping: leave it clean for whoever maps here
     * next (only the user range was ever poisoned) */
    HAK_UNPOISON((void *)user, len - (user - (uintptr_t)c));
    hak_lock();
    cmap_clear((uintptr_t)c, len);
    HAK_LSAN_UNROOT(c, len);
    commit_add_locked(-(int64_t)len);
    live_bytes -= c->huge_size;
    live_blocks--;
    unsigned i = ring_pos++ % RING;
    uintptr_t evicted = ring_desc[i];
    ring_desc[i] = (uintptr_t)c;
    atomic_store_explicit(&ring[i], user, memory_order_relaxed);
    hak_unlock();
    os_unmap((char *)c + HAK_PAGE, len - HAK_PAGE);
    if (evicted) os_unmap((void *)evicted, HAK_PAGE);
    return HAK_FREE_OK;
}

bool huge_recently_freed(uintptr_t a)
{
    for (unsigned i = 0; i < RING; i++)
        if (atomic_load_explicit(&ring[i], memory_order_relaxed) == a) return true;
    return false;
}

/* Resize in place or move the pages (no copy).  The map entries are moved
 * under the lock; NULL with the block intact when the kernel says no. */
void *huge_realloc(hak_chunk_t *c, size_t n)
{
    size_t uoff = c->huge_uoff;
    if (n > PTRDIFF_MAX - uoff - HAK_CHUNK - HAK_PAGE) { errno = ENOMEM; return NULL; }
    size_t len = page_up(uoff + (n ? n : 1)), old = c->map_len, oldsize = c->huge_size;
    if (len == old) return (void *)((uintptr_t)c + uoff);
    hak_lock();
    cmap_clear((uintptr_t)c, old);
    HAK_LSAN_UNROOT(c, old);
    hak_chunk_t *q = os_remap(c, old, len, HAK_CHUNK);
    if (!q) {
        cmap_set((uintptr_t)c, old, c);
        HAK_LSAN_ROOT(c, old);
        hak_unlock();
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t user = (uintptr_t)q + uoff;
    q->huge_uoff = uoff;
    q->huge_size = len - uoff;
    q->map_len = len;
    q->huge_check = hak_hdr_check(hak_key(user), HAK_ST_ALLOC);
    cmap_set((uintptr_t)q, len, q);
    HAK_LSAN_ROOT(q, len);
    commit_add_locked((int64_t)len - (int64_t)old);
    live_bytes += q->huge_size - oldsize;
    hak_unlock();
    if (HAK_TOOLS_RT) {
        if ((void *)q == (void *)c) {
            VALGRIND_RESIZEINPLACE_BLOCK((void *)user, oldsize, q->huge_size, 0);
        } else {
            VALGRIND_FREELIKE_BLOCK((void *)((uintptr_t)c + uoff), 0);
            VALGRIND_MALLOCLIKE_BLOCK((void *)user, q->huge_size, 0, 0);
            VALGRIND_MAKE_MEM_DEFINED((void *)user, oldsize < q->huge_size ? oldsize : q->huge_size);
        }
    } else if (q->huge_size > oldsize) {
        HAK_UNPOISON((char *)user + oldsize, q->huge_size - oldsize);
    }
    return (void *)user;
}

void huge_stats(uint64_t *lb, uint64_t *lk, uint64_t *na)
{
    hak_lock();
    *lb = live_bytes;
    *lk = live_blocks;
    *na = nallocs;
    hak_unlock();
}
