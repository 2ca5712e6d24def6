/* precise.c: one access per run through the plain malloc names, for
 * precise.sh, which checks that the tool names the size the program asked
 * for (issue 13).  The sizes come from the command line, so the runner
 * knows what the report must say.
 *   precise uaf N          p = malloc(N), p[0] = 1, free(p), read p[3]
 *   precise past N         p = malloc(N), write p[N]
 *   precise shrink A B     p = malloc(A), p = realloc(p, B), write p[B]   (B < A)
 *   precise grow A B       p = malloc(A), p = realloc(p, B), write p[B]   (B > A)
 *   precise aligned AL N   p = aligned_alloc(AL, N), write p[N]
 *   precise before AL N    p = aligned_alloc(AL, N), write p[-1]
 *   precise leak N         malloc(N), filled, its only pointer dropped
 *   precise usable N       no bug: malloc_usable_size() must say N (or what
 *                          realloc asked for) after malloc, realloc both
 *                          ways, aligned_alloc, memalign, posix_memalign
 *                          and calloc, and the blocks must be hakmem's
 *   precise none           no bug
 * Built twice: for Memcheck with gcc -O0 -fno-builtin and nothing of
 * hakmem linked (it runs under LD_PRELOAD=libhakmem.so, as a user's
 * program would), and for ASan with hak_names.h force-included (the plain
 * names become hak_* and it links the ASan core library).  Accesses go
 * through volatile pointers in noinline functions, so they stay as written. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static volatile char seen;   /* the byte read after free goes somewhere */

NOINLINE static void use_after_free(size_t n)
{
    char *p = malloc(n);
    p[0] = 1;
    free(p);
    volatile char *v = p;
    seen = v[3];                               /* BUG: read after free */
}

NOINLINE static void write_at(char *p, long i)
{
    volatile char *v = p;
    v[i] = 2;                                  /* BUG, at the caller's choice of i */
}

NOINLINE static void leak(size_t n)
{
    char *p = malloc(n);
    memset(p, 1, n);                           /* BUG: the only pointer dies here */
}

/* overwrite what leak() left on the stack: no stale copy may keep it reachable */
NOINLINE static void scrub_stack(void)
{
    volatile char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = 0;
}

/* the block is hakmem's (so the run tests hakmem, not the tool's own malloc) */
static int is_hakmem(void *p)
{
#ifdef HAKMEM_SAN_HAK_NAMES_H
    return hak_classify_ptr(p) == HAK_FREE_OK;
#else
    int (*classify)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hak_classify_ptr");
    return classify && classify(p) == 0;     /* HAK_FREE_OK */
#endif
}

static int usable_is(const char *what, void *p, size_t n)
{
    size_t u = malloc_usable_size(p);
    int ok = p && u == n && is_hakmem(p);
    printf("%s %s: malloc_usable_size %zu, asked %zu%s\n", ok ? "ok  " : "FAIL", what, u, n,
           p && !is_hakmem(p) ? " (not a hakmem block)" : "");
    return ok;
}

static int usable(size_t n)
{
    int ok = 1;
    char *p = malloc(n);
    ok &= usable_is("malloc", p, n);
    p = realloc(p, n + n / 2 + 1);
    ok &= usable_is("realloc up", p, n + n / 2 + 1);
    p = realloc(p, n / 2 + 1);
    ok &= usable_is("realloc down", p, n / 2 + 1);
    free(p);
    p = aligned_alloc(64, n);
    ok &= usable_is("aligned_alloc(64)", p, n);
    free(p);
    p = memalign(4096, n);
    ok &= usable_is("memalign(4096)", p, n);
    free(p);
    void *q = NULL;
    ok &= posix_memalign(&q, 256, n) == 0;
    ok &= usable_is("posix_memalign(256)", q, n);
    free(q);
    p = calloc(1, n);
    ok &= usable_is("calloc", p, n);
    free(p);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    size_t a = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
    size_t b = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
    char *p;
    if (!strcmp(c, "none")) {
        p = malloc(100);
        memset(p, 0, 100);
        free(p);
    } else if (!strcmp(c, "uaf") && argc == 3) {
        use_after_free(a);
    } else if (!strcmp(c, "past") && argc == 3) {
        p = malloc(a);
        write_at(p, (long)a);
        free(p);
    } else if ((!strcmp(c, "shrink") || !strcmp(c, "grow")) && argc == 4) {
        p = malloc(a);
        memset(p, 3, a);
        p = realloc(p, b);
        write_at(p, (long)b);
        free(p);
    } else if ((!strcmp(c, "aligned") || !strcmp(c, "before")) && argc == 4) {
        p = aligned_alloc(a, b);
        write_at(p, !strcmp(c, "before") ? -1 : (long)b);
        free(p);
    } else if (!strcmp(c, "leak") && argc == 3) {
        leak(a);
        scrub_stack();
    } else if (!strcmp(c, "usable") && argc == 3) {
        return usable(a);
    } else {
        fprintf(stderr, "usage: precise uaf|past|leak|usable N | shrink|grow A B | aligned|before AL N | none\n");
        return 2;
    }
    printf("precise: %s done\n", c);
    return 0;
}
