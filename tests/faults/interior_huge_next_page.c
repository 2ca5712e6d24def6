/* interior_huge_next_page: p + 4096 inside a Huge block: page-aligned and
 * inside our mapping, so an in-band header in front of it would be plain user
 * data. */
#include "fault.h"

static void *setup(struct fctx *c) { char *p = malloc(3 << 20); c->keep = p; return p ? p + c->page : NULL; }
static void *restore(struct fctx *c) { return c->keep; }
FAULT(interior_huge_next_page, V(INVALID), setup, restore);
