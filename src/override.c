/* override.c: the glibc malloc family, for LD_PRELOAD and static linking.
 * Each is a tail call into the hak_* API (api.c, free_dispatch.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
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

/* glibc's own names for its allocator.  Programs and tools call them to
 * reach "the real malloc" behind an interposer; left to glibc they would
 * hand out glibc blocks that hakmem's free() rejects as foreign (and
 * glibc's free would choke on hakmem's).  One allocator answers all names.
 * glibc 2.36 exports no __posix_memalign, so there is none to take over. */
EXPORT void *__libc_malloc(size_t n) { return hak_malloc(n); }
EXPORT void __libc_free(void *p) { hak_free_named(p, "__libc_free"); }
EXPORT void *__libc_calloc(size_t n, size_t s) { return hak_calloc(n, s); }
EXPORT void *__libc_realloc(void *p, size_t n) { return hak_realloc(p, n); }
EXPORT void *__libc_memalign(size_t a, size_t n) { return hak_memalign(a, n); }
EXPORT void *__libc_valloc(size_t n) { return valloc(n); }
EXPORT void *__libc_pvalloc(size_t n) { return pvalloc(n); }
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

/* malloc_info(3): glibc's XML, element for element (its <heap> per arena
 * becomes one <heap nr="0"> for all of hakmem), with hakmem's figures:
 *   <size>          one per size class with blocks in use: the requests it
 *                   serves (from..to), blocks in use (count) and their usable
 *                   bytes (total).  glibc lists free chunks here; hakmem has
 *                   no per-size free lists to count without walking every slab.
 *   total fast      0: hakmem has no fastbins
 *   total rest      count 0; size: committed bytes not in live blocks
 *   total mmap      Huge blocks in use and their usable bytes
 *   system current  committed (slab spans and Huge mappings); max: its peak
 *   aspace          committed
 * glibc defines no options: anything but 0 is EINVAL, returned. */
EXPORT int malloc_info(int options, FILE *fp)
{
    if (options != 0) return EINVAL;
    hak_stats s;
    uint64_t live[HAK_NCLASS], hb, hk, ha, hc;
    hak_get_stats(&s);   /* first: fprintf below may malloc (the stream's buffer) */
    hak_class_live(live);
    huge_stats(&hb, &hk, &ha, &hc);
    unsigned long long committed = s.committed, peak = s.peak_committed;
    unsigned long long rest = s.committed > s.live_bytes ? s.committed - s.live_bytes : 0;
    fputs("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", fp);
    size_t from = 0;
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        size_t to = hak_class_usable(c);
        if (live[c])
            fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%llu\" count=\"%llu\"/>\n", from, to,
                    (unsigned long long)(live[c] * to), (unsigned long long)live[c]);
        from = to + 1;
    }
    fprintf(fp,
            "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
            "<total type=\"rest\" count=\"0\" size=\"%llu\"/>\n"
            "<system type=\"current\" size=\"%llu\"/>\n"
            "<system type=\"max\" size=\"%llu\"/>\n"
            "<aspace type=\"total\" size=\"%llu\"/>\n"
            "<aspace type=\"mprotect\" size=\"%llu\"/>\n"
            "</heap>\n",
            rest, committed, peak, committed, committed);
    fprintf(fp,
            "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
            "<total type=\"rest\" count=\"0\" size=\"%llu\"/>\n"
            "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n"
            "<system type=\"current\" size=\"%llu\"/>\n"
            "<system type=\"max\" size=\"%llu\"/>\n"
            "<aspace type=\"total\" size=\"%llu\"/>\n"
            "<aspace type=\"mprotect\" size=\"%llu\"/>\n"
            "</malloc>\n",
            rest, (unsigned long long)hk, (unsigned long long)hb, committed, peak, committed, committed);
    return 0;
}
