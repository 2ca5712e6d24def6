/* grid.c: the reciprocal grid test (classify.h: hak_on_grid), white box.
 *
 * WP proves hak_on_grid for recip == hak_recip(stride) (ceil(2^32/stride))
 * and proves that hak_grid_recip computes it; cmap_lookup's contract assumes
 * that slab.c fills every unit that way.  Checked here by running them:
 *  - for every class stride and the unused units' HAK_ALIGN, with the
 *    recip slab.c stores, hak_on_grid agrees with (off - first) % stride == 0
 *    on every chunk offset (first = 16, end = HAK_CHUNK);
 *  - hak_grid_recip(s) == ceil(2^32 / s) for every 32-bit stride s it may
 *    meet (all s <= HAK_CHUNK);
 *  - after allocating from every class, hak_heap_check() == 0: slab_check_all
 *    compares every unit's recip with hak_grid_recip(stride);
 *  - the pop's link test (freelist.h: hak_fl_in_grid) agrees with "NULL or a
 *    slot start + q * stride, q < cap" for every class's slab of one span,
 *    on every 8-aligned address from a stride below the slab to a stride
 *    past it, and a link forged (with the key read back from a freed block)
 *    to land inside the slab but off its grid is fatal at the first pop. */
#include "testlib.h"
#include "classify.h"
#include "freelist.h"
#include <signal.h>

static void one_stride(uint32_t s)
{
    uint64_t recip = hak_grid_recip(s);
    CHECK_LOOP_BEGIN();
    for (uintptr_t off = 0; off < HAK_CHUNK; off++) {
        int want = off >= HAK_FIRST && (off - HAK_FIRST) % s == 0;
        CHECK_LOOP(hak_on_grid(off, HAK_FIRST, HAK_CHUNK, s, recip) == want, "stride %u off %lu", s,
                   (unsigned long)off);
    }
    CHECK_LOOP_END("grid of one stride");
}

static void one_pop_grid(uint32_t s)
{
    uint32_t cap = (HAK_SLAB - HAK_FIRST) / s;
    uintptr_t start = (uintptr_t)0x7f0000000000u + HAK_FIRST;
    uint32_t recip = (uint32_t)hak_grid_recip(s);
    CHECK_LOOP_BEGIN();
    for (uintptr_t a = start - s; a < start + (uintptr_t)cap * s + s; a += 8) {
        int want = a >= start && a < start + (uintptr_t)cap * s && (a - start) % s == 0;
        CHECK_LOOP(hak_fl_in_grid((const hak_free_t *)a, start, s, recip, cap) == want, "stride %u addr %#lx", s,
                   (unsigned long)a);
    }
    CHECK_LOOP(hak_fl_in_grid(NULL, start, s, recip, cap) == 1, "stride %u: NULL", s);
    CHECK_LOOP_END("pop link test of one stride");
}

/* b, a's neighbour, was freed after a: b's first word is a ^ key ^ b, which
 * gives the key; b's link is then forged to point 16 bytes into a (inside
 * the slab, off the grid of a 48-byte stride).  The pop of b must refuse to
 * follow it: the malloc that would return b aborts.  Exit 0: it returned b.
 * Through volatile pointers: the compiler may not reason about these calls. */
static int forge_offgrid(void *arg)
{
    (void)arg;
    void *(*volatile m)(size_t) = malloc;
    void (*volatile f)(void *) = free;
    unsigned char *a = m(40), *b = m(40);
    for (int i = 0; i < 4096 && (uintptr_t)b != (uintptr_t)a + 48; i++) {
        a = b;
        b = m(40);
    }
    if ((uintptr_t)b != (uintptr_t)a + 48) return 3;
    f(a);
    f(b);
    volatile uint64_t *w = (volatile uint64_t *)(void *)b;
    uint64_t key = *w ^ (uintptr_t)a ^ (uintptr_t)b;
    *w = ((uintptr_t)a + 16) ^ key ^ (uintptr_t)b;
    return (uintptr_t)m(40) == (uintptr_t)b ? 0 : 4;
}

int main(void)
{
    t_section("hak_grid_recip == ceil(2^32 / s)");
    CHECK_LOOP_BEGIN();
    for (uint64_t s = 1; s <= HAK_CHUNK; s++) {
        uint64_t m = hak_grid_recip((uint32_t)s);
        CHECK_LOOP(m * s >= (1ull << 32) && (m - 1) * s < (1ull << 32), "s %lu m %lu", (unsigned long)s,
                   (unsigned long)m);
    }
    CHECK_LOOP_END("every stride up to a chunk");

    t_section("hak_on_grid == (off - first) % stride == 0, every offset");
    one_stride(HAK_ALIGN);
    for (unsigned c = 0; c < HAK_NCLASS; c++) one_stride(hak_class_stride[c]);

    t_section("units filled by slab.c");
    void *p[HAK_NCLASS];
    for (unsigned c = 0; c < HAK_NCLASS; c++) p[c] = malloc(hak_class_usable(c));
    CHECK(hak_heap_check() == 0, "slab_check_all");
    for (unsigned c = 0; c < HAK_NCLASS; c++) free(p[c]);

    t_section("the pop follows a link only to a slot of its slab (hak_fl_in_grid)");
    for (unsigned c = 0; c < HAK_NCLASS; c++) one_pop_grid(hak_class_stride[c]);
    t_child ch;
    t_run_fn(forge_offgrid, NULL, 20, &ch);
    CHECK(ch.signaled && ch.sig == SIGABRT && strstr(ch.err, "corrupted free list"),
          "a link forged into the slab off its grid: %s", t_how(&ch));
    return t_done();
}
