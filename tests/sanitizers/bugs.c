/* bugs.c: one deliberate memory bug per run, through hakmem, for the
 * "seeing through" runner (see.sh).  `bugs CASE` where CASE is
 *   uaf-{tiny,mid,huge}       read a byte of a freed block
 *   overflow-{tiny,mid,huge}  write the first byte past hak_usable_size()
 *   uninit-{tiny,mid,huge}    branch on a byte of a fresh, never written block
 *   leak-{tiny,mid,huge}      drop the only pointer to a live block (tiny, mid:
 *                             not the first slot of its slab)
 *   leak0-{tiny,mid}          the same with the first slot of a fresh slab
 *   none                      no bug (the runner checks the tools stay quiet)
 * The program itself cannot tell whether the tool noticed: see.sh reads the
 * tool's report.  Each case keeps a live neighbour block in the same slab so
 * the slab stays in use (a freed block's memory is still hakmem's, not
 * returned to the OS) and the bug is one the tool has to see through the
 * allocator's bookkeeping.  Everything is behind noinline functions and
 * volatile accesses so the compiler keeps the bug as written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

#define NOINLINE __attribute__((noinline))

static size_t tier_size(const char *t)
{
    if (!strcmp(t, "tiny")) return 24;       /* usable 31: the next slot's tag follows */
    if (!strcmp(t, "mid")) return 5000;      /* usable 5120: the next block's header follows */
    if (!strcmp(t, "huge")) return HAKMEM_MID_MAX + 50000;   /* own mapping */
    return 0;
}

static void *volatile sink;   /* keeps neighbours alive and reachable */

NOINLINE static int use_after_free(size_t n)
{
    unsigned char *p = hak_malloc(n);
    sink = hak_malloc(n);                    /* neighbour: the slab stays */
    memset(p, 7, n);
    hak_free(p);
    volatile unsigned char *v = p;
    return v[n / 2];                         /* BUG: read after free */
}

NOINLINE static int overflow(size_t n)
{
    unsigned char *p = hak_malloc(n);
    sink = hak_malloc(n);                    /* the slot after p is carved and live */
    size_t u = hak_usable_size(p);
    printf("usable %zu of a %zu-byte request\n", u, n);
    volatile unsigned char *v = p;
    v[u] = 0x41;                             /* BUG: first byte past the usable size */
    return 0;
}

NOINLINE static int uninit(size_t n)
{
    /* dirty the slot first, so "fresh" really means reused, as in real programs */
    unsigned char *d = hak_malloc(n);
    sink = hak_malloc(n);
    memset(d, 42, n);
    hak_free(d);
    unsigned char *p = hak_malloc(n);
    volatile unsigned char *v = p;
    int r = 0;
    if (v[3] == 42)                          /* BUG: branch on a never-written byte */
        r = 1;
    printf("branch taken: %d\n", r);
    hak_free(p);
    return r;
}

NOINLINE static void leak_one(size_t n, int first)
{
    if (!first)
        sink = hak_malloc(n);                /* takes slot 0; the leak is slot 1 */
    unsigned char *p = hak_malloc(n);
    memset(p, 1, n);                         /* BUG: the only pointer dies here */
}

/* overwrite the stack area leak_one used, so no stale copy of its pointer
 * keeps the block "reachable" for the leak checkers */
NOINLINE static void scrub_stack(void)
{
    volatile unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = 0;
}

/* the part of c before dash is exactly kind */
static int is_kind(const char *c, const char *dash, const char *kind)
{
    return (size_t)(dash - c) == strlen(kind) && !strncmp(c, kind, strlen(kind));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bugs KIND-TIER | none\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "none")) {
        void *p = hak_malloc(100);
        memset(p, 0, 100);
        hak_free(p);
        return 0;
    }
    const char *dash = strchr(c, '-');
    size_t n = dash ? tier_size(dash + 1) : 0;
    if (!n) {
        fprintf(stderr, "bugs: unknown case %s\n", c);
        return 2;
    }
    if (is_kind(c, dash, "uaf")) use_after_free(n);
    else if (is_kind(c, dash, "overflow")) overflow(n);
    else if (is_kind(c, dash, "uninit")) uninit(n);
    else if (is_kind(c, dash, "leak")) { leak_one(n, 0); scrub_stack(); }
    else if (is_kind(c, dash, "leak0") && n <= HAKMEM_MID_MAX) { leak_one(n, 1); scrub_stack(); }
    else { fprintf(stderr, "bugs: unknown case %s\n", c); return 2; }
    if (strncmp(c, "leak", 4)) hak_free(sink);
    /* reaching here without a tool report means the tool was blind */
    printf("bugs: %s done\n", c);
    return 0;
}
