/* overflow_tiny_last_slot: the overflow hits the end mark, not a tag: the
 * 900-byte class (960-byte slots, used by nothing else in the runner) is
 * filled to its last slot (68 in a 64 KiB slab), whose next byte is the
 * mark past the grid; a NUL overwrites it. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = NULL;
    for (int i = 0; i < 68; i++)
        p = malloc(900);          /* the blocks stay live: the slab stays full */
    p[malloc_usable_size(p)] = 0;
    return p;
}
FAULT_FATAL(overflow_tiny_last_slot, FAULT_OVERFLOW_MSG, setup);
