/* tag_corrupt_tiny: the tag byte p[-1] of a live Tiny block overwritten (an
 * underflow by one byte).  restore() writes it back; the block then frees.
 * The top bit flipped: state ALLOC + 128, never a valid state whatever the
 * slab's cookie (flipping all eight bits gave FREE or REMOTE for 2 cookies
 * of 252: a DOUBLE verdict in one run of about 125). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(64);
    if (!p)
        return NULL;
    c->keep = p;
    c->saved[0] = p[-1];
    p[-1] ^= 0x80;
    return p;
}
static void *restore(struct fctx *c) { ((unsigned char *)c->keep)[-1] = c->saved[0]; return c->keep; }
FAULT(tag_corrupt_tiny, V(INVALID), setup, restore);
