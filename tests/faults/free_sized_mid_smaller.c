/* free_sized_mid_smaller: free_sized(malloc(100000), 16). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = malloc(100000);
    c->size = 16;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_sized_mid_smaller, V(SIZE_MISMATCH), FOP_FREE_SIZED, setup, restore);
