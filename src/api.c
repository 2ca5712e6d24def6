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
    if (HAK_HARDEN_ON) return harden_malloc(n);   /* full mode: checked zero (harden.c) */
    return heap_alloc_slow(n);
}

#if !HAK_LEAN
/* malloc(0): a pointer that faults on any access (zero.c); a smallest tiny
 * block only once those run out */
__attribute__((noinline, cold)) static void *malloc_zero(void)
{
    void *p = zero_alloc();
    if (p != NULL) return p;
    p = heap_pop(hak_tiny_class(0), 1);
    return p != NULL ? p : alloc_miss(0);
}
#endif

/* everything but a tiny request of 1..HAK_TINY_MAXREQ bytes */
__attribute__((noinline)) static void *malloc_big(size_t n)
{
#if !HAK_LEAN   /* measurement build only: issue 12's cost (types.h); hak_malloc sends 0 to tiny */
    if (unlikely(n == 0)) return malloc_zero();
#endif
    if (n <= HAK_MID_MAXREQ) {
        void *p = heap_pop(hak_mid_class(n), 0);
        if (likely(p != NULL)) return p;
    } else {
        hak_init();
        if (!HAK_TOOLS_ON) return huge_alloc(n, 0, HAK_HARDEN_ON);   /* full mode: recycled pages zeroed too */
    }
    return alloc_miss(n);
}

void *hak_malloc(size_t n)
{
#if !HAK_LEAN
    if (likely(n - 1 < HAK_TINY_MAXREQ)) {     /* 1..HAK_TINY_MAXREQ: 0 wraps to the slow side */
#else   /* measurement build only: issue 12's cost (types.h): malloc(0) is malloc(1) */
    if (likely(n <= HAK_TINY_MAXREQ)) {
#endif
        void *p = heap_pop(hak_tiny_class(n), 1);
        if (likely(p != NULL)) return p;
        return alloc_miss(n);
    }
    return malloc_big(n);
}

/* usable bytes behind a pointer hak_classify_all found live */
static size_t usable_of(const hak_where_t *w, const void *p)
{
    if (w->chunk == NULL) return 0;                 /* malloc(0) */
    if (w->chunk->kind == HAK_CHUNK_HUGE) return w->chunk->huge_size;
    size_t u = hak_class_usable(w->unit->cls);
    return u - (size_t)((const unsigned char *)p - w->user);
}

/* what the usable size calls report of a live block: under the tools what
 * was asked for, as Valgrind's and ASan's own say; a malloc(0) block has 0 */
static size_t usable_told(const hak_where_t *w, const void *p)
{
    return HAK_TOOLS_ON && w->chunk != NULL ? tool_usable(w, p) : usable_of(w, p);
}

size_t hak_usable_size(const void *p)
{
    hak_where_t w;
    if (hak_classify(p, &w) != HAK_FREE_OK) return 0;
    return usable_told(&w, p);
}

/* malloc_usable_size(): a pointer that is not a live block start is a bad
 * pointer like any other (the policy), then 0 */
size_t hak_usable_size_named(const void *p, const char *fn)
{
    if (p == NULL) return 0;
    hak_init();
    hak_where_t w;
    hak_free_status st = hak_classify_all(p, &w);
    if (likely(st == HAK_FREE_OK)) return usable_told(&w, p);
    hak_report(st, p, fn);
    return 0;
}

void *hak_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    if (total > HAK_MID_MAXREQ) {
        hak_init();
        void *h = huge_alloc(total, 0, 1);   /* zeroes only the recycled pages: fresh ones are zero */
        if (h == NULL || !HAK_TOOLS_ON) return h;
        h = tool_handout(h, h, total);       /* the tools hear of the total bytes (tool.c)... */
        if (HAK_TOOLS_RT) VALGRIND_MAKE_MEM_DEFINED(h, total);   /* ...zeroed, which Memcheck must be told */
        return h;
    }
    void *p = hak_malloc(total);
    /* full mode hands out blocks it has checked are zero (harden.c) */
    if (p != NULL && !HAK_HARDEN_ON) memset(p, 0, total);
    return p;
}

void *hak_realloc(void *p, size_t n)
{
    if (p == NULL) return hak_malloc(n);
    hak_where_t w;
    hak_free_status st = hak_classify_all(p, &w);
    if (unlikely(st != HAK_FREE_OK)) {
        hak_report(st, p, "realloc");     /* aborts by default */
        errno = EINVAL;
        return NULL;
    }
    if (n == 0) {                         /* glibc: free and return NULL */
        st = hak_free_found(&w, p, 1);
        if (unlikely(st != HAK_FREE_OK)) hak_report(st, p, "realloc");
        return NULL;
    }
    if (HAK_TOOLS_ON) return tool_realloc(&w, p, n);
    size_t old = usable_of(&w, p);
    if (w.chunk != NULL && p == (void *)w.user) {
        if (w.chunk->kind == HAK_CHUNK_HUGE) {
            /* a huge block stays huge while the new size is huge (in place or
             * moved by mremap, the old descriptor kept readable) */
            if (n > HAK_MID_MAXREQ) {
                st = HAK_FREE_OK;
                void *q = huge_realloc(w.chunk, n, &st);
                if (q == NULL && st != HAK_FREE_OK) {   /* a racing free or realloc owns it */
                    hak_report(st, p, "realloc");
                    errno = EINVAL;
                }
                return q;
            }
        } else if (n <= HAK_MID_MAXREQ && hak_size_class(n) == w.unit->cls) {
            /* in place only within its own class: a block's class then
             * always matches the last size asked for (sized.c) */
            return p;
        }
    }
    void *q = hak_malloc(n);
    if (!q) return NULL;                  /* errno ENOMEM, p untouched */
    memcpy(q, p, n < old ? n : old);
    st = hak_free_found(&w, p, 1);
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
    if (hak_aligned_in_slab(a, n, &want)) {
        /* under the tools the block comes closed, and they hear of the aligned n bytes only */
        unsigned char *q = HAK_TOOLS_ON ? heap_alloc_slow(want) : hak_malloc(want);
        if (!q) return NULL;
        uintptr_t al = hak_aligned_pos((uintptr_t)q, a);
        /* al: the first a-aligned address with 32 bytes in front inside the
         * block; under the tools the size word and the header stay closed
         * like the tag and mid header */
        hak_asize_store((unsigned char *)al, n, HAK_TOOLS_RT);   /* the size asked (sized.c) */
        hak_hdr_store((unsigned char *)al, HAK_ALIAS_MAGIC, (uint32_t)(al - (uintptr_t)q),
                          hak_hdr_check(hak_key(al), HAK_ST_ALLOC), HAK_TOOLS_RT);
        return HAK_TOOLS_ON ? tool_handout(q, (void *)al, n) : (void *)al;
    }
    hak_init();
    void *p = huge_alloc(n, a, HAK_HARDEN_ON);
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
