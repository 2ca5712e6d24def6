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
 * leaked: the live-block count must drop to 0 at the end of every input).
 *
 * Overflows (op 4, issue 12): 1..16 input bytes written just past a Tiny or
 * Mid block's usable size, over the next slot's tag or the next block's
 * header (or the end mark after the last carved one), then the block is
 * freed.  The free must be fatal ("heap overflow into the next block")
 * when the bytes cannot be a tag or header of the slab: a Tiny byte more
 * than 2 away (mod 256) from the one that was there (the valid ones are
 * three consecutive values), a Mid magic or class byte changed, or a check
 * word changed in more than its two low bits.  It must free the block when
 * nothing changed.  The abort is caught (SIGABRT handler, siglongjmp): the
 * check runs before the free touches anything, so the block is still live
 * and the heap intact afterwards, which is checked too. */
#include <setjmp.h>
#include <signal.h>

#include "fuzz_common.h"
#include "classify.h"   /* slot sizes: see slot_end */

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
    /* from 1: a malloc(0) pointer has no bytes to corrupt (and faults) */
    case TIER_TINY: return 1 + fz_u16(in) % HAKMEM_TINY_MAX;
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

/* ---- overflows: a fatal free, caught */
static sigjmp_buf abort_env;
static void on_abort(int sig) { (void)sig; siglongjmp(abort_env, 1); }

/* hak_free_checked(p) with SIGABRT caught and fd 2 captured (up to 255
 * bytes into msg): 1 when it aborted. */
static int free_catching_abort(uint8_t *p, hak_free_status *v, char *msg)
{
    static int pfd[2] = { -1, -1 };
    if (pfd[0] < 0) {
        FZ_CHECK(pipe(pfd) == 0, "pipe");
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_abort;
    sigaction(SIGABRT, &sa, &old);
    int saved = dup(2);
    dup2(pfd[1], 2);
    volatile int aborted = 0;
    if (sigsetjmp(abort_env, 1) == 0)
        *v = hak_free_checked(p);
    else
        aborted = 1;
    dup2(saved, 2);
    close(saved);
    sigaction(SIGABRT, &old, NULL);
    ssize_t n = read(pfd[0], msg, 255);
    msg[n > 0 ? n : 0] = 0;
    while (read(pfd[0], (char[256]){ 0 }, 256) > 0)
        ;
    return aborted;
}

/* The end of p's slot, where the next slot's tag or header starts: from the
 * classifier, since under the tools (this build has ASan's hooks)
 * hak_usable_size is the size asked for, short of the slot. */
static uint8_t *slot_end(uint8_t *p)
{
    hak_where_t w;
    if (hak_classify(p, &w) != HAK_FREE_OK || w.unit == NULL) return p;
    return w.user + hak_class_usable(w.unit->cls);
}

/* Is the Tiny slot after p FREE?  Outside the tools the owner's free then
 * also decodes that slot's link (guard.h), so the 8 bytes past the tag
 * count; under them (HAK_ASAN) the free takes the hooked path, which reads
 * only the tag. */
static int next_free_link_checked(uint8_t *p, uint8_t tag)
{
#if HAK_ASAN
    (void)p, (void)tag;
    return 0;
#else
    hak_where_t w;
    if (hak_classify(p, &w) != HAK_FREE_OK || w.unit == NULL) return 0;
    return hak_tag_state(tag, w.unit->cookie) == HAK_ST_FREE;
#endif
}

static void overflow_and_free(fz_in *in, int i)
{
    blk *b = &B[i];
    if (b->tier == TIER_HUGE)   /* nothing of ours follows a Huge block: its mapping ends */
        return;
    int len = 1 + fz_u8(in) % 16;
    uint8_t *at = slot_end(b->p);     /* the next slot's tag / the next block's header */
    uint8_t orig[16], val[16];
    raw_read(orig, at, len);
    for (int k = 0; k < len; k++) {
        uint8_t x = fz_u8(in);
        if (x == 0xA5 && fz_more(in))   /* escape: near misses */
            x = orig[k] ^ (uint8_t)(1u << (fz_u8(in) % 8));
        val[k] = x;
    }
    int sure_bad = 0, same = memcmp(orig, val, (size_t)len) == 0;
    if (b->tier == TIER_TINY) {
        uint8_t d = (uint8_t)(val[0] - orig[0]);
        sure_bad = d >= 4 && d <= 252;   /* states 0..3 (END, FREE, ALLOC, REMOTE) are valid there */
        same = val[0] == orig[0];   /* bytes past the tag are the next slot's data... */
        if (next_free_link_checked(b->p, orig[0]))   /* ...or a FREE slot's link */
            same = memcmp(orig, val, (size_t)(len < 9 ? len : 9)) == 0;
    } else {
        uint64_t delta = 0;
        for (int k = 0; k < len; k++) {
            if (k < 8)
                sure_bad |= val[k] != orig[k];      /* magic, class */
            else
                delta |= (uint64_t)(val[k] ^ orig[k]) << (8 * (k - 8));
        }
        sure_bad |= delta >= 4;   /* check ^ key must stay a state 0..2 */
    }
    raw_write(at, val, len);
    hak_free_status v = HAK_FREE_NSTATUS;
    char msg[256];
    int aborted = free_catching_abort(b->p, &v, msg);
    raw_write(at, orig, len);   /* the next slot's bytes back, freed or not */
    FZ_CHECK(!sure_bad || aborted, "overflow of %d bytes past %s %p (first 0x%02x -> 0x%02x) not caught (%s)",
             len, b->tier == TIER_TINY ? "tiny" : "mid", (void *)b->p, orig[0], val[0],
             hak_free_status_name(v));
    FZ_CHECK(!same || !aborted, "free of %p aborted with the bytes after it unchanged: %s", (void *)b->p, msg);
    if (aborted) {
        FZ_CHECK(strstr(msg, "heap overflow into the next block") != NULL, "overflow abort said: %s", msg);
        FZ_CHECK(hak_classify_ptr(b->p) == HAK_FREE_OK, "%p not live after a caught overflow", (void *)b->p);
    } else {
        FZ_CHECK(v == HAK_FREE_OK, "free of %p after a harmless overflow = %s", (void *)b->p,
                 hak_free_status_name(v));
        b->live = 0;
    }
    verify_all(-1, "after an overflow");
    FZ_CHECK(hak_heap_check() == 0, "heap check failed after an overflow");
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
        switch (op % 5) {
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
        case 4: {
            int i = fz_u8(&in) % nb;
            if (B[i].live)
                overflow_and_free(&in, i);
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
