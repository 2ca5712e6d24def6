/* object_size_header_mid: malloc_object_size of the last byte of a live Mid
 * block's own header. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(100000);
    c->keep = p;
    return p - 1;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(object_size_header_mid, V(INVALID), FOP_OBJECT_SIZE, setup, restore);
