/* unmapped_page: an address inside a page that was unmapped (a hole between two
 * mapped pages): a wild pointer. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *m = fault_map(c, 3);
    if (!m)
        return NULL;
    munmap(m + c->page, c->page);
    c->keep = m;
    return m + c->page + 256;
}
static void *restore(struct fctx *c)
{
    munmap(c->keep, c->page);
    munmap((char *)c->keep + 2 * c->page, c->page);
    return NULL;
}
FAULT(unmapped_page, V(UNMAPPED), setup, restore);
