/* interior_mid_user_header: the user writes a copy of a valid Mid header
 * (the 16 bytes in front of p) at p + 64 and frees p + 80: the forged header
 * is only in-band data, the out-of-band metadata must reject it. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(8000);
    if (!p)
        return NULL;
    c->keep = p;
    memcpy(p + 64, p - 16, 16);
    return p + 80;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_mid_user_header, V(INVALID), setup, restore);
