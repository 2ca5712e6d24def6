/* san.h: the few helpers the sanitizer programs share.
 *
 * These programs call hak_* directly, never the plain malloc names: under
 * ASan the plain names are ASan's own allocator, and hakmem can only be
 * reached through libhakmem-core.a (TOOLCHAIN.md 5).  Under Valgrind the
 * same binaries run unchanged, so the two tools judge the same code.
 * CHECK counts passes and failures; s_done() prints "N passed, M failed". */
#ifndef HAKMEM_SAN_H
#define HAKMEM_SAN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

static int s_passed, s_failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            s_passed++;                                                   \
        } else {                                                          \
            s_failed++;                                                   \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
            fflush(stdout);                                               \
        }                                                                 \
    } while (0)

__attribute__((unused)) static int s_done(void)
{
    printf("%d passed, %d failed\n", s_passed, s_failed);
    fflush(stdout);
    return s_failed > 0;
}

/* xorshift64*, seeded: runs are reproducible */
__attribute__((unused)) static uint64_t s_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A byte pattern that depends on the block address and a salt, so a block
 * overwritten by a neighbour (or handed out twice) is noticed. */
__attribute__((unused)) static void s_fill(unsigned char *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(((uintptr_t)p >> 4) + i * 7u + salt);
}

__attribute__((unused)) static int s_verify(const unsigned char *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(((uintptr_t)p >> 4) + i * 7u + salt))
            return 0;
    return 1;
}
#endif
