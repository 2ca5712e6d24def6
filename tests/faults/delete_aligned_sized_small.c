/* delete_aligned_sized_small: an alignas(64) 64-byte object deleted with
 * size 128: a 64-aligned request of 128 bytes takes a larger block. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = _ZnwmSt11align_val_t(64, 64);
    c->align = 64;
    c->size = 128;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(delete_aligned_sized_small, V(SIZE_MISMATCH), FOP_DELETE_ALIGNED_SIZED, setup, restore);
