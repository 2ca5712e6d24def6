/* foreign_global: a pointer into a writable global array. */
#include "fault.h"

static char global_buf[256] __attribute__((aligned(64)));

static void *setup(struct fctx *c) { return global_buf + 32; }
FAULT(foreign_global, V(FOREIGN), setup, NULL);
