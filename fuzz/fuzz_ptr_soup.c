/* fuzz_ptr_soup: throw every kind of pointer at the free dispatch.
 *
 * The input is a small program.  It allocates and frees Tiny, Mid and Huge
 * blocks (the harness tracks each one: live, freed, or freed and later
 * overlapped by a new block), and it probes pointers: a base from a pool
 * (hakmem blocks, the stack, globals, a const array, glibc's heap through
 * __libc_malloc, the system/ASan heap, mmap pages with a PROT_NONE page in
 * front, a page with a hole in front, low, high and non-canonical addresses,
 * the input buffer, code, TLS) plus an offset (0, +-1, +-8, +-16, page
 * boundaries, the block end, random).  Each probe calls hak_usable_size,
 * hak_malloc_object_size_fast (the bytes from p to the end of the live block
 * holding it, 0 outside every live block: strict), hak_classify_ptr and
 * hak_free_checked and checks them against the verdict
 * the harness derives from what it knows (see expect()):
 *   - OK exactly when the pointer is the start of a live block (always strict);
 *   - INVALID for any other byte of a live block and its tag/header;
 *   - DOUBLE for the start of a freed Tiny/Mid block while its slab cannot
 *     have changed (a block in the same 64 KiB unit stayed live since), and
 *     for the start of a Huge block freed in this input (hakmem's ring);
 *   - INVALID or DOUBLE anywhere else in a chunk that held Tiny/Mid blocks;
 *   - for memory known not to be hakmem's (the pool's foreign entries, wild
 *     addresses, any address whose page is unmapped): FOREIGN when the pages
 *     holding p-16 .. p-1 are mapped, else UNMAPPED, as the harness's own
 *     mincore() says;
 *   - otherwise anything but OK, with UNMAPPED only if p-16 .. p-1 is not
 *     all mapped.
 * Also: classify == free_checked, usable_size is 0 unless OK, the rejected
 * counters move by exactly one per rejected free and not on classify.
 * After every input: live blocks intact, hak_heap_check() == 0, everything
 * freed (each must say OK), and the live-block count back to zero. */
#include "fuzz_common.h"

#include <malloc.h>

#include "layout.h"   /* HAK_CHUNK, HAK_SLAB: the documented address-space layout */

extern void *__libc_malloc(size_t);   /* glibc's own heap, past any interposer */

#define MAXREC 24
#define ALL_BUT_OK (((1u << HAK_FREE_NSTATUS) - 1) & ~(1u << HAK_FREE_OK))
#define BIT(s) (1u << (s))

enum { TIER_TINY, TIER_MID, TIER_HUGE };
enum { LIVE, FREED };

typedef struct rec {
    uint8_t *p;
    size_t size, usable;
    int tier, state;
    int superseded;      /* a later block starts at p: this record says nothing more */
    uint32_t pins;       /* records live in the same slab unit ever since this one was freed */
    uint32_t seed;
} rec;

static rec R[MAXREC];
static int nrec;

/* Slab chunks are never unmapped and never change kind (chunk_map.h), so any
 * address in a chunk that once held a Tiny/Mid block is ours for good. */
#define MAXCHUNK 64
static uintptr_t slab_chunks[MAXCHUNK];
static int nchunks;

static uintptr_t chunk_of(uintptr_t a) { return a - a % HAK_CHUNK; }
static uintptr_t unit_of(uintptr_t a) { return a / HAK_SLAB; }

static void note_slab_chunk(uintptr_t a)
{
    uintptr_t c = chunk_of(a);
    for (int i = 0; i < nchunks; i++)
        if (slab_chunks[i] == c)
            return;
    if (nchunks < MAXCHUNK)
        slab_chunks[nchunks++] = c;
}

static int in_slab_chunk(uintptr_t a)
{
    for (int i = 0; i < nchunks; i++)
        if (slab_chunks[i] == chunk_of(a))
            return 1;
    return 0;
}

/* Foreign memory the harness knows of: none of it is hakmem's.  The verdict
 * still depends on the bytes in front (the input buffer is AFL++'s shared
 * memory, whose first page may have nothing mapped in front), so the oracle
 * asks the kernel rather than assuming FOREIGN. */
typedef struct region {
    uintptr_t lo, hi;
    const char *what;
} region;

static uint8_t gbuf[65536];
static const uint8_t cbuf[4096] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static _Thread_local int tls_word;
static uint8_t *libc_small, *libc_big, *sys_small, *guard_map, *hole_page;
static size_t libc_big_n = 200 * 1024;

