/* interior_tiny_plus1: p + 1 inside a 512-byte Tiny block: ours, but not the
 * start of a block.  restore() hands back the real start, which must still free. */
#include "fault.h"

#define SIZE 512u
static void *setup(struct fctx *c) { char *p = malloc(SIZE); c->keep = p; return p ? p + 1 : NULL; }
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_tiny_plus1, V(INVALID), setup, restore);
