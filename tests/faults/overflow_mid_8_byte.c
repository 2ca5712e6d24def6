/* overflow_mid_8_byte: eight bytes past a Mid block: magic and class of the
 * next block's header. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(5000);
    memset(p + malloc_usable_size(p), 'a', 8);
    return p;
}
FAULT_FATAL(overflow_mid_8_byte, FAULT_OVERFLOW_MSG, setup);
