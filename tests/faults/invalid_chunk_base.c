/* invalid_chunk_base: the 2 MiB-aligned start of the chunk that holds a Tiny
 * block, where the chunk descriptor lives: ours, never a user block. */
#include "fault.h"

static void *setup(struct fctx *c)
{
    char *p = malloc(48);
    c->keep = p;
    return p ? (void *)((uintptr_t)p & ~(uintptr_t)((2u << 20) - 1)) : NULL;
}
static void *restore(struct fctx *c) { return c->keep; }
FAULT(invalid_chunk_base, V(INVALID), setup, restore);
