/* header_corrupt_mid_zero: the 16-byte header of a live Mid block zeroed. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(5000);
    if (!p)
        return NULL;
    c->keep = p;
    memcpy(c->saved, p - 16, 16);
    memset(p - 16, 0, 16);
    return p;
}
static void *restore(struct fctx *c) { memcpy((char *)c->keep - 16, c->saved, 16); return c->keep; }
FAULT(header_corrupt_mid_zero, V(INVALID), setup, restore);
