/* internal.h: cross-file prototypes and globals, grouped by defining file. */
#ifndef HAK_INTERNAL_H
#define HAK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "types.h"

/* Everything declared below is internal: direct references, no GOT. */
#pragma GCC visibility push(hidden)

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define HAK_HIDDEN  __attribute__((visibility("hidden")))
#define HAK_COLD    __attribute__((cold, noinline))

/* ---- init.c ---- */
extern uint64_t hak_secret;            /* process secret: tag cookies, header keys, list keys */
extern _Atomic int hak_ready;          /* 1 once hak_init() has completed */
void hak_init_slow(void);
static inline void hak_init(void) { if (unlikely(!atomic_load_explicit(&hak_ready, memory_order_acquire))) hak_init_slow(); }
void hak_lock(void);
void hak_unlock(void);
int  hak_trylock(void);                /* 1 when taken; for paths that must never wait */

/* key of a header at user address a: secret-keyed mix, so a header cannot be
 * forged without the secret (murmur3 finaliser) */
static inline uint64_t hak_key(uintptr_t a)
{
    uint64_t x = (uint64_t)a ^ hak_secret;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ---- env.c ---- */
enum hak_policy { HAK_POLICY_ABORT = 0, HAK_POLICY_WARN, HAK_POLICY_IGNORE };
typedef struct hak_options {
    int invalid_free;      /* enum hak_policy */
    int stats;             /* print a summary at exit */
    size_t purge_bytes;    /* released slab bytes kept dirty at least (below it: no purge by size) */
    size_t idle_bytes;     /* empty spans a heap keeps for reuse, all classes together */
    uint32_t decay_ms;     /* an empty span idle this long goes back to its chunk, and a
                              released unit dirty this long is purged */
} hak_options_t;
extern hak_options_t hak_opt;
void env_init(void);

/* ---- slab.c (global lock inside) ---- */
hak_slab_t *slab_new(unsigned cls, hak_heap_t *h);  /* fresh span for class cls, owned by h */
void slab_release(hak_slab_t *s);                    /* give a span back to its chunk */
hak_slab_t *slab_adopt(unsigned cls, hak_heap_t *h); /* take an abandoned slab of cls */
void slab_abandon(hak_slab_t *s);                    /* park a slab whose owner died (or release it) */
void slab_orphan_settle(hak_slab_t *s);              /* the last block of an abandoned slab came back? */
int  slab_purge(bool all);                           /* return dirty free units to the OS */
void slab_stats(uint64_t *committed, uint64_t *peak);  /* slabs and huge mappings */
void commit_add_locked(int64_t n);
int  slab_check_all(void);

/* ---- heap.c ---- */
extern __thread hak_heap_t *hak_tl_heap;   /* fast-path heap, see heap.h */
extern __thread hak_heap_t *hak_tl_own;    /* the thread's real heap */
extern hak_heap_t hak_empty_heap;
extern hak_slab_t hak_empty_slab;
void *heap_alloc_slow(size_t n);
void  heap_free_block(hak_slab_t *head, unsigned char *p);
void  heap_collect_all(hak_heap_t *h);
uint32_t heap_collect_remote(hak_slab_t *s);   /* owner, or the global lock for an abandoned slab */
void  heap_thread_exit(void *h);
void  heap_foreach(void (*fn)(hak_heap_t *, void *), void *arg);
void  heap_atfork_child(void);

/* ---- huge.c ---- */
void  *huge_alloc(size_t n, size_t align);
hak_free_status huge_free(hak_chunk_t *c);   /* OK, or DOUBLE when a racing free won */
void  *huge_realloc(hak_chunk_t *c, size_t n);
bool   huge_recently_freed(uintptr_t a);
void   huge_stats(uint64_t *live_bytes, uint64_t *live_blocks, uint64_t *allocs);

/* ---- free_dispatch.c ---- */
void hak_report(hak_free_status st, const void *p, const char *fn);
_Noreturn void hak_fatal(const char *msg, const void *p);   /* corrupt metadata: message, SIGABRT */
hak_free_status hak_free_found(hak_where_t *w, void *p);   /* OK, or DOUBLE for a lost race */
void hak_free_named(void *p, const char *fn);

/* ---- tool.c: under Memcheck or in the ASan build only (HAK_TOOLS_ON) ---- */
void  *tool_malloc(size_t n);                      /* a block of n, the tools told of n bytes */
void  *tool_handout(void *block, void *user, size_t n);   /* record and open n bytes at user */
void   tool_release(const hak_where_t *w, void *p);       /* p is being freed: tell the tools */
size_t tool_usable(const hak_where_t *w, const void *p);  /* the size p was asked for */
void  *tool_realloc(hak_where_t *w, void *p, size_t n);   /* p live, n > 0: always moves */

/* ---- stats.c ---- */
extern _Atomic uint64_t hak_rejected[HAK_FREE_NSTATUS];
extern _Atomic uint64_t hak_heapless_frees[HAK_NCLASS];   /* remote frees by threads without a heap */
void hak_class_live(uint64_t live[HAK_NCLASS]);            /* blocks in use per class */
#pragma GCC visibility pop
#endif
