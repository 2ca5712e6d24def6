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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem.h"

struct fctx {
    char *stack;              /* 256 bytes in the runner's stack frame */
    void *keep;               /* scenario state for restore() */
    size_t keep_size;
    unsigned char saved[32];
    long page;
    hak_free_status (*checked)(void *);   /* hak_free_checked, for custom tests */
};

struct fault {
    const char *name;
    unsigned expect;                       /* bit set of hak_free_status */
    void *(*setup)(struct fctx *);
    void *(*restore)(struct fctx *);       /* may be NULL */
    /* custom checked-mode test (returns the number of failures, prints why);
     * such scenarios have no plain-free run */
    int (*custom)(struct fctx *);
};

#define V(x) (1u << HAK_FREE_##x)

#define FAULT(id, expect_, setup_, restore_)                                  \
    static const struct fault fault_##id = { #id, expect_, setup_, restore_, NULL }; \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

#define FAULT_CUSTOM(id, fn_)                                                 \
    static const struct fault fault_##id = { #id, 0, NULL, NULL, fn_ };       \
    __attribute__((used, section("hak_faults"))) static const struct fault *const fault_ptr_##id = &fault_##id

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
