/* foreign_stack: a pointer into the caller's stack frame is not ours and the
 * memory in front of it is mapped: FOREIGN, nothing read, nothing freed. */
#include "fault.h"

static void *setup(struct fctx *c) { return c->stack + 64; }
FAULT(foreign_stack, V(FOREIGN), setup, NULL);
