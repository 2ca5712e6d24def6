/* hakmem: a hardened drop-in malloc.  Public API.
 *
 * Every hak_* function may be called before any constructor has run and from
 * any thread; none of them aborts except through the documented invalid-free
 * policy of hak_free()/free() and their sized variants
 * (HAKMEM_INVALID_FREE=abort|warn|ignore), and on detected heap corruption
 * (an overflow into the next block's metadata), which is fatal.
 * All entry points preserve errno except where glibc sets it (ENOMEM, EINVAL). */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one place the version lives. */
#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0

/* Tier limits (requested bytes).  Tiny blocks carry a 1-byte tag in front of
 * the user pointer, Mid blocks a 16-byte header, Huge blocks are their own
 * mappings.  These are the single source of truth for the tier boundaries. */
#define HAKMEM_TINY_MAX 1024u
#define HAKMEM_MID_MAX  131072u

/* Verdict of the free dispatch (DESIGN.md section 5). */
typedef enum hak_free_status {
    HAK_FREE_OK = 0,      /* start of a live block of ours: freed */
    HAK_FREE_NULL,        /* NULL: nothing to do */
    HAK_FREE_FOREIGN,     /* not ours, memory in front of it is mapped (stack, globals, other heap) */
    HAK_FREE_UNMAPPED,    /* not ours and the page(s) in front of it are not mapped: a wild pointer */
    HAK_FREE_INVALID,     /* in our memory but not the start of a live block: interior,
                             misaligned, released slab, corrupted tag/header */
    HAK_FREE_DOUBLE,      /* the start of a block of ours that is already free */
    HAK_FREE_SIZE_MISMATCH, /* a live block, but the size (or alignment) given to a sized free
                               could not have produced it: nothing was freed */
    HAK_FREE_NSTATUS
} hak_free_status;

#if defined(__GNUC__)
#define HAKMEM_API __attribute__((visibility("default")))
#else
#define HAKMEM_API
#endif

HAKMEM_API void  *hak_malloc(size_t size);
HAKMEM_API void   hak_free(void *p);
HAKMEM_API void  *hak_calloc(size_t n, size_t size);
HAKMEM_API void  *hak_realloc(void *p, size_t size);
HAKMEM_API void  *hak_reallocarray(void *p, size_t n, size_t size);
HAKMEM_API void  *hak_aligned_alloc(size_t alignment, size_t size);
HAKMEM_API int    hak_posix_memalign(void **out, size_t alignment, size_t size);
HAKMEM_API void  *hak_memalign(size_t alignment, size_t size);
HAKMEM_API size_t hak_usable_size(const void *p);   /* 0 for NULL or any pointer that is not a live block start */
/* C23 sized frees: the size (and alignment) must be one that could have
 * produced the block (its size class; Huge blocks: its page count), or the
 * free is rejected as HAK_FREE_SIZE_MISMATCH under the policy. */
HAKMEM_API void   hak_free_sized(void *p, size_t size);
HAKMEM_API void   hak_free_aligned_sized(void *p, size_t alignment, size_t size);
/* Bytes from p (any byte of a live block, interior included) to the end of
 * its block; 0 for NULL and for memory that is not ours (hardened_malloc's
 * extension, for bounds checks).  A pointer into our memory that is not in
 * a live block (a freed slot, metadata) is rejected under the policy, then
 * 0; the _fast variant never reports, it returns 0. */
HAKMEM_API size_t hak_malloc_object_size(const void *p);
HAKMEM_API size_t hak_malloc_object_size_fast(const void *p);

/* Classify p and free it only when the verdict is HAK_FREE_OK.  Never aborts,
 * never crashes, whatever p is; the verdict is counted in the statistics. */
HAKMEM_API hak_free_status hak_free_checked(void *p);
/* hak_free_checked for a sized free: alignment 0 means free_sized(p, size),
 * otherwise free_aligned_sized(p, alignment, size).  A size that does not
 * fit the block gives HAK_FREE_SIZE_MISMATCH and frees nothing. */
HAKMEM_API hak_free_status hak_free_sized_checked(void *p, size_t alignment, size_t size);
/* Classify only: no side effect at all. */
HAKMEM_API hak_free_status hak_classify_ptr(const void *p);
HAKMEM_API const char     *hak_free_status_name(hak_free_status s);

typedef struct hak_stats {
    uint64_t live_bytes;        /* usable bytes of live blocks, all threads */
    uint64_t live_blocks;
    uint64_t peak_committed;    /* peak bytes of slab + huge memory held from the OS */
    uint64_t committed;         /* bytes of slab + huge memory held now */
    uint64_t tiny_allocs, mid_allocs, huge_allocs;   /* tiny and mid: counted with HAKMEM_STATS=1,
                                                   else 0: the fast paths carry no counter */
    uint64_t frees;             /* all tiers; counted like tiny_allocs, else 0 */
    uint64_t rejected[HAK_FREE_NSTATUS];   /* rejected operations (frees, reallocs, size queries)
                                              by verdict (OK and NULL not counted) */
} hak_stats;

HAKMEM_API void hak_get_stats(hak_stats *out);
HAKMEM_API void hak_print_stats(int fd);            /* one short summary, written with write(2) */
HAKMEM_API int  hak_trim(void);                     /* return free memory to the OS; 1 if anything was released */
/* Walk every slab and huge block and check the allocator's invariants.
 * Returns 0 when consistent, otherwise a negative code (and writes why to fd 2).
 * Safe while other threads allocate and free: their slabs' descriptors are
 * checked, but their counters and free lists (which they change without a
 * lock) only when the heaps are quiescent; the caller's own slabs and the
 * abandoned ones are always checked in full. */
HAKMEM_API int  hak_heap_check(void);
HAKMEM_API const char *hak_version(void);

#ifdef __cplusplus
}
#endif
#endif
