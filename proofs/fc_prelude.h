/* Included first in every Frama-C run (fc-cpp.sh): see there. */
#include <stdatomic.h>
#undef _Atomic
#define _Atomic(x) x
