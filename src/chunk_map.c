/* chunk_map.c: the ownership map's storage (see chunk_map.h). */
#include "chunk_map.h"
#include "os.h"

_Atomic(hak_chunk_t *) *hak_cmap;
hak_arena_t hak_arena;
static uintptr_t arena_used;   /* bytes taken (global lock); hak_arena.len follows at publish */

void arena_init(void)
{
    void *a = os_reserve(HAK_ARENA, HAK_CHUNK, 0, 0);
    if (a) atomic_store_explicit(&hak_arena.lo, (uintptr_t)a, memory_order_relaxed);
}

void *arena_take(void)
{
    uintptr_t lo = atomic_load_explicit(&hak_arena.lo, memory_order_relaxed);
    if (lo == 0 || arena_used + HAK_CHUNK > HAK_ARENA) return NULL;
    void *c = (void *)(lo + arena_used);
    if (os_protect(c, HAK_CHUNK, 1) != 0) return NULL;
    arena_used += HAK_CHUNK;
    return c;
}

void arena_publish(void *c)
{
    uintptr_t lo = atomic_load_explicit(&hak_arena.lo, memory_order_relaxed);
    /* chunks are taken and published in address order, under the lock */
    atomic_store_explicit(&hak_arena.len, (uintptr_t)c + HAK_CHUNK - lo, memory_order_release);
}

int cmap_init(void)
{
    if (hak_cmap) return 0;
    void *m = os_map((size_t)HAK_MAP_N * sizeof(hak_chunk_t *), HAK_PAGE);
    if (!m) return -1;
    atomic_store_explicit((_Atomic(_Atomic(hak_chunk_t *) *) *)&hak_cmap, m, memory_order_release);
    return 0;
}

/* point every chunk of [base, base+len) at c; base chunk-aligned */
void cmap_set(uintptr_t base, size_t len, hak_chunk_t *c)
{
    for (uintptr_t i = base / HAK_CHUNK; i < (base + len + HAK_CHUNK - 1) / HAK_CHUNK; i++)
        atomic_store_explicit(&hak_cmap[i], c, memory_order_release);
}

void cmap_clear(uintptr_t base, size_t len)
{
    cmap_set(base, len, NULL);
}
