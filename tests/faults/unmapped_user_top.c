/* unmapped_user_top: 0x0000800000000000, the first address above the 47-bit
 * user space (a chunk map sized for user space must bound-check it). */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)(uintptr_t)0x0000800000000000ull; }
FAULT(unmapped_user_top, V(UNMAPPED), setup, NULL);
