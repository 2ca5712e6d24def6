/* fault.h: one bad-pointer scenario per file (STYLE.md 5.11).
 *
 * A scenario file sets up a bad pointer and registers itself with FAULT():
 *
 *     static void *setup(struct fctx *c) { char *p = malloc(40); return p + 1; }
 *     FAULT(interior_tiny_plus1, V(INVALID), setup, NULL);
 *
 * `expect` is a bit set of acceptable hak_free_status verdicts (one bit in
 * all but a few scenarios whose answer the design leaves open; those say why).
 * `restore`, when given, undoes the damage after the verdict (e.g. writes the
 * tag byte back) and returns a block that must then free with HAK_FREE_OK.
 * faults_main.c runs each scenario in a child: once through hak_free_checked()
 * (verdict + heap check), and through plain free() under every
 * HAKMEM_INVALID_FREE policy (signal, exit status and the stderr message).
 * Setups use the plain malloc names so they work in the static build and under
 * LD_PRELOAD alike. */
#ifndef HAKMEM_TESTS_FAULT_H
#define HAKMEM_TESTS_FAULT_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem.h"

struct fctx {
    char *stack;              /* 256 bytes in the runner's stack frame */
    void *keep;               /* scenario state for restore() */
    size_t keep_size;
    size_t size, align;       /* arguments of a sized operation (op below) */
    unsigned char saved[32];
    long page;
    hak_free_status (*checked)(void *);   /* hak_free_checked, for custom tests */
};

/* What a scenario does with its bad pointer (issue 12).  FOP_FREE is free()
 * (and realloc(), malloc_usable_size() in their own sections); the sized
 * ones pass c->size and c->align, set by setup(), to the plain-name call
 * (and to hak_free_sized_checked in the checked run); FOP_OBJECT_SIZE is
 * malloc_object_size(). */
enum fault_op {
    FOP_FREE = 0,
    FOP_FREE_SIZED,             /* free_sized(p, size) */
    FOP_FREE_ALIGNED_SIZED,     /* free_aligned_sized(p, align, size) */
    FOP_DELETE_SIZED,           /* operator delete(p, size) */
    FOP_DELETE_ARRAY_SIZED,     /* operator delete[](p, size) */
    FOP_DELETE_ALIGNED,         /* operator delete(p, align_val_t(align)) */
    FOP_DELETE_ALIGNED_SIZED,   /* operator delete(p, size, align_val_t(align)) */
    FOP_OBJECT_SIZE,            /* malloc_object_size(p) */
};

struct fault {
    const char *name;
    unsigned expect;                       /* bit set of hak_free_status */
    void *(*setup)(struct fctx *);
    void *(*restore)(struct fctx *);       /* may be NULL */
    /* custom checked-mode test (returns the number of failures, prints why);
     * such scenarios have no plain-free run */
    int (*custom)(struct fctx *);
    int op;                                /* enum fault_op */
    /* corrupt metadata: every run must die by SIGABRT with this message,
     * whatever the policy (expect is then 0) */
    const char *fatal;
};

#define V(x) (1u << HAK_FREE_##x)

#define FAULT(id, expect_, setup_, restore_)                                  \
    static const struct fault fault_##id = { #id, expect_, setup_, restore_, NULL, FOP_FREE, NULL }; \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

#define FAULT_CUSTOM(id, fn_)                                                 \
    static const struct fault fault_##id = { #id, 0, NULL, NULL, fn_, FOP_FREE, NULL }; \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

/* a scenario whose bad operation is op (enum fault_op), not free() */
#define FAULT_OP(id, expect_, op_, setup_, restore_)                          \
    static const struct fault fault_##id = { #id, expect_, setup_, restore_, NULL, op_, NULL }; \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

/* a scenario that corrupts metadata: free(p) must be fatal with message msg */
#define FAULT_FATAL(id, msg_, setup_)                                         \
    static const struct fault fault_##id = { #id, 0, setup_, NULL, NULL, FOP_FREE, msg_ }; \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

#define FAULT_OVERFLOW_MSG "heap overflow into the next block"

/* hakmem's names that glibc does not have: strong references in the static
 * build (they pull override*.o out of libhakmem.a), weak ones under
 * LD_PRELOAD (resolved in the preloaded library). */
#ifdef HAK_DYN
#define FAULT_EXT __attribute__((weak))
#else
#define FAULT_EXT
#endif
FAULT_EXT void free_sized(void *, size_t);
FAULT_EXT void free_aligned_sized(void *, size_t, size_t);
FAULT_EXT size_t malloc_object_size(const void *);
FAULT_EXT size_t malloc_object_size_fast(const void *);
/* C++ operator new/delete by their Itanium names (std::size_t, std::align_val_t) */
FAULT_EXT void *_Znwm(size_t);
FAULT_EXT void *_Znam(size_t);
FAULT_EXT void *_ZnwmSt11align_val_t(size_t, size_t);
FAULT_EXT void _ZdlPvm(void *, size_t);
FAULT_EXT void _ZdaPvm(void *, size_t);
FAULT_EXT void _ZdlPvSt11align_val_t(void *, size_t);
FAULT_EXT void _ZdlPvmSt11align_val_t(void *, size_t, size_t);

/* glibc's own allocator, under whatever malloc is interposed: its malloc
 * and free looked up in libc.so.6 itself (hakmem takes over the __libc_*
 * names too, so those would hand out hakmem blocks) */
static inline void *libc_fn(const char *name)
{
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    return libc ? dlsym(libc, name) : NULL;
}
static inline void *glibc_malloc(size_t n)
{
    void *(*f)(size_t) = (void *(*)(size_t))libc_fn("malloc");
    return f ? f(n) : NULL;
}
static inline void glibc_free(void *p)
{
    void (*f)(void *) = (void (*)(void *))libc_fn("free");
    if (f) f(p);
}

/* Maps `pages` fresh pages; the scenario decides what to unmap or protect. */
static inline char *fault_map(struct fctx *c, int pages)
{
    void *m = mmap(NULL, (size_t)pages * c->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : (char *)m;
}

#endif
