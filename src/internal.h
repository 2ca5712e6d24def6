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
/* x in a register the compiler may not see through: it keeps a fast path's
 * register allocation (it cannot re-derive x, or reuse an earlier value of
 * it and keep that alive).  Nothing for the proofs. */
#ifdef __FRAMAC__
#define HAK_OPAQUE(x) ((void)0)
#else
#define HAK_OPAQUE(x) __asm__("" : "+r"(x))
#endif

/* ---- init.c ---- */
extern uint64_t hak_secret;            /* process secret: tag cookies, header keys, list keys */
extern _Atomic int hak_ready;          /* 1 once hak_init() has completed */
void hak_init_slow(void);
static inline void hak_init(void) { if (unlikely(!atomic_load_explicit(&hak_ready, memory_order_acquire))) hak_init_slow(); }
void hak_lock(void);
void hak_unlock(void);
int  hak_trylock(void);                /* 1 when taken; for paths that must never wait */

/* key of a header at user address a: a keyed mix, so a header cannot be
 * forged without the secret.  Two products of the address with secret odd
 * multipliers (hak_secret_mul), each offset by the secret: the high half of
 * one folds into the other.  Cheaper than the murmur finaliser it replaces
 * (8 instructions, not 16: a mid free computes two keys) and, unlike that
 * bijection of address ^ secret, one leaked key (a retired alias header, a
 * list link) no longer gives the secret back by inversion: it is one
 * equation in three secret words. */
