/* foreign_literal: a string literal in read-only data (a write would fault, so
 * a dispatch that writes a tag or a free-list link before deciding ownership
 * crashes here). */
#include "fault.h"

static void *setup(struct fctx *c) { return (void *)"a string literal handed to free()"; }
FAULT(foreign_literal, V(FOREIGN), setup, NULL);
