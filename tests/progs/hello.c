/* hello.c: compiled by gcc under LD_PRELOAD=libhakmem.so and run under it.
 * Sorts 100000 pseudo-random numbers held in malloc'd nodes and prints facts
 * that tests/realprogs.sh knows in advance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { unsigned v; char *s; };

static int cmp(const void *a, const void *b)
{
    unsigned x = (*(struct node *const *)a)->v, y = (*(struct node *const *)b)->v;
    return x < y ? -1 : x > y;
}

int main(void)
{
    enum { N = 100000 };
    struct node **v = malloc(N * sizeof *v);
    unsigned long long sum = 0;
    for (unsigned i = 0; i < N; i++) {
        v[i] = malloc(sizeof **v);
        v[i]->v = (i * 2654435761u) % 1000003u;
        v[i]->s = malloc(1 + i % 200);
        memset(v[i]->s, 'a', i % 200);
        v[i]->s[i % 200] = 0;
        sum += i;
    }
    qsort(v, N, sizeof *v, cmp);
    int sorted = 1;
    unsigned long long len = 0;
    for (unsigned i = 1; i < N; i++)
        if (v[i - 1]->v > v[i]->v)
            sorted = 0;
    for (unsigned i = 0; i < N; i++) {
        len += strlen(v[i]->s);
        free(v[i]->s);
        free(v[i]);
    }
    free(v);
    printf("sum %llu sorted %d len %llu\n", sum, sorted, len);
    return 0;
}