static void init_pool(void)
{
    if (guard_map)
        return;
    size_t pg = fz_page();
    libc_small = __libc_malloc(64);
    libc_big = __libc_malloc(libc_big_n);   /* above glibc's mmap threshold */
    sys_small = malloc(100);                /* ASan's heap under libFuzzer */
    /* [PROT_NONE][rw][rw][PROT_NONE]: a pointer at the first rw page has
     * its 16 bytes in front in a page that faults if read. */
    guard_map = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FZ_CHECK(guard_map != MAP_FAILED, "mmap failed");
    mprotect(guard_map, pg, PROT_NONE);
    mprotect(guard_map + 3 * pg, pg, PROT_NONE);
    memset(guard_map + pg, 0x5a, 2 * pg);
    /* A page with a hole in front (the hole may be refilled later; the oracle
     * asks the kernel each time). */
    uint8_t *h = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FZ_CHECK(h != MAP_FAILED, "mmap failed");
    munmap(h, pg);
    hole_page = h + pg;
    FZ_CHECK(libc_small && libc_big && sys_small, "setup allocation failed");
    memset(gbuf, 1, sizeof gbuf);
}

/* Addresses that are never ours and never mapped here: the first pages
 * (nothing maps them, even where vm.mmap_min_addr would allow it; expect()
 * checks the kernel agrees) and addresses outside the 47-bit user half. */
static const uintptr_t wild[] = {
    1, 8, 15, 16, 0x10, 0xff0, 0x1000, 0x1001, 0x8000,
    (uintptr_t)1 << 47, ((uintptr_t)1 << 47) + 16, (uintptr_t)0xdeadbeefdeadbeefull,
    (uintptr_t)0xffff800000000000ull, UINTPTR_MAX, UINTPTR_MAX - 15, UINTPTR_MAX & ~(uintptr_t)4095,
    (uintptr_t)0x8000000000000000ull, (uintptr_t)0x00007ffffffff000ull + 0x1000,
};
#define NWILD (sizeof wild / sizeof wild[0])

typedef struct probe_ctx {
    region reg[12];
    int nreg;
} probe_ctx;

static void add_reg(probe_ctx *c, const void *lo, size_t n, const char *what)
{
    c->reg[c->nreg++] = (region){ (uintptr_t)lo, (uintptr_t)lo + n, what };
}

static size_t hdr_bytes(const rec *r) { return r->tier == TIER_TINY ? 1 : 16; }

/* User pointers of every Huge block freed so far (the last HIST of them). */
#define HIST 256
static uintptr_t hist[HIST];
static unsigned nhist;

static void note_huge_free(const rec *r)
{
    if (r->tier == TIER_HUGE)
        hist[nhist++ % HIST] = (uintptr_t)r->p;
}

static int huge_history(uintptr_t a)
{
    for (unsigned i = 0; i < HIST && i < nhist; i++)
        if (hist[i] == a)
            return 1;
    return 0;
}

/* A freed Tiny/Mid block keeps its place on its slab's grid, with its tag or
 * header saying "free", as long as the slab is not released.  The slab cannot
 * be released while another block in the same 64 KiB unit (so the same slab)
 * stays live, which is what pins tracks. */
static int strict_freed(const rec *r)
{
    return r->tier != TIER_HUGE && !r->superseded && r->pins != 0;
}

