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
 *    compares every unit's recip with hak_grid_recip(stride). */
#include "testlib.h"
#include "classify.h"

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
    return t_done();
}
