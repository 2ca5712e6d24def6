/* delete_array_sized_mid: `new char[100000]`-sized storage from
 * operator new[] given back to operator delete[] as 2000 bytes. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = _Znam(100000);
    c->size = 2000;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(delete_array_sized_mid, V(SIZE_MISMATCH), FOP_DELETE_ARRAY_SIZED, setup, restore);
