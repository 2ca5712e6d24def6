/* free_sized_tiny_larger: free_sized(malloc(16), 4096): a size no Tiny block
 * of that class was made for.  The block stays live (restore frees it). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = malloc(16);
    c->size = 4096;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_sized_tiny_larger, V(SIZE_MISMATCH), FOP_FREE_SIZED, setup, restore);
