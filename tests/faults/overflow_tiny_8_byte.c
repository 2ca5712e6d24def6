/* overflow_tiny_8_byte: eight zero bytes written past the usable size (the
 * next slot's tag and the first bytes of that slot). */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(40);
    memset(p + malloc_usable_size(p), 0, 8);
    return p;
}
FAULT_FATAL(overflow_tiny_8_byte, FAULT_OVERFLOW_MSG, setup);
