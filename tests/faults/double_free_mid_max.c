/* double_free_mid_max: a block of 262144 bytes freed twice in a row. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(262144); free(p); return p; }
FAULT(double_free_mid_max, V(DOUBLE), setup, NULL);
