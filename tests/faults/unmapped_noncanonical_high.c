/* unmapped_noncanonical_high: 0x8000000000000000 is not a canonical x86-64
 * address; any read faults. */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)(uintptr_t)0x8000000000000000ull; }
FAULT(unmapped_noncanonical_high, V(UNMAPPED), setup, NULL);
