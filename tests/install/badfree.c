/* badfree.c: a plain program (nothing of hakmem linked) that frees a block
 * twice, or frees a stack address, to check hakmem-run's policy options, or
 * writes one byte past its 32-byte block, for hakmem-run --valgrind.
 * Built -O0 so the compiler keeps the bad accesses as written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "double";
    char *volatile p = malloc(32);
    if (!p) return 2;
    if (strcmp(what, "double") == 0) {
        free(p);
        free(p);                       /* hakmem: verdict double-free */
    } else if (strcmp(what, "overflow") == 0) {
        p[32] = 1;                     /* Memcheck: 0 bytes after a block of size 32 */
        free(p);
    } else {
        int on_stack = 1;
        int *volatile q = &on_stack;
        free(q);                       /* hakmem: verdict foreign */
        free(p);
    }
    printf("survived %s\n", what);
    fflush(stdout);
    return 0;
}
