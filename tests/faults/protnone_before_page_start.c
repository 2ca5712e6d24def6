/* protnone_before_page_start: p is the first byte of a mapped page whose
 * preceding page is mapped PROT_NONE (a guard page, as in front of every
 * thread stack).  mincore() reports a PROT_NONE page as mapped, so a dispatch
 * following DESIGN.md 5 calls it FOREIGN; one that probes readability says
 * UNMAPPED.  hakmem.h defines UNMAPPED as "page(s) in front not mapped", and
 * the default policy reads nothing in front of a foreign pointer, so both are
 * accepted; what matters is that nothing in front of p is read (a read
 * faults). */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *m = fault_map(c, 2);
    if (!m)
        return NULL;
    mprotect(m, c->page, PROT_NONE);
    c->keep = m;
    return m + c->page;
}
static void *restore(struct fctx *c) { munmap(c->keep, 2 * c->page); return NULL; }
FAULT(protnone_before_page_start, V(FOREIGN) | V(UNMAPPED), setup, restore);
