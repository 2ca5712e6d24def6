/* foreign_libc_heap: a block from glibc's own malloc (libc.so.6's malloc), the classic
 * LD_PRELOAD mix-up; the default policy rejects it.  restore() gives it back
 * to glibc. */
#include "fault.h"

static void *setup(struct fctx *c) { return c->keep = glibc_malloc(64); }
static void *restore(struct fctx *c) { glibc_free(c->keep); return NULL; }
FAULT(foreign_libc_heap, V(FOREIGN), setup, restore);
