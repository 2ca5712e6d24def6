/* double_free_zero: malloc(0) freed twice.  Its state is a bit out of line
 * (the pointer's pages are PROT_NONE), and slots come back round-robin, so
 * the second free reads DOUBLE. */
#include "fault.h"

static void *setup(struct fctx *c) { void *p = malloc(0); free(p); return p; }
FAULT(double_free_zero, V(DOUBLE), setup, NULL);
