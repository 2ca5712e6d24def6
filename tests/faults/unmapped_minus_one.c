/* unmapped_minus_one: (void *)-1, the last address; p+anything wraps. */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)(uintptr_t)-1; }
FAULT(unmapped_minus_one, V(UNMAPPED), setup, NULL);
