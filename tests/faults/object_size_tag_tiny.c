/* object_size_tag_tiny: malloc_object_size of the byte just past a live
 * Tiny block: the next slot's tag, inside our memory but in no block. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(24);
    c->keep = p;
    return p + malloc_usable_size(p);
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(object_size_tag_tiny, V(INVALID), FOP_OBJECT_SIZE, setup, restore);
