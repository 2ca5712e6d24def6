/* roots.c: a leak checker must follow pointers through hakmem's blocks.
 *
 * A program built with ASan keeps the system (ASan) malloc and uses hakmem
 * beside it; Memcheck runs see both heaps as well.  Blocks of one heap that
 * are referenced only from blocks of the other are NOT leaks, and a leak
 * checker that does not scan hakmem's memory reports them falsely.  Here the
 * only pointers to three system-malloc blocks live inside a tiny, a mid and
 * a huge hakmem block (themselves referenced from a global), and the only
 * pointer to a hakmem block lives inside a system-malloc block.  The leak
 * check (LSan's recoverable check under ASan, Memcheck's client-request
 * check under Valgrind) must find nothing definitely lost. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAN_ASAN 1
#endif
#endif

#ifdef SAN_ASAN
#include <sanitizer/lsan_interface.h>
#else
#include <valgrind/memcheck.h>
#endif

static void **holders[3];        /* the roots: hakmem blocks */
static void **sys_holder;        /* a root: a system-malloc block */

__attribute__((noinline)) static void setup(void)
{
    static const size_t hsz[3] = { 24, 5000, HAKMEM_MID_MAX + 4096 };
    for (int i = 0; i < 3; i++) {
        holders[i] = hak_malloc(hsz[i]);
        memset(holders[i], 0, hsz[i]);
        void *sys = malloc(100 + (size_t)i);
        memset(sys, 1, 100 + (size_t)i);
        holders[i][1] = sys;     /* the only pointer to sys */
    }
    sys_holder = malloc(64);
    memset(sys_holder, 0, 64);
    sys_holder[2] = hak_malloc(40);   /* the only pointer to this hakmem block */
    memset(sys_holder[2], 2, 40);
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = 0;
}

int main(void)
{
    setup();
    scrub_stack();
    int bad;
#ifdef SAN_ASAN
    /* prints LSan's report and returns 1 when it finds leaks */
    bad = __lsan_do_recoverable_leak_check();
    printf("LSan: %s\n", bad ? "leaks reported (false positives)" : "no leaks");
#else
    unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;   /* suppressed: required by the macro */
    VALGRIND_DO_LEAK_CHECK;
    VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
    bad = leaked != 0 || dubious != 0;
    printf("Memcheck: %lu bytes definitely lost, %lu possibly, %lu reachable, %lu suppressed\n", leaked, dubious,
           reachable, suppressed);
#endif
    for (int i = 0; i < 3; i++) {
        free(holders[i][1]);
        hak_free(holders[i]);
    }
    hak_free(sys_holder[2]);
    free(sys_holder);
    printf("%d passed, %d failed\n", !bad, bad);
    return bad;
}
