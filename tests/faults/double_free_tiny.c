/* double_free_tiny: a block of 32 bytes freed twice in a row. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(32); free(p); return p; }
FAULT(double_free_tiny, V(DOUBLE), setup, NULL);
