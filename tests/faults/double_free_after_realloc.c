/* double_free_after_realloc: realloc moved a Tiny block into the Mid tier
 * (freeing the old one); the caller then frees the stale old pointer. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    void *p = malloc(16);
    void *q = realloc(p, 100000);
    c->keep = q;
    return q == p ? NULL : p;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT(double_free_after_realloc, V(DOUBLE), setup, restore);
