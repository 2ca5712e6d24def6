/* interior_huge_plus8: p + 8 inside a 4 MiB Huge block: ours, but not the
 * start of a block.  restore() hands back the real start, which must still free. */
#include "fault.h"

#define SIZE 4194304u
static void *setup(struct fctx *c) { char *p = malloc(SIZE); c->keep = p; return p ? p + 8 : NULL; }
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_huge_plus8, V(INVALID), setup, restore);
