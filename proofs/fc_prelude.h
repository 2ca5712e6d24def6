/* Included first in every Frama-C run (fc-cpp.sh): see there. */
#include <stdatomic.h>
#undef _Atomic
#define _Atomic(x) x
/* Frama-C's atomic_load_explicit returns an unsigned long long, which
 * cannot be compared with the pointer loaded: the plain load instead. */
#undef atomic_load_explicit
#define atomic_load_explicit(obj, order) (*(obj))
/* GCC's __atomic builtins on the in-band bytes (sanitize.h): Frama-C types
 * them for bytes only.  WP reasons about one snapshot (proofs/README.md,
 * trusted base), so each is its plain single-threaded meaning. */
#define __atomic_load_n(p, o) (*(p))
#define __atomic_store_n(p, v, o) ((void)(*(p) = (v)))
#define __atomic_compare_exchange_n(p, e, d, w, s, f) \
    (*(p) == *(e) ? (*(p) = (d), 1) : (*(e) = *(p), 0))
