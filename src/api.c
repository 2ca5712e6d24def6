/* api.c: the hak_* entry points (include/hakmem.h).  glibc semantics:
 * ENOMEM on failure, overflow-checked array sizes, EINVAL for bad
 * alignments; errno untouched on success. */
#include <errno.h>
#include <string.h>
#include "classify.h"
#include "heap.h"
#include "os.h"

#define STR2(x) #x
#define STR(x) STR2(x)

const char *hak_version(void)
{
    return STR(HAKMEM_VERSION_MAJOR) "." STR(HAKMEM_VERSION_MINOR) "." STR(HAKMEM_VERSION_PATCH);
}

__attribute__((noinline)) static void *malloc_big(size_t n)
{
    if (n <= HAK_MID_MAXREQ) {
        void *p = heap_pop(hak_mid_class(n), 0);
        if (likely(p != NULL)) return p;
        return heap_alloc_slow(n);
    }
    hak_init();
    return huge_alloc(n, 0, 0);
}

void *hak_malloc(size_t n)
{
    if (likely(n <= HAK_TINY_MAXREQ)) {
        void *p = heap_pop(hak_tiny_class(n), 1);
        if (likely(p != NULL)) return p;
        return heap_alloc_slow(n);
    }
    return malloc_big(n);
}

/* usable bytes behind a pointer the classifier found live */
static size_t usable_of(const hak_where_t *w, const void *p)
{
    if (w->chunk->kind == HAK_CHUNK_HUGE) return w->chunk->huge_size;
    size_t u = hak_class_usable(w->unit->cls);
    return u - (size_t)((const unsigned char *)p - w->user);
}

size_t hak_usable_size(const void *p)
{
    hak_where_t w;
    if (hak_classify(p, &w) != HAK_FREE_OK) return 0;
    return usable_of(&w, p);
}

void *hak_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    if (total > HAK_MID_MAXREQ) {
        hak_init();
        void *h = huge_alloc(total, 0, 1);   /* zeroes only the recycled pages: fresh ones are zero */
        if (h != NULL && HAK_TOOLS_RT)
            VALGRIND_MAKE_MEM_DEFINED(h, total);   /* ...which Memcheck must be told */
        return h;
    }
    void *p = hak_malloc(total);
    if (p != NULL) memset(p, 0, total);
    return p;
}

void *hak_realloc(void *p, size_t n)
{
    if (p == NULL) return hak_malloc(n);
    hak_where_t w;
    hak_free_status st = hak_classify(p, &w);
    if (unlikely(st != HAK_FREE_OK)) {
        hak_report(st, p, "realloc");     /* aborts by default */
        errno = EINVAL;
        return NULL;
    }
    if (n == 0) {                         /* glibc: free and return NULL */
        st = hak_free_found(&w, p);
        if (unlikely(st != HAK_FREE_OK)) hak_report(st, p, "realloc");
        return NULL;
    }
    size_t old = usable_of(&w, p);
    /* a huge block stays huge while the new size is huge or at least half the old */
    if (w.chunk->kind == HAK_CHUNK_HUGE && (n > HAK_MID_MAXREQ || n >= old / 2)) {
        st = HAK_FREE_OK;
        void *q = huge_realloc(w.chunk, n, &st);
        if (q == NULL && st != HAK_FREE_OK) {   /* a racing free or realloc owns it */
            hak_report(st, p, "realloc");
            errno = EINVAL;
        }
        return q;
    }
    /* stay in place while it fits and at least half of it is used */
    if (n <= old && (n >= old / 2 || old <= 64) && p == (void *)w.user) {
        return p;
    }
    void *q = hak_malloc(n);
    if (!q) return NULL;                  /* errno ENOMEM, p untouched */
    memcpy(q, p, n < old ? n : old);
    st = hak_free_found(&w, p);
    if (unlikely(st != HAK_FREE_OK)) hak_report(st, p, "realloc");   /* a racing free won */
    return q;
}

void *hak_reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    return hak_realloc(p, total);
}

static int is_pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

/* alignment a is a power of two */
static void *aligned_impl(size_t a, size_t n)
{
    if (a <= HAK_ALIGN) return hak_malloc(n);
    size_t want;
    if (a <= HAK_SLAB && !__builtin_add_overflow(n, a, &want) && want <= HAK_MID_MAXREQ) {
        unsigned char *q = hak_malloc(want);
        if (!q) return NULL;
        if ((uintptr_t)q % a == 0) return q;
        /* the first a-aligned address with 16 bytes in front inside the block */
        uintptr_t al = ((uintptr_t)q + HAK_MID_HDR + a - 1) / a * a;
        hak_mid_hdr_t *h = (hak_mid_hdr_t *)al - 1;
        hak_san_internal(h, sizeof *h);
        h->magic = HAK_ALIAS_MAGIC;
        h->aux = (uint32_t)(al - (uintptr_t)q);
        h->check = hak_hdr_check(hak_key(al), HAK_ST_ALLOC);
        return (void *)al;
    }
    hak_init();
    return huge_alloc(n, a, 0);
}

void *hak_aligned_alloc(size_t a, size_t n)
{
    if (!is_pow2(a)) { errno = EINVAL; return NULL; }
    return aligned_impl(a, n);
}

void *hak_memalign(size_t a, size_t n)
{
    /* glibc: alignments that are not a power of two are rounded up */
    if (!is_pow2(a)) {
        if (a > ((size_t)1 << 62)) { errno = EINVAL; return NULL; }
        size_t r = 1;
        while (r < a) r <<= 1;
        a = r;
    }
    return aligned_impl(a, n);
}

int hak_posix_memalign(void **out, size_t a, size_t n)
{
    if (!is_pow2(a) || a % sizeof(void *) != 0) return EINVAL;
    int e = errno;
    void *p = aligned_impl(a, n);
    if (!p) { errno = e; return ENOMEM; }
    *out = p;
    return 0;
}

void hak_free_sized(void *p, size_t size)
{
    (void)size;   /* the size is not trusted: the classifier decides */
    hak_free_named(p, "free_sized");
}

void hak_free_aligned_sized(void *p, size_t alignment, size_t size)
{
    (void)alignment; (void)size;
    hak_free_named(p, "free_aligned_sized");
}

int hak_trim(void)
{
    hak_init();
    heap_collect_all(hak_tl_own);
    int r = slab_purge(true);
    return huge_trim() | r;
}

int hak_heap_check(void)
{
    hak_init();
    int r = slab_check_all();
    if (!r) r = huge_check_all();
    if (r) {
        static const char m[] = "hakmem: heap check failed\n";
        os_write(2, m, sizeof m - 1);
    }
    return r;
}
