/* double_free_tiny_delayed: a Tiny block freed, then other work in other size
 * classes (so the slot is not handed out again), then freed again. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    void *p = malloc(48), *q[100];
    free(p);
    for (int i = 0; i < 100; i++)
        q[i] = malloc(200 + i % 3 * 300);
    for (int i = 0; i < 100; i++)
        free(q[i]);
    return p;
}
FAULT(double_free_tiny_delayed, V(DOUBLE), setup, NULL);
