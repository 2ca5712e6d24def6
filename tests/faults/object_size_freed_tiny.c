/* object_size_freed_tiny: malloc_object_size of a freed block's start. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(16); free(p); return p; }
FAULT_OP(object_size_freed_tiny, V(DOUBLE), FOP_OBJECT_SIZE, setup, NULL);
