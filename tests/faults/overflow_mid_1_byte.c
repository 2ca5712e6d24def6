/* overflow_mid_1_byte: one byte past a Mid block: the first byte of the
 * next block's header (its magic). */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(100000);
    p[malloc_usable_size(p)] = 'a';
    return p;
}
FAULT_FATAL(overflow_mid_1_byte, FAULT_OVERFLOW_MSG, setup);
