/* interior_huge_middle: p + SIZE / 2 inside a 4 MiB Huge block: ours, but not the
 * start of a block.  restore() hands back the real start, which must still free. */
#include "fault.h"

#define SIZE 4194304u
static void *setup(struct fctx *c) { char *p = malloc(SIZE); c->keep = p; return p ? p + SIZE / 2 : NULL; }
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_huge_middle, V(INVALID), setup, restore);
