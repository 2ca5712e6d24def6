/* free_sized_huge_pages: a 3 MiB block freed as 3 MiB minus 8 KiB: Huge
 * sizes are checked to the page, and this one maps two pages fewer. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    c->keep = malloc(3u << 20);
    c->size = (3u << 20) - 8192;
    return c->keep;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT_OP(free_sized_huge_pages, V(SIZE_MISMATCH), FOP_FREE_SIZED, setup, restore);
