/* overflow_tiny_flip: the byte after a Tiny block gets a value 128 away
 * from the tag that was there.  The three values valid after a block of a
 * slab (end mark, FREE, ALLOC tags) are consecutive mod 256, so this one is
 * never among them, whatever the slab's cookie. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(200);   /* not 100: realloc(p, 100) must move it (and free it) */
    p[malloc_usable_size(p)] ^= 0x80;
    return p;
}
FAULT_FATAL(overflow_tiny_flip, FAULT_OVERFLOW_MSG, setup);
