/* override.c: the glibc malloc family, for LD_PRELOAD and static linking.
 * Each is a tail call into the hak_* API (api.c, free_dispatch.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include "hakmem.h"
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

void hak_free_named(void *p, const char *fn);

EXPORT void *malloc(size_t n) { return hak_malloc(n); }
EXPORT void free(void *p) { hak_free(p); }
EXPORT void cfree(void *p) { hak_free(p); }
EXPORT void *calloc(size_t n, size_t s) { return hak_calloc(n, s); }
EXPORT void *realloc(void *p, size_t n) { return hak_realloc(p, n); }
EXPORT void *reallocarray(void *p, size_t n, size_t s) { return hak_reallocarray(p, n, s); }
EXPORT int posix_memalign(void **out, size_t a, size_t n) { return hak_posix_memalign(out, a, n); }
EXPORT void *memalign(size_t a, size_t n) { return hak_memalign(a, n); }
EXPORT void *valloc(size_t n) { return hak_memalign(HAK_PAGE, n); }
EXPORT void *pvalloc(size_t n)
{
    size_t r;
    if (__builtin_add_overflow(n, HAK_PAGE - 1, &r)) { errno = ENOMEM; return NULL; }
    return hak_memalign(HAK_PAGE, r / HAK_PAGE * HAK_PAGE);
}
/* glibc's aligned_alloc accepts any power of two (and since 2.38 rejects others) */
EXPORT void *aligned_alloc(size_t a, size_t n) { return hak_aligned_alloc(a, n); }
/* a pointer that is not a live block start: the policy, like free (api.c) */
EXPORT size_t malloc_usable_size(void *p) { return hak_usable_size_named(p, "malloc_usable_size"); }
EXPORT size_t malloc_object_size(const void *p) { return hak_malloc_object_size(p); }
EXPORT size_t malloc_object_size_fast(const void *p) { return hak_malloc_object_size_fast(p); }
EXPORT void free_sized(void *p, size_t n) { hak_free_sized(p, n); }
EXPORT void free_aligned_sized(void *p, size_t a, size_t n) { hak_free_aligned_sized(p, a, n); }

EXPORT int malloc_trim(size_t pad) { (void)pad; return hak_trim(); }
EXPORT void malloc_stats(void) { hak_print_stats(2); }
EXPORT int mallopt(int param, int value) { (void)param; (void)value; return 1; }

EXPORT struct mallinfo2 mallinfo2(void)
{
    hak_stats s;
    struct mallinfo2 m;
    memset(&m, 0, sizeof m);
    hak_get_stats(&s);
    m.arena = s.committed;
    m.uordblks = s.live_bytes;
    m.fordblks = s.committed > s.live_bytes ? s.committed - s.live_bytes : 0;
    m.usmblks = s.peak_committed;
    return m;
}

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo m;
    memset(&m, 0, sizeof m);
    m.arena = (int)m2.arena;
    m.uordblks = (int)m2.uordblks;
    m.fordblks = (int)m2.fordblks;
    m.usmblks = (int)m2.usmblks;
    return m;
}
