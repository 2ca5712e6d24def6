/* interior_tiny_user_tag: the user copies a live block's tag byte in front of
 * a 16-aligned interior address (p + 31 = tag, free p + 32). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(256);
    if (!p)
        return NULL;
    c->keep = p;
    p[31] = p[-1];
    return p + 32;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_tiny_user_tag, V(INVALID), setup, restore);
