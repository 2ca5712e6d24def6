/* interior_zero: one byte past a live malloc(0) pointer. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(0);
    c->keep = p;
    return p + 1;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_zero, V(INVALID), setup, restore);
