/* free_sized_tiny_next_class: malloc(40) freed as 20 bytes: both Tiny, but
 * of different classes (48- and 32-byte slots), so 20 cannot have made it. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = malloc(40);
    c->size = 20;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_sized_tiny_next_class, V(SIZE_MISMATCH), FOP_FREE_SIZED, setup, restore);