/* The set of verdicts allowed for address a, and a note saying why. */
static unsigned expect(const probe_ctx *c, uintptr_t a, int is_wild, const rec **live, const char **why)
{
    *live = NULL;
    if (a == 0)
        return *why = "NULL", BIT(HAK_FREE_NULL);
    for (int i = 0; i < nrec; i++)
        if (R[i].state == LIVE && a == (uintptr_t)R[i].p)
            return *live = &R[i], *why = "live block start", BIT(HAK_FREE_OK);
    for (int i = 0; i < nrec; i++) {
        const rec *r = &R[i];
        uintptr_t s = (uintptr_t)r->p;
        if (r->state != LIVE)
            continue;
        if ((a > s && a - s < r->usable) || (a < s && s - a <= hdr_bytes(r)))
            return *why = "inside a live block or its tag/header", BIT(HAK_FREE_INVALID);
    }
    for (int i = 0; i < nrec; i++) {
        const rec *r = &R[i];
        uintptr_t s = (uintptr_t)r->p;
        if (r->state != FREED || !strict_freed(r))
            continue;
        if (a == s)
            return *why = "start of a freed block, slab pinned", BIT(HAK_FREE_DOUBLE);
        if ((a > s && a - s < r->usable) || (a < s && s - a <= hdr_bytes(r)))
            return *why = "inside a freed block, slab pinned", BIT(HAK_FREE_INVALID);
    }
    if (in_slab_chunk(a))
        return *why = "in a slab chunk", BIT(HAK_FREE_INVALID) | BIT(HAK_FREE_DOUBLE);
    /* A freed Huge block is unmapped at once, but hakmem remembers the last
     * few freed Huge user pointers (huge.c keeps 64, more than MAXREC) and
     * calls a second free of one DOUBLE.  Nothing can have made this address
     * ours again: a new Huge block over it would be a live record. */
    for (int i = 0; i < nrec; i++)
        if (R[i].state == FREED && R[i].tier == TIER_HUGE && !R[i].superseded && a == (uintptr_t)R[i].p)
            return *why = "start of a freed huge block", BIT(HAK_FREE_DOUBLE);
    /* Not known to be ours.  hakmem's verdict for memory it does not own is
     * fixed by the kernel: UNMAPPED iff a page holding a-16 .. a-1 is not
     * mapped (a < 16 has no such bytes).  Memory it owns is always mapped, so
     * an unmapped page at a proves the address is not ours. */
    int pa = fz_mapped_range(a, a) == 1;
    int pf = a >= 16 && fz_mapped_range(a - 16, a - 1) == 1;
    hak_free_status notours = pf ? HAK_FREE_FOREIGN : HAK_FREE_UNMAPPED;
    if (huge_history(a))
        notours = HAK_FREE_DOUBLE;   /* maybe still in hakmem's ring: allow both */
    if (is_wild)
        FZ_CHECK(!pa && !pf, "wild address %#lx is mapped?", (unsigned long)a);
    if (!pa)
        return *why = is_wild ? "wild address" : "page not mapped",
               BIT(notours) | (huge_history(a) ? BIT(pf ? HAK_FREE_FOREIGN : HAK_FREE_UNMAPPED) : 0);
    for (int i = 0; i < c->nreg; i++)
        if (a >= c->reg[i].lo && a < c->reg[i].hi)
            return *why = c->reg[i].what, BIT(notours) | BIT(pf ? HAK_FREE_FOREIGN : HAK_FREE_UNMAPPED);
    return *why = pf ? "unknown, mapped" : "unknown, page in front not mapped",
           BIT(notours) | BIT(HAK_FREE_INVALID) | BIT(HAK_FREE_DOUBLE);
}

/* r (or another record) just went from live to freed: it no longer pins
 * anything, and a freed record is pinned by every live block of its unit. */
static void note_free(rec *r)
{
    int k = (int)(r - R);
    for (int i = 0; i < nrec; i++)
        R[i].pins &= ~(1u << k);
    r->pins = 0;
    if (r->tier == TIER_HUGE)
        return;
    for (int i = 0; i < nrec; i++)
        if (i != k && R[i].state == LIVE && R[i].tier == r->tier &&
            unit_of((uintptr_t)R[i].p) == unit_of((uintptr_t)r->p))
            r->pins |= 1u << i;
}

static void probe(const probe_ctx *c, uintptr_t a, int is_wild)
{
    const rec *live;
    const char *why;
    unsigned allowed = expect(c, a, is_wild, &live, &why);
    void *p = (void *)a;

    size_t u = hak_usable_size(p);
    if (live)
        FZ_CHECK(u == live->usable, "usable_size(%p) = %zu, block has %zu", p, u, live->usable);
    else
        FZ_CHECK(u == 0, "usable_size(%p) = %zu for a non-block (%s)", p, u, why);
    /* object size: from any byte of a live block to its end, 0 anywhere else */
    size_t want_os = 0;
    for (int i = 0; i < nrec; i++)
        if (R[i].state == LIVE && a - (uintptr_t)R[i].p < R[i].usable)
            want_os = (uintptr_t)R[i].p + R[i].usable - a;
    size_t os = hak_malloc_object_size_fast(p);
    FZ_CHECK(os == want_os, "malloc_object_size_fast(%p) = %zu, want %zu", p, os, want_os);

    if (live) {
        /* verify now: once freed, hakmem poisons the block (HAK_ASAN) */
        size_t bad = fz_verify(live->p, live->size, live->seed);
        FZ_CHECK(bad == (size_t)-1, "block %p was corrupted at %zu before free", (void *)live->p, bad);
    }
    hak_stats before, mid, after;
    hak_get_stats(&before);
    hak_free_status c1 = hak_classify_ptr(p);
    hak_get_stats(&mid);
    FZ_CHECK(memcmp(before.rejected, mid.rejected, sizeof before.rejected) == 0,
             "hak_classify_ptr(%p) changed the rejected counters", p);
    hak_free_status v = hak_free_checked(p);
    hak_get_stats(&after);
    FZ_CHECK((unsigned)v < HAK_FREE_NSTATUS, "verdict %d out of range", (int)v);
    FZ_CHECK(c1 == v, "classify(%p) = %s but free_checked = %s", p, hak_free_status_name(c1),
             hak_free_status_name(v));
    FZ_CHECK(allowed & BIT(v), "hak_free_checked(%p) = %s; expected mask 0x%x (%s)", p,
             hak_free_status_name(v), allowed, why);
    const char *nm = hak_free_status_name(v);
    FZ_CHECK(nm && *nm, "no name for verdict %d", (int)v);
    for (int s = 0; s < HAK_FREE_NSTATUS; s++) {
        uint64_t want = before.rejected[s] + (s == (int)v && v != HAK_FREE_OK && v != HAK_FREE_NULL);
        FZ_CHECK(after.rejected[s] == want, "rejected[%s] %llu -> %llu after verdict %s",
                 hak_free_status_name((hak_free_status)s), (unsigned long long)before.rejected[s],
                 (unsigned long long)after.rejected[s], nm);
    }
    if (v == HAK_FREE_OK) {
        rec *r = (rec *)live;
        r->state = FREED;
        note_free(r);
        note_huge_free(r);
    }
}

