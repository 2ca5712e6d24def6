/* foreign_mmap_page_start: the start of the second page of a two-page mapping:
 * page-aligned, but the page in front is mapped and readable. */
#include "fault.h"

static void *setup(struct fctx *c) { char *m = fault_map(c, 2); c->keep = m; return m ? m + c->page : NULL; }
static void *restore(struct fctx *c) { munmap(c->keep, 2 * c->page); return NULL; }
FAULT(foreign_mmap_page_start, V(FOREIGN), setup, restore);
