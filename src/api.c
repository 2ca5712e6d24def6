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

/* The fast path missed, as it always does under the tools: refill, or let
 * tool.c hand the block out with its requested size.  hak_tools is known
 * once hak_init() has run. */
__attribute__((noinline)) static void *alloc_miss(size_t n)
{
    hak_init();
    if (HAK_TOOLS_ON) return tool_malloc(n);
    return heap_alloc_slow(n);
}

__attribute__((noinline)) static void *malloc_big(size_t n)
{
    if (n <= HAK_MID_MAXREQ) {
        void *p = heap_pop(hak_mid_class(n), 0);
        if (likely(p != NULL)) return p;
    } else {
        hak_init();
        if (!HAK_TOOLS_ON) return huge_alloc(n, 0);
    }
    return alloc_miss(n);
}

void *hak_malloc(size_t n)
{
    if (likely(n <= HAK_TINY_MAXREQ)) {
        void *p = heap_pop(hak_tiny_class(n), 1);
        if (likely(p != NULL)) return p;
        return alloc_miss(n);
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
    /* under the tools: what was asked for, as Valgrind's and ASan's own say */
    return HAK_TOOLS_ON ? tool_usable(&w, p) : usable_of(&w, p);
}

void *hak_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    void *p = hak_malloc(total);
    if (p != NULL && total <= HAK_MID_MAXREQ)   /* huge blocks are fresh mappings: already zero */
        memset(p, 0, total);
    else if (p != NULL && HAK_TOOLS_RT)
        VALGRIND_MAKE_MEM_DEFINED(p, total);    /* ...which Memcheck must be told */
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
    if (HAK_TOOLS_ON) return tool_realloc(&w, p, n);
    size_t old = usable_of(&w, p);
    if (w.chunk->kind == HAK_CHUNK_HUGE && n > HAK_MID_MAXREQ && p == (void *)w.user)
        return huge_realloc(w.chunk, n);
    /* stay in place while it fits and at least half of it is used */
    if (n <= old && (n >= old / 2 || old <= 64) && p == (void *)w.user) {
        return p;
    }
    /* A Mid block that must move to grow takes half as much again as it had,
     * so a buffer that grows by appends moves O(log n) times rather than at
     * every class: each move is a copy, a span that may empty and a span that
     * may fault in.  Never beyond the Mid tier, and only when growing. */
    size_t want = n;
    if (n > old && n > HAK_TINY_MAXREQ && n <= HAK_MID_MAXREQ) {
        size_t grown = old + old / 2;
        if (grown > n) want = grown < HAK_MID_MAXREQ ? grown : HAK_MID_MAXREQ;
    }
    void *q = hak_malloc(want);
    if (!q && want != n) q = hak_malloc(n);
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
    hak_init();   /* HAK_TOOLS_ON is known from here on */
    size_t want;
    if (a <= HAK_SLAB && !__builtin_add_overflow(n, a, &want) && want <= HAK_MID_MAXREQ) {
        /* under the tools the block comes closed, and they hear of the aligned n bytes only */
        unsigned char *q = HAK_TOOLS_ON ? heap_alloc_slow(want) : hak_malloc(want);
        if (!q) return NULL;
        uintptr_t al = (uintptr_t)q;
        if (al % a != 0) {
            /* the first a-aligned address with 16 bytes in front inside the block;
             * under the tools the header stays closed like the tag and mid header */
            al = ((uintptr_t)q + HAK_MID_HDR + a - 1) / a * a;
            hak_hdr_store((unsigned char *)al, HAK_ALIAS_MAGIC, (uint32_t)(al - (uintptr_t)q),
                          hak_hdr_check(hak_key(al), HAK_ST_ALLOC), HAK_TOOLS_RT);
        }
        return HAK_TOOLS_ON ? tool_handout(q, (void *)al, n) : (void *)al;
    }
    void *p = huge_alloc(n, a);
    return HAK_TOOLS_ON && p ? tool_handout(p, p, n) : p;
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
    return slab_purge(true);
}

int hak_heap_check(void)
{
    hak_init();
    int r = slab_check_all();
    if (r) {
        static const char m[] = "hakmem: heap check failed\n";
        os_write(2, m, sizeof m - 1);
    }
    return r;
}
