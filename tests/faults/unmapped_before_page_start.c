/* unmapped_before_page_start: p is the first byte of a mapped page whose
 * preceding page is unmapped.  p itself is readable, p-16 is not: a dispatch
 * that reads a header in front of a foreign pointer faults here.  DESIGN.md 5
 * probes the pages holding p-16..p, finds one unmapped: UNMAPPED. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *m = fault_map(c, 2);
    if (!m)
        return NULL;
    munmap(m, c->page);
    c->keep = m + c->page;
    return m + c->page;
}
static void *restore(struct fctx *c) { munmap(c->keep, c->page); return NULL; }
FAULT(unmapped_before_page_start, V(UNMAPPED), setup, restore);
