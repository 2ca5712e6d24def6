/* double_free_mid: a block of 4000 bytes freed twice in a row. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(4000); free(p); return p; }
FAULT(double_free_mid, V(DOUBLE), setup, NULL);