static void alloc_rec(fz_in *in)
{
    uint8_t t = fz_u8(in);
    size_t n;
    int tier;
    switch (t % 3) {
    /* from 1: a malloc(0) pointer is no Tiny block (fuzz_ops covers those) */
    case 0: tier = TIER_TINY, n = 1 + fz_u16(in) % HAKMEM_TINY_MAX; break;
    case 1: tier = TIER_MID, n = HAKMEM_TINY_MAX + 1 + fz_u32(in) % (HAKMEM_MID_MAX - HAKMEM_TINY_MAX); break;
    default: tier = TIER_HUGE, n = HAKMEM_MID_MAX + 1 + (size_t)fz_u16(in) * 8; break;
    }
    if (nrec == MAXREC)
        return;
    uint8_t *p = hak_malloc(n);
    FZ_CHECK(p, "hak_malloc(%zu) failed", n);
    size_t u = hak_usable_size(p);
    FZ_CHECK(u >= n, "usable %zu < %zu", u, n);
    for (int i = 0; i < nrec; i++) {
        rec *r = &R[i];
        uintptr_t a = (uintptr_t)p, s = (uintptr_t)r->p;
        int overlap = a < s + r->usable && s - hdr_bytes(r) < a + u;
        if (r->state == LIVE)
            FZ_CHECK(!overlap, "new block %p+%zu overlaps live %p+%zu", (void *)p, u, (void *)r->p,
                     r->usable);
        else if (overlap && a == s)
            r->superseded = 1;   /* the slot came back */
        else if (overlap)
            FZ_CHECK(!strict_freed(r), "new block %p+%zu overlaps freed %p+%zu of a pinned slab",
                     (void *)p, u, (void *)r->p, r->usable);
    }
    if (tier != TIER_HUGE)
        note_slab_chunk((uintptr_t)p);
    R[nrec] = (rec){ p, n, u, tier, LIVE, 0, 0, (uint32_t)(nrec + 1) * 0x85ebca6bu ^ (uint32_t)n };
    fz_fill(p, n, R[nrec].seed);
    nrec++;
}

