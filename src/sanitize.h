/* sanitize.h: telling ASan and Valgrind what the allocator does (issues 5, 13).
 *
 * ASan: compiled in with -DHAK_ASAN (the fuzz and `make asan` builds, which
 * keep the system malloc); everything but the requested bytes of live
 * blocks is poisoned.
 * Valgrind: always compiled in; the client requests are a few instructions
 * of magic that do nothing natively, and they are only issued when
 * hak_tools says we run under Valgrind (one predictable branch). */
#ifndef HAK_SANITIZE_H
#define HAK_SANITIZE_H

#include <stddef.h>
#if defined(__FRAMAC__)
/* WP: a client request is a sequence of instructions that changes no
 * program memory (natively it does nothing at all), so it is proved as
 * nothing; the fast paths pass tools == 0 anyway (proofs/README.md,
 * trusted base). */
#define VALGRIND_MAKE_MEM_DEFINED(p, n)  ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(p, n) ((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(p, o, n, r) ((void)0)
#define VALGRIND_MALLOCLIKE_BLOCK(p, n, r, z) ((void)0)
#define VALGRIND_DISABLE_ERROR_REPORTING ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING  ((void)0)
#define VALGRIND_GET_VBITS(p, v, n) 0
#else
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>
#endif

#if defined(HAK_ASAN) && HAK_ASAN
#include <sanitizer/asan_interface.h>
#define HAK_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define HAK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
/* LeakSanitizer scans only its roots and ASan's own blocks, and a program
 * may keep the only pointer to a system-malloc block inside a hakmem block:
 * hakmem's mappings must be root regions, or LSan reports false leaks. */
#include <sanitizer/lsan_interface.h>
#define HAK_LSAN_ROOT(p, n)   __lsan_register_root_region((p), (n))
#define HAK_LSAN_UNROOT(p, n) __lsan_unregister_root_region((p), (n))
#else
#define HAK_LSAN_ROOT(p, n)   ((void)(p), (void)(n))
#define HAK_LSAN_UNROOT(p, n) ((void)(p), (void)(n))
#define HAK_POISON(p, n)   ((void)(p), (void)(n))
#define HAK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

extern int hak_tools;   /* 1 under Valgrind's Memcheck (init.c) */

/* The run-time test of every Valgrind hook.  -DHAK_NO_TOOL_HOOKS makes it
 * constant 0 (hooks compiled out): the measurement build of `make hookcost`,
 * which prices the hooks on the fast path. */
#if defined(HAK_NO_TOOL_HOOKS)
#define HAK_TOOLS_RT 0
#else
#define HAK_TOOLS_RT __builtin_expect(hak_tools, 0)
#endif

/* Fast paths test this once and take a separate, hooked copy of their body
 * when it is true; in an ASan build it is constant 1. */
#if defined(HAK_ASAN) && HAK_ASAN
#define HAK_TOOLS_ON 1
#else
#define HAK_TOOLS_ON HAK_TOOLS_RT
#endif

/* ---- Blocks.  Under the tools the tiers (heap.h, huge.c) never tell the
 * tools about blocks themselves: they keep every byte of a slot or mapping
 * closed (ASan: poisoned; Memcheck: NOACCESS) and hand it to the tool layer
 * (tool.c), which records the size the program asked for and opens exactly
 * that many bytes (VALGRIND_MALLOCLIKE_BLOCK, ASan unpoisoning), so the
 * slack up to the usable size stays off limits.  tool.c also issues the
 * FREELIKE, before the tier takes the block back. */

/* a tier is about to pass the usable bytes at p up to tool.c: close them
 * all (the free-list link the pop just read included) */
static inline void hak_san_alloc(void *p, size_t usable, int zeroed)
{
    (void)zeroed;
    HAK_POISON(p, usable);
    if (HAK_TOOLS_RT)
        VALGRIND_MAKE_MEM_NOACCESS(p, usable);
}

