/* overflow_tiny_1_byte: the terminating NUL of a string one byte too long
 * for its Tiny block lands on the next slot's tag (p + usable), then the
 * block is freed.  A tag is never 0, so this is always caught. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(24);
    p[malloc_usable_size(p)] = 0;
    return p;
}
FAULT_FATAL(overflow_tiny_1_byte, FAULT_OVERFLOW_MSG, setup);
