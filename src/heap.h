/* heap.h: the per-thread fast paths (DESIGN.md 4).  Slow paths are in heap.c. */
#ifndef HAK_HEAP_H
#define HAK_HEAP_H

#include "freelist.h"
#include "internal.h"
#include "sanitize.h"
#include "tag.h"

/* Mark the slot at p allocated (tiny tag or mid header).  The only writers of
 * tag and header state are slot_mark and the remote free (heap.c). */
static inline void slot_mark(const hak_slab_t *s, unsigned char *p, unsigned state)
{
    if (s->kind == HAK_SLAB_TINY) {
        p[-1] = hak_tag_encode(s->cookie, state);
    } else {
        hak_mid_hdr_t *h = (hak_mid_hdr_t *)(void *)(p - HAK_MID_HDR);
        h->magic = HAK_MID_MAGIC;
        h->aux = s->cls;
        h->check = hak_hdr_check(hak_key((uintptr_t)p), state);
    }
}

/* usable bytes of a block of slab s */
static inline size_t slab_usable(const hak_slab_t *s)
{
    return hak_class_usable(s->cls);
}

/* Pop a block of class c from the calling thread's heap, or NULL when the
 * current slab's local list is empty (the caller goes to heap_alloc_slow). */
static inline void *heap_pop(unsigned c)
{
    hak_heap_t *h = hak_tl_heap;
    hak_slab_t *s = h->avail[c];
    hak_free_t *b = s->free;
    if (unlikely(b == NULL)) return NULL;
    hak_san_internal(b, sizeof *b);
    hak_free_t *nx = hak_fl_dec(b->next_enc, s->key, b);
    if (unlikely(!hak_fl_in_range(nx, s->start, s->span)))
        hak_fatal("corrupted free list (heap overflow into a free block?)", b);
    s->free = nx;
    s->used++;
    h->nalloc[c]++;
    slot_mark(s, (unsigned char *)b, HAK_ST_ALLOC);
    hak_san_alloc(b, hak_class_usable(c), 0);
    return b;
}

/* Free a block that hak_classify() found live: p is the real user pointer,
 * head the head descriptor of its span. */
void heap_free_slow(hak_heap_t *h, hak_slab_t *s);
void heap_free_remote(hak_slab_t *s, unsigned char *p);

static inline void heap_free(hak_slab_t *s, unsigned char *p)
{
    hak_heap_t *h = hak_tl_heap;
    if (likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
        hak_san_free(p, slab_usable(s));
        slot_mark(s, p, HAK_ST_FREE);
        hak_san_internal(p, sizeof(hak_free_t));
        hak_fl_push(&s->free, (hak_free_t *)(void *)p, s->key);
        hak_san_internal_done(p, sizeof(hak_free_t));
        h->nfree[s->cls]++;
        if (unlikely(--s->used == 0 || s->where != HAK_IN_AVAIL))
            heap_free_slow(h, s);
        return;
    }
    heap_free_remote(s, p);
}
#endif
