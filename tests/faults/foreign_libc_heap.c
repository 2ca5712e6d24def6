/* foreign_libc_heap: a block from glibc's own malloc (__libc_malloc), the classic
 * LD_PRELOAD mix-up; the default policy rejects it.  restore() gives it back
 * to glibc. */
#include "fault.h"

static void *setup(struct fctx *c) { return c->keep = __libc_malloc(64); }
static void *restore(struct fctx *c) { __libc_free(c->keep); return NULL; }
FAULT(foreign_libc_heap, V(FOREIGN), setup, restore);