static uintptr_t apply_offset(fz_in *in, uintptr_t a, size_t extent)
{
    size_t pg = fz_page();
    uint8_t o = fz_u8(in);
    switch (o % 20) {
    case 0: return a;
    case 1: return a + 1;
    case 2: return a - 1;
    case 3: return a + 8;
    case 4: return a - 8;
    case 5: return a + 16;
    case 6: return a - 16;
    case 7: return a & ~(uintptr_t)(pg - 1);
    case 8: return (a | (pg - 1)) + 1;
    case 9: return a | (pg - 1);
    case 10: return (a & ~(uintptr_t)(pg - 1)) - 1;
    case 11: return a + pg;
    case 12: return a - pg;
    case 13: return a + extent;
    case 14: return a + (int16_t)fz_u16(in);
    case 15: return a + (int32_t)fz_u32(in);
    case 16: return a + 16 * (size_t)(fz_u16(in) % (extent / 16 + 1));
    case 17: return a - 2;
    case 18: return a - 15;
    default: return a + extent - 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t stackbuf[8192];
    memset(stackbuf, 7, sizeof stackbuf);
    init_pool();
    size_t pg = fz_page();

    probe_ctx c = { .nreg = 0 };
    add_reg(&c, stackbuf, sizeof stackbuf, "stack buffer");
    add_reg(&c, gbuf, sizeof gbuf, "global buffer");
    add_reg(&c, cbuf, sizeof cbuf, "const array");
    add_reg(&c, libc_small, 64, "glibc heap block");
    add_reg(&c, libc_big, libc_big_n, "glibc mmapped block");
    add_reg(&c, sys_small, 100, "system malloc block");
    add_reg(&c, guard_map + 16, 4 * pg - 16, "guarded mmap pages");
    if (size)
        add_reg(&c, data, size, "fuzzer input");
    add_reg(&c, &tls_word, sizeof tls_word, "TLS word");

    nrec = 0;
    fz_in in = { data, size, 0 };
    int steps = 0;
    while (fz_more(&in) && steps++ < 256) {
        uint8_t op = fz_u8(&in);
        switch (op % 8) {
        case 0: case 1:
            alloc_rec(&in);
            break;
        case 2: {
            if (!nrec)
                break;
            rec *r = &R[fz_u8(&in) % nrec];
            probe(&c, (uintptr_t)r->p, 0);   /* the block start: OK when live, else DOUBLE or so */
            break;
        }
        case 3: case 4: case 5: {
            uint8_t b = fz_u8(&in);
            uintptr_t a;
            size_t ext;
            if (b < 0x80 && nrec) {
                rec *r = &R[b % nrec];
                a = (uintptr_t)r->p, ext = r->usable;
            } else {
                switch (b % 13) {
                case 0: a = (uintptr_t)stackbuf + 4096, ext = 4096; break;
                case 1: a = (uintptr_t)gbuf + 32768, ext = 32768; break;
                case 2: a = (uintptr_t)cbuf + 16, ext = sizeof cbuf - 16; break;
                case 3: a = (uintptr_t)libc_small, ext = 64; break;
                case 4: a = (uintptr_t)libc_big, ext = libc_big_n; break;
                case 5: a = (uintptr_t)sys_small, ext = 100; break;
                case 6: a = (uintptr_t)guard_map + pg, ext = 2 * pg; break;
                case 7: a = (uintptr_t)guard_map + 2 * pg, ext = pg; break;
                case 8: a = (uintptr_t)hole_page, ext = pg; break;
                case 9: a = (uintptr_t)data, ext = size; break;
                case 10: a = (uintptr_t)&LLVMFuzzerTestOneInput, ext = 16; break;
                case 11: a = (uintptr_t)&tls_word, ext = sizeof tls_word; break;
                default: a = (uintptr_t)"hakmem string literal", ext = 22; break;
                }
            }
            probe(&c, apply_offset(&in, a, ext), 0);
            break;
        }
        case 6:
            probe(&c, wild[fz_u8(&in) % NWILD], 1);
            break;
        default:
            if (op & 0x80) {
                probe(&c, (uintptr_t)fz_u64(&in), 0);   /* any address at all */
            } else {
                hak_trim();   /* purges free slabs; pinned slabs must not change */
            }
        }
    }

    /* The heap must be as the model says, then everything goes back. */
    for (int i = 0; i < nrec; i++) {
        rec *r = &R[i];
        if (r->state != LIVE)
            continue;
        size_t bad = fz_verify(r->p, r->size, r->seed);
        FZ_CHECK(bad == (size_t)-1, "live block %p (%zu bytes) corrupted at byte %zu", (void *)r->p,
                 r->size, bad);
        FZ_CHECK(hak_usable_size(r->p) == r->usable, "usable_size of live %p changed", (void *)r->p);
    }
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed at the end of the input");
    for (int i = 0; i < nrec; i++) {
        if (R[i].state != LIVE)
            continue;
        hak_free_status v = hak_free_checked(R[i].p);
        FZ_CHECK(v == HAK_FREE_OK, "final free of live %p = %s", (void *)R[i].p,
                 hak_free_status_name(v));
        R[i].state = FREED;
        note_huge_free(&R[i]);
    }
    FZ_CHECK(hak_heap_check() == 0, "hak_heap_check failed after freeing everything");
    hak_stats st;
    hak_get_stats(&st);
    FZ_CHECK(st.live_blocks == 0, "%llu blocks still live after freeing all",
             (unsigned long long)st.live_blocks);
    return 0;
}
