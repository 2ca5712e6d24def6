/* freelist.h: intrusive free lists with encoded links (DESIGN.md 3).
 *
 * A free slot's first word holds next ^ key ^ (address of the slot), so an
 * overflow that rewrites it cannot point the list at a chosen address
 * without the key, and a decoded link is checked to stay inside its slab
 * before it is followed. */
#ifndef HAK_FREELIST_H
#define HAK_FREELIST_H

#include <stdint.h>
#include "types.h"

/*@ assigns \nothing;
    ensures \result == ((uintptr_t)next ^ key ^ (uintptr_t)slot); */
static inline uintptr_t hak_fl_enc(const hak_free_t *next, uintptr_t key, const hak_free_t *slot)
{
    return (uintptr_t)next ^ key ^ (uintptr_t)slot;
}

/*@ assigns \nothing;
    ensures \result == (hak_free_t *)(e ^ key ^ (uintptr_t)slot); */
static inline hak_free_t *hak_fl_dec(uintptr_t e, uintptr_t key, const hak_free_t *slot)
{
    return (hak_free_t *)(e ^ key ^ (uintptr_t)slot);
}

/* a decoded link is acceptable: NULL or inside [start, start + span) */
static inline int hak_fl_in_range(const hak_free_t *n, uintptr_t start, uintptr_t span)
{
    return n == NULL || (uintptr_t)n - start < span;
}

/*@ requires \valid(head) && \valid(b);
    assigns *head, b->next_enc;
    ensures *head == b;
    ensures (b->next_enc ^ key ^ (uintptr_t)b) == (uintptr_t)\old(*head); */
static inline void hak_fl_push(hak_free_t **head, hak_free_t *b, uintptr_t key)
{
    b->next_enc = hak_fl_enc(*head, key, b);
    *head = b;
}
#endif
