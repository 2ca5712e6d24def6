/* free_aligned_sized_near: a sized free of an aligned block with a size 10
 * bytes short of the one asked, inside the same size class (hardened_malloc's
 * invalid_aligned_sized_delete_large): every aligned block records the size
 * asked (internal.h), so the mismatch is caught, not only a wrong class. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = aligned_alloc(8192, 9000);
    c->align = 8192;
    c->size = 9000 - 10;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_aligned_sized_near, V(SIZE_MISMATCH), FOP_FREE_ALIGNED_SIZED, setup, restore);
