/* stale_released_slab: a pointer into Mid slabs that were emptied and given
 * back by malloc_trim(0).  Not a live block: INVALID while the chunk stays
 * mapped (the unit is unused), UNMAPPED once the whole chunk went back, never
 * OK.  The witnesses of the runner keep other chunks alive. */
#include <malloc.h>

#include "fault.h"

static void *setup(struct fctx *c)
{
    enum { N = 120 };
    void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = malloc(40000);
    void *stale = p[N / 2];
    for (int i = 0; i < N; i++)
        free(p[i]);
    malloc_trim(0);
    return stale;
}
FAULT(stale_released_slab, V(INVALID) | V(UNMAPPED), setup, NULL);
