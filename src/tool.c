/* tool.c: blocks as the program asked for them, under the tools (issue 13).
 *
 * Under Valgrind's Memcheck, or in the ASan build, every malloc and free
 * misses the fast paths (heap.h: hak_tl_heap stays the sentinel) and the
 * tiers hand their memory over closed (sanitize.h).  This file is the only
 * place that tells the tools about blocks, and it tells them the size the
 * program asked for, not the slot's usable size: VALGRIND_MALLOCLIKE_BLOCK
 * and ASan unpoisoning of exactly n bytes, so a write one byte past the
 * request is reported even where the slot has slack, and leak reports name
 * requested bytes.
 *
 * The requested size of every live block is kept out of line, in a hash
 * table keyed by the block's start (the slot, not an aligned alias inside
 * it): the slack may be empty and every byte of the request is the
 * program's.  The table is under the global lock, which fork() already
 * holds across the fork.  Outside the tools nothing here runs: the fast
 * paths never come this way and the slow paths test HAK_TOOLS_ON first. */
#include <string.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"

typedef struct tool_ent {
    uintptr_t hkey;   /* ~(block start), 0 for an empty slot: inverted so that the leak
                         scans (Memcheck's, LSan's) never take it for a pointer into the block */
    size_t n;         /* bytes the program asked for */
    size_t off;       /* user pointer - block start (an aligned alias lies inside its block) */
    size_t span;      /* block start to the next block's start: the bytes that are "near" it */
} tool_ent_t;

#define TAB_MIN 4096u                 /* entries of the first table (128 KiB) */

static tool_ent_t *tab;               /* global lock, all of it */
static size_t tab_cap, tab_used;      /* tab_cap a power of two, tab_used <= tab_cap / 2 */

