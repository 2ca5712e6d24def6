/* free_aligned_sized_not_pow2: alignment 24, which aligned_alloc never
 * accepts, so no block was made with it. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = malloc(48);
    c->align = 24;
    c->size = 48;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_aligned_sized_not_pow2, V(SIZE_MISMATCH), FOP_FREE_ALIGNED_SIZED, setup, restore);
