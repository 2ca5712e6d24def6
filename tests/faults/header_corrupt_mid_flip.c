/* header_corrupt_mid_flip: every byte of a live Mid block's header xor 0x55. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(100000);
    if (!p)
        return NULL;
    c->keep = p;
    memcpy(c->saved, p - 16, 16);
    for (int i = 1; i <= 16; i++)
        p[-i] ^= 0x55;
    return p;
}
static void *restore(struct fctx *c) { memcpy((char *)c->keep - 16, c->saved, 16); return c->keep; }
FAULT(header_corrupt_mid_flip, V(INVALID), setup, restore);