static size_t home(uintptr_t b, size_t cap)
{
    uint64_t h = (uint64_t)(b >> 4) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static tool_ent_t *find(uintptr_t b)
{
    if (!tab) return NULL;
    for (size_t i = home(b, tab_cap);; i = (i + 1) & (tab_cap - 1)) {
        if (tab[i].hkey == 0) return NULL;
        if (tab[i].hkey == ~b) return &tab[i];
    }
}

/* Double the table (or make the first one).  False when the kernel says no. */
static bool grow(void)
{
    size_t cap = tab_cap ? tab_cap * 2 : TAB_MIN;
    tool_ent_t *t = os_map(cap * sizeof *t, HAK_PAGE);
    if (!t) return false;
    for (size_t i = 0; i < tab_cap; i++) {
        if (tab[i].hkey == 0) continue;
        size_t j = home(~tab[i].hkey, cap);
        while (t[j].hkey) j = (j + 1) & (cap - 1);
        t[j] = tab[i];
    }
    if (tab) os_unmap(tab, tab_cap * sizeof *tab);
    tab = t;
    tab_cap = cap;
    return true;
}

static void put(const tool_ent_t *e)
{
    if ((tab_used + 1) * 2 > tab_cap && !grow() && tab_used + 1 >= tab_cap)
        hak_fatal("no memory for the requested-size table (tool mode)", NULL);
    uintptr_t b = ~e->hkey;
    size_t i = home(b, tab_cap);
    while (tab[i].hkey && tab[i].hkey != e->hkey) i = (i + 1) & (tab_cap - 1);
    if (tab[i].hkey == 0) tab_used++;
    tab[i] = *e;
}

/* Remove the entry of block b into *out; false when there is none.  Linear
 * probing without tombstones: later entries of the run move back. */
static bool take(uintptr_t b, tool_ent_t *out)
{
    tool_ent_t *e = find(b);
    if (!e) return false;
    *out = *e;
    size_t mask = tab_cap - 1, i = (size_t)(e - tab), j = i;
    for (;;) {
        tab[i].hkey = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (tab[j].hkey == 0) { tab_used--; return true; }
            size_t k = home(~tab[j].hkey, tab_cap);
            /* j's entry may fill the hole at i unless its home lies in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        tab[i] = tab[j];
        i = j;
    }
}

#if defined(HAK_ASAN) && HAK_ASAN
/* The last frees, so that ASan's report of a use after free can say which
 * block and what size (ASan knows nothing of hakmem's blocks). */
#define FREED 4096u
static tool_ent_t freed[FREED];       /* global lock */
static unsigned freed_pos;
#endif

/* Bytes from block start b to the next block's start: the slot stride, or
 * the rest of a huge mapping.  b is a block a tier just handed out. */
static size_t span_of(uintptr_t b)
{
    hak_chunk_t *c = cmap_lookup(b - b % HAK_CHUNK);
    if (!c) return 0;
    if (c->kind == HAK_CHUNK_HUGE) return c->huge_size;
    return c->unit[b % HAK_CHUNK / HAK_SLAB].stride;
}

/* The tier gave out `block`, closed; the program gets n bytes at user
 * (user == block, or an aligned alias inside it). */
void *tool_handout(void *block, void *user, size_t n)
{
    uintptr_t b = (uintptr_t)block;
    tool_ent_t e = { ~b, n, (uintptr_t)user - b, span_of(b) };
    hak_lock();
    put(&e);
    hak_unlock();
    HAK_UNPOISON(user, n);
    if (HAK_TOOLS_RT) VALGRIND_MALLOCLIKE_BLOCK(user, n, 0, 0);
    return user;
}

void *tool_malloc(size_t n)
{
    hak_init();
    void *b = n <= HAK_MID_MAXREQ ? heap_alloc_slow(n) : huge_alloc(n, 0, 0);
    return b ? tool_handout(b, b, n) : NULL;
}

/* p, which the classifier found live (w), is about to be freed.  Memcheck
 * hears of it before the tier takes the block back: once back, another
 * thread may get it again at once. */
void tool_release(const hak_where_t *w, void *p)
{
    tool_ent_t e;
    hak_lock();
    bool had = take((uintptr_t)w->user, &e);
#if defined(HAK_ASAN) && HAK_ASAN
    if (had) freed[freed_pos++ % FREED] = e;
#endif
    hak_unlock();
    if (HAK_TOOLS_RT) {
        VALGRIND_FREELIKE_BLOCK(p, 0);   /* reported by Memcheck unless p is what it handed out */
        uintptr_t user = (uintptr_t)w->user + (had ? e.off : 0);
        if (had && user != (uintptr_t)p)   /* the slot of an aligned block, freed by its start */
            VALGRIND_FREELIKE_BLOCK((void *)user, 0);
    }
}

size_t tool_usable(const hak_where_t *w, const void *p)
{
    size_t n = 0;
    hak_lock();
    const tool_ent_t *e = find((uintptr_t)w->user);
    if (e && (uintptr_t)w->user + e->off == (uintptr_t)p) n = e->n;
    hak_unlock();
    return n;
}

/* The end of what was asked for of the block starting at user pointer b
 * (its aligned alias's n bytes, if it has one), or 0 when none is recorded:
 * malloc_object_size measures to it under the tools. */
uintptr_t tool_end(uintptr_t b)
{
    uintptr_t end = 0;
    hak_lock();
    const tool_ent_t *e = find(b);
    if (e) end = b + e->off + e->n;
    hak_unlock();
    return end;
}

/* Under the tools realloc always moves, as Valgrind's and ASan's own do:
 * the new block is exactly n bytes to the tools, and a stale pointer to
 * the old one reads freed memory. */
void *tool_realloc(hak_where_t *w, void *p, size_t n)
{
    size_t old = tool_usable(w, p);
    void *q = tool_malloc(n);
    if (!q) return NULL;                  /* errno ENOMEM, p untouched */
    memcpy(q, p, old < n ? old : n);
    hak_free_status st = hak_free_found(w, p, 1);
    if (st != HAK_FREE_OK) hak_report(st, p, "realloc");   /* a racing free won */
    return q;
}

#if defined(HAK_ASAN) && HAK_ASAN
/* ---- ASan's report, completed.  ASan only sees poisoned bytes, so for an
 * access to hakmem memory it says "use-after-poison" (or SEGV, for a huge
 * block already unmapped) and no more.  After its report we add the line
 * ASan writes for its own heap: which block, its requested size, and where
 * the address lies relative to it. */
#include <stdio.h>
#include <stdlib.h>

/* entry among n whose span holds a, or NULL */
__attribute__((no_sanitize("address"))) static const tool_ent_t *near(const tool_ent_t *t, size_t n,
                                                                       uintptr_t a, unsigned from)
{
    for (size_t k = 0; k < n; k++) {
        const tool_ent_t *e = &t[(from - k + n) % n];   /* newest first, for the ring */
        uintptr_t b = ~e->hkey;
        if (e->hkey && b <= a && a - b < (e->span > e->off + e->n ? e->span : e->off + e->n)) return e;
    }
    return NULL;
}

__attribute__((no_sanitize("address"))) static void asan_describe(const char *report)
{
    uintptr_t a = (uintptr_t)__asan_get_report_address();
    if (a == 0 && report) {   /* a deadly signal: the address is only in the text */
        const char *s = strstr(report, "on unknown address 0x");
        if (s) a = (uintptr_t)strtoull(s + 19, NULL, 16);
    }
    if (a == 0 || !hak_trylock()) return;   /* held: the error is inside hakmem itself */
    tool_ent_t e;
    const char *state = "allocated";
    const tool_ent_t *f = tab ? near(tab, tab_cap, a, 0) : NULL;
    if (!f) { f = near(freed, FREED, a, (freed_pos - 1) % FREED); state = "freed"; }
    if (f) e = *f;
    hak_unlock();
    if (!f) return;
    uintptr_t user = ~e.hkey + e.off;
    char line[256];
    size_t d;
    const char *where;
    if (a < user) { d = user - a; where = "to the left of"; }
    else if (a < user + e.n) { d = a - user; where = "inside of"; }
    else { d = a - user - e.n; where = "to the right of"; }
    int len = snprintf(line, sizeof line,
                       "hakmem: 0x%zx is located %zu bytes %s %zu-byte region [0x%zx,0x%zx) %s by hakmem\n",
                       (size_t)a, d, where, e.n, (size_t)user, (size_t)(user + e.n), state);
    if (len > 0) os_write(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

__attribute__((constructor)) static void asan_describe_init(void)
{
    __asan_set_error_report_callback(asan_describe);
}
#endif
