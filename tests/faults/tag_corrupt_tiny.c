/* tag_corrupt_tiny: the tag byte p[-1] of a live Tiny block overwritten (an
 * underflow by one byte).  restore() writes it back; the block then frees. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(64);
    if (!p)
        return NULL;
    c->keep = p;
    c->saved[0] = p[-1];
    p[-1] ^= 0xff;
    return p;
}
static void *restore(struct fctx *c) { ((unsigned char *)c->keep)[-1] = c->saved[0]; return c->keep; }
FAULT(tag_corrupt_tiny, V(INVALID), setup, restore);
