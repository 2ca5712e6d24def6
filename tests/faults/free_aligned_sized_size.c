/* free_aligned_sized_size: free_aligned_sized(aligned_alloc(64, 64), 64, 4096). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = aligned_alloc(64, 64);
    c->align = 64;
    c->size = 4096;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_aligned_sized_size, V(SIZE_MISMATCH), FOP_FREE_ALIGNED_SIZED, setup, restore);