extern uint64_t hak_secret_mul[2];     /* odd, drawn by getrandom() at init like hak_secret */
static inline uint64_t hak_key(uintptr_t a)
{
    uint64_t x = ((uint64_t)a ^ hak_secret) * hak_secret_mul[0];
    uint64_t y = ((uint64_t)a + hak_secret) * hak_secret_mul[1];
    return x ^ (y >> 32);
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
    size_t huge_cache_bytes;   /* cap of the cache of freed huge pages; 0: no cache */
    uint64_t huge_decay_ms;    /* cached huge pages unused this long go back to the OS */
    int harden_full;           /* HAKMEM_HARDEN=full: harden.c's checks (off under the tools) */
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
void slab_live(uint64_t live[HAK_NCLASS]);              /* blocks in use per class, from the slabs */
void commit_add_locked(int64_t n);
uint64_t commit_locked(void);                        /* bytes held now (the sum commit_add_locked keeps) */
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
/* a remote free of p whose tag or header is in state `from` (ALLOC; FREE for
 * a block leaving full mode's quarantine): OK, or DOUBLE when p was not in it */
hak_free_status heap_free_remote_from(hak_slab_t *s, unsigned char *p, unsigned from);

/* ---- huge.c ---- */
void  *huge_alloc(size_t n, size_t align, int zero);   /* zero: calloc's zeroed memory */
hak_free_status huge_free(hak_chunk_t *c);   /* OK, or DOUBLE when a racing free won */
/* NULL with errno ENOMEM and the block intact when the kernel says no, or with
 * *st = DOUBLE (nothing touched) when a racing free or realloc owns the block */
void  *huge_realloc(hak_chunk_t *c, size_t n, hak_free_status *st);
bool   huge_recently_freed(uintptr_t a);
void   huge_stats(uint64_t *live_bytes, uint64_t *live_blocks, uint64_t *allocs, uint64_t *cached);
void   huge_tick(void);      /* cheap: gives back cached pages older than the delay */
int    huge_trim(void);      /* gives back every cached page; 1 if there were any */
int    huge_check_all(void); /* 0, or -1 when the cache's bookkeeping is off */

/* ---- report.c (one-line messages; never allocates) ---- */
void hak_report(hak_free_status st, const void *p, const char *fn);   /* rejected: count, then the policy */
/*@ assigns \nothing;
    ensures never: \false; */
_Noreturn void hak_fatal(const char *msg, const void *p);   /* corrupt metadata: message, SIGABRT */
#define HAK_WAF_MSG "write after free"   /* full mode: a freed block no longer zero (harden.c) */
#define HAK_QTAG_MSG "corrupted tag of a quarantined block"   /* full mode: FREE changed under the ring */

/* ---- free_dispatch.c ---- */
/* hak_classify plus what it cannot know: a malloc(0) pointer (then OK with
 * w->chunk == NULL when live) and a huge block unmapped lately (DOUBLE) */
hak_free_status hak_classify_all(const void *p, hak_where_t *w);
hak_free_status hak_free_found(hak_where_t *w, void *p, int exact);   /* OK, or DOUBLE for a lost race */
void hak_free_named(void *p, const char *fn);          /* the full gate */
void hak_free_fast_named(void *p, const char *fn);     /* free() under another name */
/* sized frees under the policy; a == 0: free_sized (no alignment given) */
void hak_free_sized_named(void *p, size_t n, const char *fn);
void hak_free_aligned_sized_named(void *p, size_t a, size_t n, const char *fn);
void hak_free_aligned_named(void *p, size_t a, const char *fn);   /* unsized, alignment checked */

/* ---- sized.c ---- */
/* could (a, n) have produced the live block w found for p?  a == 0: any
 * alignment; sized == false: any size */
bool hak_size_fits(const hak_where_t *w, const void *p, size_t a, size_t n, bool sized);

/* ---- harden.c: HAKMEM_HARDEN=full (SECURITY.md).  Like the tools, full
 * mode keeps hak_tl_heap on the sentinel, so every operation misses the
 * fast paths and comes here; the tools take precedence (their own slow
 * paths), and an ASan build never runs it. */
#if defined(HAK_ASAN) && HAK_ASAN
#define HAK_HARDEN_ON 0
#else
#define HAK_HARDEN_ON __builtin_expect(hak_opt.harden_full, 0)
#endif
#define HAK_QUARANTINE 64u                 /* freed blocks each thread holds back (FIFO) */
void *harden_malloc(size_t n);            /* a zeroed block of n bytes, checked still zero */
hak_free_status harden_free(hak_slab_t *s, unsigned char *user, const unsigned char *p);
/* free() (named fn) of a live tiny block at its own start, found through unit u */
void harden_free_tiny(const hak_unit_t *u, unsigned char *p, const char *fn);
/* the same, from the fast accept's heap_free_other (s: the block's slab): OK, or DOUBLE for a lost race */
hak_free_status harden_free_slab(hak_slab_t *s, unsigned char *p);
void harden_flush(void);                  /* the calling thread's quarantine back to its slabs */
void harden_carved(const hak_slab_t *s, unsigned char *p);   /* a slot carved from a span: zeroed */

/* ---- api.c ---- */
size_t hak_usable_size_named(const void *p, const char *fn);   /* malloc_usable_size: the policy */
/* An over-aligned request (HAK_ALIGN < a <= HAK_SLAB) of n bytes is served
 * from slabs as a block of *want = n + a + HAK_MID_HDR bytes (room for the
 * alignment, the alias header and the size word below), unless that is too
 * big. */
static inline bool hak_aligned_in_slab(size_t a, size_t n, size_t *want)
{
    return a <= HAK_SLAB && !__builtin_add_overflow(n, a + HAK_MID_HDR, want) &&
           *want <= (HAK_HARDEN_ON ? HAK_HARDEN_SLAB_MAX : HAK_MID_MAXREQ);
}
/* ...and the pointer handed out is the first a-aligned address with room in
 * front for its alias header and, in front of that, a size word: the exact
 * size asked, which the sized frees compare (sized.c), so that a wrong size
 * inside the block's class is caught for aligned blocks (hardened_malloc's
 * invalid_aligned_sized_delete_large).  Always an alias, even when the
 * block's start is aligned: the alias lies at most a + HAK_MID_HDR past the
 * start, within want. */
static inline uintptr_t hak_aligned_pos(uintptr_t user, size_t a)
{
    return (user + HAK_ALIAS_SIZE_OFF + a - 1) / a * a;
}

/* ---- zero.c (malloc(0): unique pointers into a PROT_NONE reservation) ---- */
void *zero_alloc(void);                       /* NULL when none is left */
bool zero_owns(const void *p);                /* p is in the reservation */
hak_free_status zero_state(const void *p);    /* zero_owns(p): OK live, DOUBLE freed, INVALID otherwise */
hak_free_status zero_free(const void *p);     /* zero_owns(p): frees on OK */
uint64_t zero_live(void);

/* ---- tool.c: under Memcheck or in the ASan build only (HAK_TOOLS_ON) ---- */
void  *tool_malloc(size_t n);                      /* a block of n, the tools told of n bytes */
void  *tool_handout(void *block, void *user, size_t n);   /* record and open n bytes at user */
void   tool_release(const hak_where_t *w, void *p);       /* p is being freed: tell the tools */
size_t tool_usable(const hak_where_t *w, const void *p);  /* the size p was asked for */
uintptr_t tool_end(uintptr_t b);                   /* end of what was asked for of block b, or 0 */
void  *tool_realloc(hak_where_t *w, void *p, size_t n);   /* p live, n > 0: always moves */

/* ---- stats.c ---- */
extern _Atomic uint64_t hak_rejected[HAK_FREE_NSTATUS];
void hak_class_live(uint64_t live[HAK_NCLASS]);            /* blocks in use per class */
#pragma GCC visibility pop
#endif
