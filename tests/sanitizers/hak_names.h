/* hak_names.h: force-included (-include) into the C tests of tests/ for the
 * ASan build.  Under ASan the plain malloc names belong to ASan's allocator,
 * so a test that calls malloc() would test ASan, not hakmem; these macros
 * send the plain names to hak_* at compile time instead.  The libc headers
 * come first so their prototypes keep the real names. */
#ifndef HAKMEM_SAN_HAK_NAMES_H
#define HAKMEM_SAN_HAK_NAMES_H
#include <malloc.h>
#include <stdlib.h>
#include "hakmem.h"
/* object-like (but mallinfo2, also a struct tag), so member names (f->malloc) and function pointers
 * (family = { malloc, free, ... }) are renamed consistently as well */
#define malloc             hak_malloc
#define free               hak_free
#define calloc             hak_calloc
#define realloc            hak_realloc
#define reallocarray       hak_reallocarray
#define aligned_alloc      hak_aligned_alloc
#define posix_memalign     hak_posix_memalign
#define memalign           hak_memalign
#define malloc_usable_size hak_usable_size
#define free_sized         hak_free_sized
#define free_aligned_sized hak_free_aligned_sized

/* The glibc extras have no hak_* twin; these shims give them the meaning
 * src/override.c gives them, so a test of the extras exercises hakmem here
 * too (not ASan's allocator, whose blocks hak_free would reject). */
#include <errno.h>
#include <string.h>
static inline __attribute__((unused)) void *san_valloc(size_t n) { return hak_memalign(4096, n); }
static inline __attribute__((unused)) void *san_pvalloc(size_t n)
{
    size_t r;
    if (__builtin_add_overflow(n, (size_t)4095, &r)) { errno = ENOMEM; return NULL; }
    return hak_memalign(4096, r / 4096 * 4096);
}
static inline __attribute__((unused)) int san_malloc_trim(size_t pad) { (void)pad; return hak_trim(); }
static inline __attribute__((unused)) void san_malloc_stats(void) { hak_print_stats(2); }
static inline __attribute__((unused)) int san_mallopt(int param, int value) { (void)param; (void)value; return 1; }
static inline __attribute__((unused)) struct mallinfo2 san_mallinfo2(void)
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
#define valloc             san_valloc
#define pvalloc            san_pvalloc
#define malloc_trim        san_malloc_trim
#define malloc_stats       san_malloc_stats
#define mallopt            san_mallopt
#define mallinfo2()        san_mallinfo2()
#endif
