/* unmapped_one: (void *)1, in the never-mapped page 0; p-16 wraps below 0. */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)(uintptr_t)1; }
FAULT(unmapped_one, V(UNMAPPED), setup, NULL);
