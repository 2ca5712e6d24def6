/* overflow_mid_check_word: the whole next header rewritten with a plausible
 * magic and class (public values) but a check word the secret never made:
 * bytes 8..15 past the block flipped. */
#include <malloc.h>
#include "fault.h"

static void *setup(struct fctx *c)
{
    unsigned char *p = malloc(3000);
    unsigned char *h = p + malloc_usable_size(p);
    for (int i = 8; i < 16; i++)
        h[i] ^= 0x5a;
    return p;
}
FAULT_FATAL(overflow_mid_check_word, FAULT_OVERFLOW_MSG, setup);
