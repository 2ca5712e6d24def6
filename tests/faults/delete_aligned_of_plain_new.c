/* delete_aligned_of_plain_new: plain `new` storage (100 bytes) given to the
 * over-aligned operator delete(p, align_val_t(4096)): no 4096-aligned
 * request is served from a block that small. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = _Znwm(100);
    c->align = 4096;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(delete_aligned_of_plain_new, V(SIZE_MISMATCH), FOP_DELETE_ALIGNED, setup, restore);
