/* overflow_mid_last_block: the four 120000-byte blocks of one Mid slab
 * (nothing else in the runner uses that class); the last one's next header
 * is the end mark past the grid, and one byte of it is overwritten. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = NULL;
    for (int i = 0; i < 4; i++)
        p = malloc(120000);
    p[malloc_usable_size(p)] = 0;
    return p;
}
FAULT_FATAL(overflow_mid_last_block, FAULT_OVERFLOW_MSG, setup);
