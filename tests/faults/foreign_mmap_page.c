/* foreign_mmap_page: an address inside an anonymous mapping of our own making,
 * not at a page start. */
#include "fault.h"

static void *setup(struct fctx *c) { char *m = fault_map(c, 2); c->keep = m; return m ? m + 128 : NULL; }
static void *restore(struct fctx *c) { munmap(c->keep, 2 * c->page); return NULL; }
FAULT(foreign_mmap_page, V(FOREIGN), setup, restore);
