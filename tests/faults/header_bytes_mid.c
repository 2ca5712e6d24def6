/* header_bytes_mid: each of the 16 header bytes of a live Mid block flipped on
 * its own (xor 0xff): a "corrupted Mid header" must never free the block.
 * Checked mode only. */
#include <stdio.h>

#include "fault.h"

static int sweep(struct fctx *c)
{
    int bad = 0;
    unsigned char *p = malloc(3000);
    for (int i = 1; i <= 16; i++) {
        p[-i] ^= 0xff;
        hak_free_status v = c->checked(p);
        p[-i] ^= 0xff;
        if (v != HAK_FREE_INVALID) {
            fprintf(stderr, "header byte p[-%d] flipped: verdict %d, want INVALID\n", i, (int)v);
            bad++;
            if (v == HAK_FREE_OK)
                return bad;
        }
    }
    if (c->checked(p) != HAK_FREE_OK) {
        fprintf(stderr, "restored block does not free\n");
        bad++;
    }
    return bad;
}
FAULT_CUSTOM(header_bytes_mid, sweep);
