/* chunk_map.c: the ownership map's storage (see chunk_map.h). */
#include "chunk_map.h"
#include "os.h"

_Atomic(hak_chunk_t *) *hak_cmap;
_Atomic(hak_chunk_t *) *hak_cmap_fast;

void cmap_fast_on(void)
{
    hak_cmap_fast = hak_cmap;
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
