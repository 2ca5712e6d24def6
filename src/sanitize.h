/* sanitize.h: telling ASan and Valgrind what the allocator does (issue 5).
 *
 * ASan: compiled in with -DHAK_ASAN (the fuzz and `make asan` builds, which
 * keep the system malloc); freed slots and unused slab space are poisoned.
 * Valgrind: always compiled in; the client requests are a few instructions
 * of magic that do nothing natively, and they are only issued when
 * hak_tools says we run under Valgrind (one predictable branch). */
#ifndef HAK_SANITIZE_H
#define HAK_SANITIZE_H

#include <stddef.h>
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>

#if defined(HAK_ASAN) && HAK_ASAN
#include <sanitizer/asan_interface.h>
#define HAK_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define HAK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HAK_POISON(p, n)   ((void)(p), (void)(n))
#define HAK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

extern int hak_tools;   /* 1 under Valgrind's Memcheck (init.c) */

/* Fast paths test this once and take a separate, hooked copy of their body
 * when it is true; in an ASan build it is constant 1. */
#if defined(HAK_ASAN) && HAK_ASAN
#define HAK_TOOLS_ON 1
#else
#define HAK_TOOLS_ON __builtin_expect(hak_tools, 0)
#endif

/* a block of usable bytes at p is handed to the user */
static inline void hak_san_alloc(void *p, size_t usable, int zeroed)
{
    HAK_UNPOISON(p, usable);
    if (__builtin_expect(hak_tools, 0))
        VALGRIND_MALLOCLIKE_BLOCK(p, usable, 0, zeroed);
}

/* the user gave the block back; the allocator may still write its link */
static inline void hak_san_free(void *p, size_t usable)
{
    if (__builtin_expect(hak_tools, 0))
        VALGRIND_FREELIKE_BLOCK(p, 0);
    HAK_POISON(p, usable);
}

/* the allocator itself is about to touch n bytes of a free slot */
static inline void hak_san_internal(void *p, size_t n)
{
    HAK_UNPOISON(p, n);
    if (__builtin_expect(hak_tools, 0))
        VALGRIND_MAKE_MEM_DEFINED(p, n);
}

/* ...and is done with them */
static inline void hak_san_internal_done(void *p, size_t n)
{
    HAK_POISON(p, n);
    if (__builtin_expect(hak_tools, 0))
        VALGRIND_MAKE_MEM_NOACCESS(p, n);
}

static inline void hak_san_resize(void *p, size_t old, size_t now)
{
    if (now > old) HAK_UNPOISON((char *)p + old, now - old);
    else HAK_POISON((char *)p + now, old - now);
    if (__builtin_expect(hak_tools, 0))
        VALGRIND_RESIZEINPLACE_BLOCK(p, old, now, 0);
}
#endif
