/* fuzz_ops: the input is a program of allocator calls on hak_* functions
 * (malloc, calloc, realloc, reallocarray, aligned_alloc, posix_memalign,
 * memalign, free, free_sized, free_aligned_sized, usable_size, trim) with
 * sizes from every tier, boundaries and absurd values.  A shadow model holds
 * what each of 32 slots must contain; every block is filled with its own
 * pattern and checked before it is freed, moved or at the end of the input.
 *
 * Checked on every call: result alignment, usable_size >= size, no overlap
 * with any other live block, calloc memory zero, realloc keeps the prefix,
 * failures say ENOMEM/EINVAL and leave the old block intact, errno is kept on
 * success, the live-block count in hak_get_stats() matches the model, and
 * hak_heap_check() == 0 after every input (which frees everything it made).
 * Sized frees also get sizes and alignments from the input (op 8 with the
 * high bit set, release_sized_random). */
#include "fuzz_common.h"
#include "classify.h"   /* slot sizes: see class_usable */

#define NSLOT 32
#define LIVE_CAP ((size_t)48 << 20)   /* keep ASan's RSS limit far away */

typedef struct slot {
    uint8_t *p;
    size_t req;       /* size passed to the allocation call (free_sized wants it) */
    size_t used;      /* bytes the harness has patterned: req, or usable after op USE */
    size_t usable;
    size_t align;     /* alignment asked for, 0 for plain calls */
    uint32_t seed;
} slot;

static slot S[NSLOT];
static size_t live_bytes;
static uint32_t seed_ctr;

