/* overflow_tiny_link: an overflow that leaves the next slot's tag as it was
 * and flips one bit of that FREE slot's free-list link, 8 bytes past the
 * usable end (hardened_malloc's overflow_small_8_byte).  The owner's free
 * decodes the link of a FREE neighbour (guard.h): fatal. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    (void)c;
    char *p = malloc(40), *q = malloc(40);
    size_t u = malloc_usable_size(p);
    /* two neighbours: the list hands a fresh slab's slots out ascending,
     * but a recycled list may not (the others stay allocated) */
    for (int i = 0; i < 4096 && q != p + u + 1; i++) {
        p = q;
        q = malloc(40);
    }
    if (q != p + u + 1) abort();
    free(q);             /* FREE: its first word is an encoded link */
    p[u + 7] ^= 1;       /* the link's byte 6: the tag at p + u is untouched */
    return p;
}
FAULT_FATAL(overflow_tiny_link, FAULT_OVERFLOW_MSG, setup);
