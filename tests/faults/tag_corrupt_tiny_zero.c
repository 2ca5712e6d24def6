/* tag_corrupt_tiny_zero: the tag byte of a live Tiny block zeroed (a string
 * terminator written one byte too far back). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(200);
    if (!p)
        return NULL;
    c->keep = p;
    c->saved[0] = p[-1];
    p[-1] = 0;
    return p;
}
static void *restore(struct fctx *c) { ((unsigned char *)c->keep)[-1] = c->saved[0]; return c->keep; }
FAULT(tag_corrupt_tiny_zero, V(INVALID), setup, restore);
