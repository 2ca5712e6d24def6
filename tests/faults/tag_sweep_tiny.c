/* tag_sweep_tiny: every one of the 255 wrong values of a live Tiny block's tag
 * byte.  None may free the block; each is INVALID, except that at most two
 * values may read as "this block, but freed" (DOUBLE: the FREE state, and
 * the REMOTE state of a block waiting on a remote list).  Checked mode only. */
#include <stdio.h>

#include "fault.h"

static int sweep(struct fctx *c)
{
    int bad = 0, doubles = 0;
    unsigned char *p = malloc(32);
    unsigned char orig = p[-1];
    for (int b = 0; b < 256; b++) {
        if (b == orig)
            continue;
        p[-1] = (unsigned char)b;
        hak_free_status v = c->checked(p);
        if (v == HAK_FREE_DOUBLE) {
            doubles++;
        } else if (v != HAK_FREE_INVALID) {
            fprintf(stderr, "tag 0x%02x (orig 0x%02x): verdict %d\n", b, orig, (int)v);
            bad++;
            if (v == HAK_FREE_OK)
                return bad;   /* the block is gone; nothing to restore */
        }
    }
    if (doubles > 2) {
        fprintf(stderr, "%d tag values read as DOUBLE\n", doubles);
        bad++;
    }
    p[-1] = orig;
    if (c->checked(p) != HAK_FREE_OK) {
        fprintf(stderr, "restored block does not free\n");
        bad++;
    }
    return bad;
}
FAULT_CUSTOM(tag_sweep_tiny, sweep);
