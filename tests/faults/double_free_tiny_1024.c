/* double_free_tiny_1024: a block of 1024 bytes freed twice in a row. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(1024); free(p); return p; }
FAULT(double_free_tiny_1024, V(DOUBLE), setup, NULL);
