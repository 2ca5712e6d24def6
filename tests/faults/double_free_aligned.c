/* double_free_aligned: an aligned_alloc(4096, 100) block freed twice. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = aligned_alloc(4096, 100); free(p); return p; }
FAULT(double_free_aligned, V(DOUBLE), setup, NULL);
