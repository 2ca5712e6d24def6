/* WP driver: the proved code is the production header itself (proofs/README.md). */
#include "free_fast.h"
