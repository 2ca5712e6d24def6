/* unmapped_low_page: 0x1010, just past page 0 (vm.mmap_min_addr keeps it
 * unmapped); the page in front of p-16 is page 1. */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)(uintptr_t)0x1010; }
FAULT(unmapped_low_page, V(UNMAPPED), setup, NULL);
