/* override_cxx.c: C++ operator new and delete, by their Itanium-ABI names.
 *
 * Why hakmem defines them (issue 12): libstdc++'s sized and aligned deletes
 * drop the size and alignment on the way to free(), and its aligned new
 * rounds the size up before aligned_alloc(), so sized-delete checks need
 * both halves here, where the size a block was made for is known.  Every
 * new and delete of <new> is here (plain, array, nothrow, sized, aligned),
 * so no pairing mixes libstdc++'s with ours.
 *
 * Written in C with the mangled names, so libhakmem.so does not depend on
 * libstdc++.  Failure follows [new.delete.single]: call the new_handler
 * until it gives up, then throw std::bad_alloc.  Both are libstdc++'s,
 * reached through weak references that resolve in any C++ program (which
 * links libstdc++); without it (a static C++ link that never pulled them
 * in) a failed new prints a line and aborts.  This file is compiled with
 * -fexceptions so a bad_alloc can unwind through it.  A nothrow new returns
 * NULL once there is no handler; a handler that throws out of a nothrow new
 * terminates the program (C code cannot catch).
 *
 * Left out of the core archive, like override.c: the ASan and libFuzzer
 * builds keep the toolchain's operators. */
#include <stddef.h>
#include "hakmem.h"
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

typedef void (*new_handler_fn)(void);
/* std::get_new_handler(), std::__throw_bad_alloc() */
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern _Noreturn void _ZSt17__throw_bad_allocv(void) __attribute__((weak));

static int is_pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

/* one allocation attempt: plain when a == 0 */
static void *try_alloc(size_t n, size_t a)
{
    return a == 0 ? hak_malloc(n) : hak_aligned_alloc(a, n);
}

HAK_COLD static _Noreturn void bad_alloc(void)
{
    if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
    hak_fatal("operator new(): out of memory, and no std::bad_alloc to throw", NULL);
}

/* The allocation failed: run the new_handler until it succeeds or there is
 * none.  Returns NULL (nothrow) or throws. */
HAK_COLD static void *new_fail(size_t n, size_t a, int nothrow)
{
    for (;;) {
        new_handler_fn h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (h == NULL || (a != 0 && !is_pow2(a))) break;   /* a bad alignment never succeeds */
        h();
        void *p = try_alloc(n, a);
        if (p != NULL) return p;
    }
    if (nothrow) return NULL;
    bad_alloc();
}

static inline void *new_impl(size_t n, size_t a, int nothrow)
{
    void *p = try_alloc(n, a);   /* n == 0 is fine: a unique pointer (zero.c) */
    return likely(p != NULL) ? p : new_fail(n, a, nothrow);
}

/* ---- new: (size), (size, nothrow), (size, align), (size, align, nothrow) */
EXPORT void *_Znwm(size_t n) { return new_impl(n, 0, 0); }
EXPORT void *_Znam(size_t n) { return new_impl(n, 0, 0); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return new_impl(n, 0, 1); }
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return new_impl(n, 0, 1); }
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a) { return new_impl(n, a, 0); }
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a) { return new_impl(n, a, 0); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *nt) { (void)nt; return new_impl(n, a, 1); }
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *nt) { (void)nt; return new_impl(n, a, 1); }

/* ---- delete: the size and the alignment, when given, must fit the block
 * (sized.c); a mismatch is a rejected free under HAKMEM_INVALID_FREE */
#define DEL  "operator delete"
#define DELA "operator delete[]"
EXPORT void _ZdlPv(void *p) { hak_free_fast_named(p, DEL); }
EXPORT void _ZdaPv(void *p) { hak_free_fast_named(p, DELA); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; hak_free_fast_named(p, DEL); }
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; hak_free_fast_named(p, DELA); }
EXPORT void _ZdlPvm(void *p, size_t n) { hak_free_sized_named(p, n, DEL); }
EXPORT void _ZdaPvm(void *p, size_t n) { hak_free_sized_named(p, n, DELA); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) { hak_free_aligned_named(p, a, DEL); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) { hak_free_aligned_named(p, a, DELA); }
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *nt) { (void)nt; hak_free_aligned_named(p, a, DEL); }
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *nt) { (void)nt; hak_free_aligned_named(p, a, DELA); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { hak_free_aligned_sized_named(p, a, n, DEL); }
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { hak_free_aligned_sized_named(p, a, n, DELA); }