/* the program gave the block back (tool.c told Memcheck already); the
 * allocator may still write its link through hak_san_internal */
static inline void hak_san_free(void *p, size_t usable)
{
    HAK_POISON(p, usable);
}

/* the allocator itself is about to touch n bytes of a free slot */
static inline void hak_san_internal(void *p, size_t n)
{
    HAK_UNPOISON(p, n);
    if (HAK_TOOLS_RT)
        VALGRIND_MAKE_MEM_DEFINED(p, n);
}

/* ...and is done with them */
static inline void hak_san_internal_done(void *p, size_t n)
{
    HAK_POISON(p, n);
    if (HAK_TOOLS_RT)
        VALGRIND_MAKE_MEM_NOACCESS(p, n);
}

/* a huge block resized in place (huge.c): the tools follow its new end */
static inline void hak_san_resize(void *p, size_t old, size_t now)
{
    if (now > old) HAK_UNPOISON((char *)p + old, now - old);
    else HAK_POISON((char *)p + now, old - now);
    if (HAK_TOOLS_RT)
        VALGRIND_RESIZEINPLACE_BLOCK(p, old, now, 0);
}

/* ---- The in-band bytes: tiny tag at p - 1, mid header at p - 16.
 * They are the allocator's, not part of the block in front of them, so both
 * tools keep them off limits to the program (ASan: poisoned from chunk_new
 * on and never unpoisoned; Memcheck: NOACCESS from chunk_new on): a write
 * one byte past the usable size is reported.  hakmem touches them only
 * through these accessors: not instrumented in the ASan build, and opened
 * for the instant of the access under Memcheck when `tools` is set (the
 * fast paths pass a constant 0: plain loads and stores). */
#include <stdint.h>
#include "layout.h"
#include "tag.h"

#if defined(HAK_ASAN) && HAK_ASAN
#define HAK_INBAND static __attribute__((noinline, no_sanitize("address"), unused))
#else
#define HAK_INBAND static inline __attribute__((always_inline, unused))
#endif
#define HAK_VG_OPEN(tools, q, n)  do { if (tools) VALGRIND_MAKE_MEM_DEFINED((q), (n)); } while (0)
#define HAK_VG_CLOSE(tools, q, n) do { if (tools) VALGRIND_MAKE_MEM_NOACCESS((q), (n)); } while (0)

/*@ requires \valid_read(p - 1);
    assigns \nothing;
    ensures loaded: \result == *(p - 1); */
HAK_INBAND uint8_t hak_tag_load(const unsigned char *p, int tools)
{
    HAK_VG_OPEN(tools, p - 1, 1);
    /* relaxed atomic: the overflow check reads the next slot's tag while a
     * remote free may claim it (same mov on x86-64; the race is by design) */
    uint8_t t = __atomic_load_n(&p[-1], __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, p - 1, 1);
    return t;
}

/*@ requires \valid(p - 1);
    assigns *(p - 1);
    ensures stored: *(p - 1) == t; */
HAK_INBAND void hak_tag_store(unsigned char *p, uint8_t t, int tools)
{
    HAK_VG_OPEN(tools, p - 1, 1);
    __atomic_store_n(&p[-1], t, __ATOMIC_RELAXED);   /* read by racing neighbours' checks */
    HAK_VG_CLOSE(tools, p - 1, 1);
}

HAK_INBAND int hak_tag_cas(unsigned char *p, uint8_t want, uint8_t now, int tools)
{
    HAK_VG_OPEN(tools, p - 1, 1);
    int ok = __atomic_compare_exchange_n(&p[-1], &want, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, p - 1, 1);
    return ok;
}

