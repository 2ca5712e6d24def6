/* foreign_libc_heap_large: a 1 MiB glibc block (glibc serves it with its own
 * mmap, so the chunk header in front is at a page offset of 16). */
#include "fault.h"

static void *setup(struct fctx *c) { return c->keep = glibc_malloc(1 << 20); }
static void *restore(struct fctx *c) { glibc_free(c->keep); return NULL; }
FAULT(foreign_libc_heap_large, V(FOREIGN), setup, restore);