/* Sizes no allocator can serve; each must fail with ENOMEM. */
static const size_t absurd[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4095, SIZE_MAX / 2 + 1,
    (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, (size_t)1 << 47, (size_t)1 << 62,
    SIZE_MAX - HAKMEM_MID_MAX,
};
static const size_t edge[] = {
    0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 64, 127, 128, 129, 255, 256, 257,
    511, 512, 1000, 1008, 1023, 1024, 1025, 1040, 2048, 4095, 4096, 4097, 8192,
    65535, 65536, 131072, 262128, 262143, 262144, 262145, 262160, 266240,
    HAKMEM_MID_MAX - 16, HAKMEM_MID_MAX - 1, HAKMEM_MID_MAX, HAKMEM_MID_MAX + 1,
    HAKMEM_MID_MAX + 16, (2u << 20) - 16, 2u << 20, (2u << 20) + 1,
};

static size_t gen_size(fz_in *in)
{
    uint8_t sel = fz_u8(in);
    switch (sel % 8) {
    case 0: return fz_u8(in) % 17;
    case 1: return 1 + fz_u16(in) % HAKMEM_TINY_MAX;
    case 2: return HAKMEM_TINY_MAX + 1 + fz_u32(in) % (HAKMEM_MID_MAX - HAKMEM_TINY_MAX);
    case 3: return HAKMEM_MID_MAX + 1 + (size_t)fz_u16(in) * 16;
    case 4: return edge[fz_u8(in) % (sizeof edge / sizeof edge[0])];
    case 5: return fz_u8(in);
    case 6: return absurd[fz_u8(in) % (sizeof absurd / sizeof absurd[0])];
    default: return HAKMEM_TINY_MAX + 1 + fz_u16(in) % 8192;
    }
}

static int size_absurd(size_t n) { return n > ((size_t)1 << 40); }

/* Minimum alignment hakmem promises for a plain request (DESIGN.md 3). */
static size_t min_align(size_t n) { return n > 8 ? 16 : 8; }

static void check_live_count(void)
{
    hak_stats st;
    hak_get_stats(&st);
    uint64_t n = 0;
    for (int i = 0; i < NSLOT; i++)
        n += S[i].p != NULL;
    FZ_CHECK(st.live_blocks == n, "stats.live_blocks=%llu, model has %llu",
             (unsigned long long)st.live_blocks, (unsigned long long)n);
}

static void verify_slot(int i, const char *when)
{
    slot *s = &S[i];
    size_t bad = fz_verify(s->p, s->used, s->seed);
    FZ_CHECK(bad == (size_t)-1, "%s: slot %d %p used %zu: byte %zu corrupted (0x%02x, want 0x%02x)",
             when, i, (void *)s->p, s->used, bad, s->p[bad], fz_pat(s->seed, bad));
    size_t u = hak_usable_size(s->p);
    FZ_CHECK(u == s->usable, "%s: slot %d %p usable_size changed %zu -> %zu", when, i,
             (void *)s->p, s->usable, u);
}

/* A fresh block from hakmem: check it, then record and pattern it. */
static void adopt(int i, void *vp, size_t req, size_t align, int zeroed)
{
    uint8_t *p = vp;
    size_t u = hak_usable_size(p);
    FZ_CHECK(u >= req, "usable_size %zu < requested %zu (%p)", u, req, vp);
    FZ_CHECK((uintptr_t)p % min_align(req) == 0, "%p not %zu-aligned for size %zu", vp,
             min_align(req), req);
    if (align)
        FZ_CHECK((uintptr_t)p % align == 0, "%p not aligned to requested %zu", vp, align);
    FZ_CHECK(hak_classify_ptr(p) == HAK_FREE_OK, "new block %p classified %s", vp,
             hak_free_status_name(hak_classify_ptr(p)));
    for (int j = 0; j < NSLOT; j++) {
        if (!S[j].p || j == i)
            continue;
        uintptr_t a = (uintptr_t)p, b = (uintptr_t)S[j].p;
        FZ_CHECK(a + (u ? u : 1) <= b || b + (S[j].usable ? S[j].usable : 1) <= a,
                 "new block %p+%zu overlaps live slot %d %p+%zu", vp, u, j, (void *)S[j].p,
                 S[j].usable);
    }
    if (zeroed) {
        size_t k = fz_nonzero(p, req);
        FZ_CHECK(k == (size_t)-1, "calloc block %p size %zu: byte %zu = 0x%02x", vp, req, k, p[k]);
    }
    S[i] = (slot){ p, req, req, u, align, ++seed_ctr * 0x9e3779b9u };
    fz_fill(p, req, S[i].seed);
    live_bytes += u;
}

static void release(int i, int how)
{
    slot *s = &S[i];
    if (!s->p)
        return;
    verify_slot(i, "before free");
    int e = errno = 4242;
    switch (how) {
    case 1:
        hak_free_sized(s->p, s->req);
        break;
    case 2:
        if (s->align)
            hak_free_aligned_sized(s->p, s->align, s->req);
        else
            hak_free(s->p);
        break;
    case 3: {
        hak_free_status v = hak_free_checked(s->p);
        FZ_CHECK(v == HAK_FREE_OK, "hak_free_checked(live %p) = %s", (void *)s->p,
                 hak_free_status_name(v));
        break;
    }
    default:
        hak_free(s->p);
    }
    FZ_CHECK(errno == e, "free changed errno to %d", errno);
    live_bytes -= s->usable;
    s->p = NULL;
}

static int is_pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

/* usable size of a fresh block of n bytes: one per size class */
/* The usable size of the slot a request of n takes.  Not hak_usable_size:
 * this build has ASan's hooks, under which that is the size asked for. */
static size_t class_usable(size_t n)
{
    return hak_class_usable(hak_size_class(n));
}

/* The bytes from p to the end of its slot (what the sized-free rule is to),
 * from the classifier: under the tools hak_usable_size says what was asked. */
static size_t slot_usable(void *p)
{
    hak_where_t w;
    if (hak_classify(p, &w) != HAK_FREE_OK || w.chunk == NULL) return 0;
    if (w.chunk->kind == HAK_CHUNK_HUGE) return w.chunk->huge_size;
    return hak_class_usable(w.unit->cls) - (size_t)((unsigned char *)p - w.user);
}

/* A sized free with a size (and alignment) from the input (issue 12):
 * the size the block was asked with always frees it; a size larger than the
 * block never does; a rejected one (SIZE_MISMATCH) leaves the block live and
 * intact.  For a plain block of a slab at an address no over-aligned request
 * could give (not 32-aligned), exactly the sizes of its class free it. */
static void release_sized_random(fz_in *in, int i)
{
    slot *s = &S[i];
    if (!s->p)
        return;
    verify_slot(i, "before a sized free");
    uint8_t sel = fz_u8(in);
    size_t m = sel & 1 ? gen_size(in) : s->req + (size_t)(int8_t)fz_u8(in);   /* anything, or a near miss */
    size_t a = 0;
    switch ((sel >> 1) % 4) {
    case 1: a = s->align; break;
    case 2: a = (size_t)1 << (fz_u8(in) % 22); break;
    case 3: a = fz_u8(in); break;   /* mostly not a power of two */
    }
    if (sel & 0x80)
        m = s->req;
    int legit = m == s->req && (a == 0 || a == s->align || (is_pow2(a) && a <= 16 && s->align <= 16));
    size_t cap = slot_usable(s->p);
    hak_free_status v = hak_free_sized_checked(s->p, a, m);
    FZ_CHECK(v == HAK_FREE_OK || v == HAK_FREE_SIZE_MISMATCH, "sized free(%p, %zu, align %zu) = %s", (void *)s->p,
             m, a, hak_free_status_name(v));
    FZ_CHECK(!legit || v == HAK_FREE_OK, "sized free of %p with its own size %zu, align %zu (asked %zu) = %s",
             (void *)s->p, m, a, s->align, hak_free_status_name(v));
    if (v == HAK_FREE_OK) {
        FZ_CHECK(m <= cap, "sized free of %p (usable %zu) accepted size %zu", (void *)s->p, cap, m);
        FZ_CHECK(a == 0 || (uintptr_t)s->p % a == 0, "sized free of %p accepted alignment %zu", (void *)s->p, a);
    }
    if (a == 0 && s->align == 0 && (uintptr_t)s->p % 32 != 0 && m >= 1 && m <= HAKMEM_MID_MAX &&
        cap < HAKMEM_MID_MAX) {
        int fits = class_usable(m) == cap;
        FZ_CHECK((v == HAK_FREE_OK) == fits, "free_sized(%p of usable %zu, %zu): %s, but a block of %zu has usable %zu",
                 (void *)s->p, cap, m, hak_free_status_name(v), m, class_usable(m));
    }
    if (v == HAK_FREE_OK) {
        live_bytes -= s->usable;
        s->p = NULL;
    } else {
        FZ_CHECK(hak_classify_ptr(s->p) == HAK_FREE_OK, "rejected sized free left %p not live", (void *)s->p);
        verify_slot(i, "after a rejected sized free");
    }
}

/* A call that must fail: NULL plus the errno glibc would set. */
static void expect_fail(void *r, int want_errno, const char *what, size_t a, size_t b)
{
    FZ_CHECK(r == NULL, "%s(%zu, %zu) succeeded: %p", what, a, b, r);
    FZ_CHECK(errno == want_errno, "%s(%zu, %zu): errno %d, want %d", what, a, b, errno,
             want_errno);
}

static int fits(size_t n) { return n <= LIVE_CAP && live_bytes + n <= LIVE_CAP; }

static void op_alloc_plain(int i, size_t n)
{
    release(i, 0);
    if (!size_absurd(n) && !fits(n))
        return;
    errno = 4242;
    void *p = hak_malloc(n);
    if (size_absurd(n)) {
        expect_fail(p, ENOMEM, "malloc", n, 0);
        return;
    }
    FZ_CHECK(p != NULL, "malloc(%zu) failed, errno %d", n, errno);
    FZ_CHECK(errno == 4242, "malloc(%zu) changed errno to %d", n, errno);
    adopt(i, p, n, 0, 0);
}

static void op_calloc(int i, size_t cnt, size_t n)
{
    release(i, 0);
    size_t tot;
    int ovf = __builtin_mul_overflow(cnt, n, &tot);
    if (!ovf && !size_absurd(tot) && !fits(tot))
        return;
    errno = 4242;
    void *p = hak_calloc(cnt, n);
    if (ovf || size_absurd(tot)) {
        expect_fail(p, ENOMEM, "calloc", cnt, n);
        return;
    }
    FZ_CHECK(p != NULL, "calloc(%zu, %zu) failed, errno %d", cnt, n, errno);
    FZ_CHECK(errno == 4242, "calloc changed errno to %d", errno);
    adopt(i, p, tot, 0, 1);
}

/* realloc and reallocarray share the checks: n is the total, ovf says the
 * product overflowed (reallocarray only). */
static void op_realloc(int i, size_t cnt, size_t n, int array)
{
    slot *s = &S[i];
    size_t tot;
    int ovf = __builtin_mul_overflow(cnt, n, &tot);
    if (!array)
        tot = n, ovf = 0;
    if (s->p)
        verify_slot(i, "before realloc");
    size_t old_usable = s->p ? s->usable : 0;
    if (!ovf && !size_absurd(tot) && tot > old_usable && !fits(tot - old_usable))
        return;
    errno = 4242;
    void *r = array ? hak_reallocarray(s->p, cnt, n) : hak_realloc(s->p, tot);
    if (ovf || size_absurd(tot)) {
        expect_fail(r, ENOMEM, array ? "reallocarray" : "realloc", cnt, n);
        if (s->p)
            verify_slot(i, "after failed realloc");   /* old block untouched and still live */
        return;
    }
    if (r == NULL) {
        /* Only realloc(p, 0) may return NULL, and then p is gone (glibc). */
        FZ_CHECK(tot == 0 && s->p, "realloc(%p, %zu) failed, errno %d", (void *)s->p, tot, errno);
        FZ_CHECK(hak_usable_size(s->p) == 0, "realloc(%p, 0) returned NULL but kept the block",
                 (void *)s->p);
        live_bytes -= s->usable;
        s->p = NULL;
        return;
    }
    FZ_CHECK(errno == 4242, "realloc changed errno to %d", errno);
    if (s->p) {
        size_t bad = fz_verify_prefix(r, s->used, s->seed, tot);
        FZ_CHECK(bad == (size_t)-1, "realloc %p(%zu) -> %p(%zu): byte %zu not preserved",
                 (void *)s->p, s->used, r, tot, bad);
        if (r != s->p)
            FZ_CHECK(hak_classify_ptr(s->p) != HAK_FREE_OK || hak_usable_size(s->p) == 0,
                     "realloc moved %p -> %p but the old block is still live", (void *)s->p, r);
        live_bytes -= s->usable;
        s->p = NULL;
    }
    adopt(i, r, tot, 0, 0);
}

static size_t gen_align(fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (b >= 0xF0)   /* not a power of two, or zero */
        return (size_t)(b & 0xF) * 24;
    if (b >= 0xE8)
        return (size_t)1 << (40 + (b & 7));   /* absurd alignment */
    return (size_t)1 << (b % 22);             /* 1 .. 2 MiB */
}

static void op_aligned(int i, int kind, size_t al, size_t n)
{
    release(i, 0);
    /* Builds with -DFUZZ_SKIP_KNOWN steer around open bugs here (each one
     * has an input in fuzz/regressions/); none is open now. */
    if (kind == 2 && !fz_is_pow2(al)) {
        /* memalign rounds a bad alignment up to a power of two (glibc) */
        size_t up = 1;
        while (up < al)
            up <<= 1;
        al = up;
    }
    int bad_al = !fz_is_pow2(al);
    if (kind == 1)   /* posix_memalign also wants a multiple of sizeof(void *) */
        bad_al |= al % sizeof(void *) != 0;
    int nomem = size_absurd(n);
    /* An alignment of 2^40 or more may still be served (address space is
     * only reserved); if it fails it must say ENOMEM. */
    int maybe = !bad_al && !nomem && al >= ((size_t)1 << 40);
    if (!bad_al && !nomem && !maybe && !fits(n + al))
        return;
    errno = 4242;
    void *p = NULL;
    if (kind == 1) {
        void *out = (void *)0x5a5a;
        int rc = hak_posix_memalign(&out, al, n);
        FZ_CHECK(errno == 4242, "posix_memalign(%zu, %zu) changed errno to %d", al, n, errno);
        if (bad_al || nomem) {
            FZ_CHECK(rc == (bad_al ? EINVAL : ENOMEM), "posix_memalign(%zu, %zu) = %d", al, n, rc);
            FZ_CHECK(out == (void *)0x5a5a, "posix_memalign failure wrote *out");
            return;
        }
        if (maybe && rc == ENOMEM)
            return;
        FZ_CHECK(rc == 0 && out, "posix_memalign(%zu, %zu) = %d", al, n, rc);
        p = out;
    } else {
        size_t asked = al;
        p = kind == 0 ? hak_aligned_alloc(asked, n) : hak_memalign(asked, n);
        if (bad_al) {
            expect_fail(p, EINVAL, "aligned_alloc", al, n);
            return;
        }
        if (nomem || (maybe && !p)) {
            expect_fail(p, ENOMEM, kind ? "memalign" : "aligned_alloc", al, n);
            return;
        }
        FZ_CHECK(p, "aligned alloc(%zu, %zu) failed, errno %d", al, n, errno);
        FZ_CHECK(errno == 4242, "aligned alloc changed errno to %d", errno);
    }
    adopt(i, p, n, al, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = { data, size, 0 };
    int steps = 0;
    while (fz_more(&in) && steps++ < 200) {
        uint8_t op = fz_u8(&in);
        int i = fz_u8(&in) % NSLOT;
        switch (op % 12) {
        case 0: op_alloc_plain(i, gen_size(&in)); break;
        case 1: {
            size_t cnt = fz_u8(&in) < 0xF0 ? fz_u8(&in) % 65 : absurd[fz_u8(&in) % 10];
            op_calloc(i, cnt, gen_size(&in));
            break;
        }
        case 2: op_realloc(i, 1, gen_size(&in), 0); break;
        case 3: {
            size_t cnt = fz_u8(&in) < 0xF0 ? fz_u8(&in) % 65 : absurd[fz_u8(&in) % 10];
            op_realloc(i, cnt, gen_size(&in), 1);
            break;
        }
        case 4: case 5: case 6: {
            size_t al = gen_align(&in);
            op_aligned(i, op % 12 - 4, al, gen_size(&in));
            break;
        }
        case 7: release(i, 0); break;
        case 8:
            if (op & 0x80)
                release_sized_random(&in, i);
            else
                release(i, 1);
            break;
        case 9: release(i, 2); break;
        case 10:
            /* Use the whole usable size, as programs that ask for it may. */
            if (S[i].p) {
                verify_slot(i, "before use");
                S[i].used = S[i].usable;
                fz_fill(S[i].p, S[i].used, S[i].seed);
            }
            break;
        default:
            if (op & 0x80)
                hak_trim();
            FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed mid-program");
            release(i, 3);
        }
        check_live_count();
    }
    for (int i = 0; i < NSLOT; i++)
        release(i, 3);
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed after freeing everything");
    check_live_count();
    FZ_CHECK(live_bytes == 0, "model leaked %zu bytes", live_bytes);
    return 0;
}