HAK_INBAND hak_mid_hdr_t hak_hdr_load(const unsigned char *p, int tools)
{
    /* field by field through volatile: never a memcpy call (ASan intercepts those) */
    const volatile hak_mid_hdr_t *src = (const volatile hak_mid_hdr_t *)(const void *)(p - 16);
    hak_mid_hdr_t h;
    HAK_VG_OPEN(tools, p - 16, 16);
    /* relaxed atomics: the next block's header is read by the overflow check
     * while a remote free may claim it (plain movs on x86-64) */
    h.magic = __atomic_load_n(&src->magic, __ATOMIC_RELAXED);
    h.aux = __atomic_load_n(&src->aux, __ATOMIC_RELAXED);
    h.check = __atomic_load_n(&src->check, __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, p - 16, 16);
    return h;
}

HAK_INBAND void hak_hdr_store(unsigned char *p, uint32_t magic, uint32_t aux, uint64_t check, int tools)
{
    hak_mid_hdr_t *h = (hak_mid_hdr_t *)(void *)(p - 16);
    HAK_VG_OPEN(tools, p - 16, 16);
    __atomic_store_n(&h->magic, magic, __ATOMIC_RELAXED);   /* see hak_hdr_load */
    __atomic_store_n(&h->aux, aux, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, check, __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, p - 16, 16);
}

/* the size word in front of an aligned alias header at p (internal.h) */
HAK_INBAND void hak_asize_store(unsigned char *p, size_t n, int tools)
{
    size_t *w = (size_t *)(void *)(p - HAK_ALIAS_SIZE_OFF);
    HAK_VG_OPEN(tools, w, sizeof *w);
    *w = n;
    HAK_VG_CLOSE(tools, w, sizeof *w);
}

HAK_INBAND size_t hak_asize_load(const unsigned char *p, int tools)
{
    const size_t *w = (const size_t *)(const void *)(p - HAK_ALIAS_SIZE_OFF);
    HAK_VG_OPEN(tools, w, sizeof *w);
    size_t n = *w;
    HAK_VG_CLOSE(tools, w, sizeof *w);
    return n;
}

/* flip state bits of the check word of the header hd: key ^ a becomes
 * key ^ (a ^ x) with no key to compute (the malloc pop: FREE to ALLOC).
 * It takes the header itself, not the user pointer: the pop's proof sees
 * the block through typed views only (heap.h: heap_pop_slot). */
/*@ requires \valid(hd);
    assigns hd->check;
    ensures flipped: hd->check == (\old(hd->check) ^ x); */
HAK_INBAND void hak_hdr_flip(hak_mid_hdr_t *hd, uint64_t x, int tools)
{
    HAK_VG_OPEN(tools, hd, sizeof *hd);
    __atomic_store_n(&hd->check, __atomic_load_n(&hd->check, __ATOMIC_RELAXED) ^ x, __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, hd, sizeof *hd);
}

/* The check word alone (magic and class stay): the owner's free of a mid
 * block whose ALLOC word it has just read (free_dispatch.c: free_mid). */
HAK_INBAND void hak_hdr_set_check(unsigned char *p, uint64_t check, int tools)
{
    hak_mid_hdr_t *h = (hak_mid_hdr_t *)(void *)(p - 16);
    HAK_VG_OPEN(tools, p - 16, 16);
    __atomic_store_n(&h->check, check, __ATOMIC_RELAXED);   /* see hak_hdr_load */
    HAK_VG_CLOSE(tools, p - 16, 16);
}

HAK_INBAND int hak_hdr_cas_check(unsigned char *p, uint64_t want, uint64_t now, int tools)
{
    hak_mid_hdr_t *h = (hak_mid_hdr_t *)(void *)(p - 16);
    HAK_VG_OPEN(tools, p - 16, 16);
    int ok = __atomic_compare_exchange_n(&h->check, &want, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    HAK_VG_CLOSE(tools, p - 16, 16);
    return ok;
}

/* the free-list link of a slot already off limits (poisoned / NOACCESS) */
HAK_INBAND void hak_link_store(void *b, uintptr_t v, int tools)
{
    HAK_VG_OPEN(tools, b, sizeof v);
    *(uintptr_t *)b = v;
    HAK_VG_CLOSE(tools, b, sizeof v);
}
#endif
