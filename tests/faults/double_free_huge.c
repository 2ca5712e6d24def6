/* double_free_huge: a block of 2097152 bytes freed twice in a row. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(2097152); free(p); return p; }
FAULT(double_free_huge, V(DOUBLE), setup, NULL);
