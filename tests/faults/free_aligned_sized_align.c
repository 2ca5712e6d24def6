/* free_aligned_sized_align: aligned_alloc(64, 100) freed with alignment
 * 4096: a 4096-aligned request of 100 bytes takes a larger block (and is
 * 4096-aligned, which this pointer need not be). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = aligned_alloc(64, 100);
    c->align = 4096;
    c->size = 100;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_aligned_sized_align, V(SIZE_MISMATCH), FOP_FREE_ALIGNED_SIZED, setup, restore);
