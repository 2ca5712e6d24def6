/* prog.c: built against an installed hakmem (pkg-config) by tests/install/run.sh.
 * Prints what the test checks: the version it was compiled with and the one it
 * runs with, and the verdicts of hakmem's checked free on pointers of known
 * kinds.  Plain malloc must be hakmem's: its blocks classify as ours. */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S2(x) #x
#define S(x) S2(x)

static int global_var;

int main(void)
{
    int stack_var = 0;
    printf("header %s\n", S(HAKMEM_VERSION_MAJOR) "." S(HAKMEM_VERSION_MINOR) "." S(HAKMEM_VERSION_PATCH));
    printf("version %s\n", hak_version());

    char *p = malloc(100);              /* the plain name: hakmem when linked */
    if (!p) return 2;
    memset(p, 0x5a, 100);
    printf("malloc-classify %s\n", hak_free_status_name(hak_classify_ptr(p)));
    printf("usable %s\n", hak_usable_size(p) >= 100 ? "ok" : "bad");
    printf("interior %s\n", hak_free_status_name(hak_free_checked(p + 1)));
    printf("stack %s\n", hak_free_status_name(hak_free_checked(&stack_var)));
    printf("global %s\n", hak_free_status_name(hak_free_checked(&global_var)));
    printf("first %s\n", hak_free_status_name(hak_free_checked(p)));
    printf("second %s\n", hak_free_status_name(hak_free_checked(p)));

    void *big = hak_malloc(1 << 20);    /* Huge tier */
    printf("huge %s\n", hak_free_status_name(hak_free_checked(big)));

    hak_stats st;
    hak_get_stats(&st);
    printf("rejected invalid=%llu foreign=%llu double=%llu\n",
           (unsigned long long)st.rejected[HAK_FREE_INVALID],
           (unsigned long long)st.rejected[HAK_FREE_FOREIGN],
           (unsigned long long)st.rejected[HAK_FREE_DOUBLE]);
    printf("heap-check %d\n", hak_heap_check());
    return 0;
}
