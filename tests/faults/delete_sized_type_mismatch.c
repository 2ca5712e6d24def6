/* delete_sized_type_mismatch: `new char` deleted as a 32-byte struct (the
 * sized operator delete a C++14 compiler calls for `delete (S *)p`). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = _Znwm(1);
    c->size = 32;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(delete_sized_type_mismatch, V(SIZE_MISMATCH), FOP_DELETE_SIZED, setup, restore);
