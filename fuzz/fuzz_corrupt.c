/* fuzz_corrupt: overwrite the in-band metadata of live blocks with input bytes
 * and free them with hak_free_checked.
 *
 * Corrupted bytes: the tag byte p[-1] of a Tiny block, 1..4 of the 16 header
 * bytes p[-16..-1] of a Mid block, 1..4 of the 16 bytes in front of a Huge
 * block.  Expected:
 *   - bytes unchanged (the input wrote the original values): OK;
 *   - otherwise INVALID, or DOUBLE for Tiny/Mid (the forged bytes may spell
 *     "free"), or OK "without harm": the block really is freed, the other
 *     blocks keep their contents, hak_heap_check() stays 0, and blocks
 *     allocated afterwards overlap nothing live.
 * hak_classify_ptr must agree with hak_free_checked and hak_usable_size must
 * say 0 or the true usable size (never a size read from forged bytes).
 *
 * A rejected block is still live for hakmem, so the harness writes the
 * original bytes back and frees it later like any other block (it is not
 * leaked: the live-block count must drop to 0 at the end of every input). */
#include "fuzz_common.h"

#define MAXB 24

/* hakmem keeps its in-band bytes poisoned in -DHAK_ASAN builds (a write past
 * a block's end is then reported), so the harness plays the overflowing
 * program through accessors ASan does not instrument. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_NO_ASAN __attribute__((noinline, no_sanitize("address")))
#endif
#endif
#ifndef FZ_NO_ASAN
#define FZ_NO_ASAN __attribute__((noinline))
#endif

FZ_NO_ASAN static void raw_read(uint8_t *dst, const uint8_t *src, int n)
{
    for (int k = 0; k < n; k++)
        dst[k] = ((const volatile uint8_t *)src)[k];
}

FZ_NO_ASAN static void raw_write(uint8_t *dst, const uint8_t *src, int n)
{
    for (int k = 0; k < n; k++)
        ((volatile uint8_t *)dst)[k] = src[k];
}

enum { TIER_TINY, TIER_MID, TIER_HUGE };

typedef struct blk {
    uint8_t *p;
    size_t size, usable;
    int tier, live;
    uint32_t seed;
} blk;

static blk B[MAXB];
static int nb;
static uint32_t seed_ctr;

static void verify_all(int skip, const char *when)
{
    for (int i = 0; i < nb; i++) {
        if (!B[i].live || i == skip)
            continue;
        size_t bad = fz_verify(B[i].p, B[i].size, B[i].seed);
        FZ_CHECK(bad == (size_t)-1, "%s: block %d %p (%zu B) corrupted at byte %zu", when, i,
                 (void *)B[i].p, B[i].size, bad);
    }
}

static int alloc_blk(int tier, size_t n)
{
    if (nb == MAXB)
        return -1;
    uint8_t *p = hak_malloc(n);
    FZ_CHECK(p, "hak_malloc(%zu) failed", n);
    size_t u = hak_usable_size(p);
    FZ_CHECK(u >= n, "usable %zu < %zu", u, n);
    for (int i = 0; i < nb; i++) {
        if (!B[i].live)
            continue;
        uintptr_t a = (uintptr_t)p, s = (uintptr_t)B[i].p;
        FZ_CHECK(a + u <= s || s + B[i].usable <= a,
                 "new block %p+%zu overlaps live %p+%zu (after a corrupted free?)", (void *)p, u,
                 (void *)B[i].p, B[i].usable);
    }
    B[nb] = (blk){ p, n, u, tier, 1, ++seed_ctr * 0xcc9e2d51u };
    fz_fill(p, n, B[nb].seed);
    return nb++;
}

static size_t gen_size(fz_in *in, int tier)
{
    switch (tier) {
    case TIER_TINY: return fz_u16(in) % (HAKMEM_TINY_MAX + 1);
    case TIER_MID: return HAKMEM_TINY_MAX + 1 + fz_u32(in) % (HAKMEM_MID_MAX - HAKMEM_TINY_MAX);
    default: return HAKMEM_MID_MAX + 1 + (size_t)fz_u16(in) * 8;
    }
}

static void free_ok(int i)
{
    hak_free_status v = hak_free_checked(B[i].p);
    FZ_CHECK(v == HAK_FREE_OK, "free of intact live block %p = %s", (void *)B[i].p,
             hak_free_status_name(v));
    B[i].live = 0;
}

static void corrupt_and_free(fz_in *in, int i)
{
    blk *b = &B[i];
    /* Which bytes: tag for Tiny; a run of 1..4 inside the 16 bytes in front otherwise. */
    int first, len;
    if (b->tier == TIER_TINY) {
        first = 15, len = 1;
    } else {
        first = fz_u8(in) % 16;
        len = 1 + fz_u8(in) % 4;
        if (first + len > 16)
            len = 16 - first;
    }
    /* Touch only the chosen bytes: the rest of p-16..p-1 may be a neighbour's. */
    uint8_t *at = b->p - 16 + first;
    uint8_t orig[4], val[4];
    raw_read(orig, at, len);
    int changed = 0;
    for (int k = 0; k < len; k++) {
        uint8_t x = fz_u8(in);
        if (x == 0xA5 && fz_more(in))   /* escape: flip one bit so near-misses get tried */
            x = orig[k] ^ (uint8_t)(1u << (fz_u8(in) % 8));
        val[k] = x;
        changed |= x != orig[k];
    }
    raw_write(at, val, len);

    size_t u = hak_usable_size(b->p);
    FZ_CHECK(u == 0 || u == b->usable, "usable_size of corrupted %p = %zu (true %zu)",
             (void *)b->p, u, b->usable);
    hak_free_status c = hak_classify_ptr(b->p);
    hak_free_status v = hak_free_checked(b->p);
    FZ_CHECK(c == v, "classify %s vs free_checked %s on corrupted %p", hak_free_status_name(c),
             hak_free_status_name(v), (void *)b->p);
    if (!changed) {
        FZ_CHECK(v == HAK_FREE_OK, "unchanged header, free = %s", hak_free_status_name(v));
    } else {
        unsigned ok = 1u << HAK_FREE_INVALID | 1u << HAK_FREE_OK;
        if (b->tier != TIER_HUGE)
            ok |= 1u << HAK_FREE_DOUBLE;
        FZ_CHECK(ok & (1u << v), "corrupted %s block %p bytes [%d..%d) -> verdict %s",
                 b->tier == TIER_TINY ? "tiny" : b->tier == TIER_MID ? "mid" : "huge",
                 (void *)b->p, first - 16, first - 16 + len, hak_free_status_name(v));
    }
    /* The write must not have touched anyone else's bytes either. */
    verify_all(i, "after corrupting a header");
    FZ_CHECK(hak_heap_check() == 0, "heap check failed after a corrupted free (%s)",
             hak_free_status_name(v));
    if (v == HAK_FREE_OK) {
        b->live = 0;
        if (changed) {
            /* Accepted despite forged bytes: prove no harm.  New blocks of the
             * same tier and size must not land on anything live. */
            int j1 = alloc_blk(b->tier, b->size);
            int j2 = alloc_blk(b->tier, b->size ? b->size - 1 : 0);
            if (j1 >= 0)
                free_ok(j1);
            if (j2 >= 0)
                free_ok(j2);
        }
        return;
    }
    /* Still live for hakmem: put the bytes back; it must free normally now. */
    raw_write(at, orig, len);
    FZ_CHECK(hak_classify_ptr(b->p) == HAK_FREE_OK, "restored header of %p not accepted (%s)",
             (void *)b->p, hak_free_status_name(hak_classify_ptr(b->p)));
    FZ_CHECK(hak_usable_size(b->p) == b->usable, "restored %p usable_size changed", (void *)b->p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = { data, size, 0 };
    nb = 0;
    /* Some neighbours in every tier first, so a corrupted block is never alone. */
    alloc_blk(TIER_TINY, 24);
    alloc_blk(TIER_TINY, 24);
    alloc_blk(TIER_MID, 5000);
    int steps = 0;
    while (fz_more(&in) && steps++ < 128) {
        uint8_t op = fz_u8(&in);
        switch (op % 4) {
        case 0: case 1: {
            int tier = fz_u8(&in) % 3;
            alloc_blk(tier, gen_size(&in, tier));
            break;
        }
        case 2: {
            int i = fz_u8(&in) % nb;
            if (B[i].live)
                corrupt_and_free(&in, i);
            break;
        }
        default: {
            int i = fz_u8(&in) % nb;
            if (B[i].live) {
                size_t bad = fz_verify(B[i].p, B[i].size, B[i].seed);
                FZ_CHECK(bad == (size_t)-1, "block %p corrupted at %zu", (void *)B[i].p, bad);
                free_ok(i);
            }
        }
        }
    }
    verify_all(-1, "end of input");
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed at the end of the input");
    for (int i = 0; i < nb; i++)
        if (B[i].live)
            free_ok(i);
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed after freeing everything");
    hak_stats st;
    hak_get_stats(&st);
    FZ_CHECK(st.live_blocks == 0, "%llu blocks still live", (unsigned long long)st.live_blocks);
    return 0;
}
