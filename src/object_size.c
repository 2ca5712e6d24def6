/* object_size.c: malloc_object_size (hardened_malloc's extension, issue 12).
 *
 * The bytes from p, which may point anywhere inside a live block, to the
 * end of that block: what a bounds check (e.g. _FORTIFY_SOURCE-style code
 * asking "may I write n bytes at p?") needs.  Like the classifier it reads
 * nothing but the chunk map before it knows the memory is ours, then only
 * descriptors and the in-band state of the block found. */
#include "classify.h"

/* Under the tools a block is what was asked for of it (tool.c): the bytes
 * from a to that end, 0 in the slack behind it. */
static size_t to_asked(uintptr_t b, uintptr_t a)
{
    uintptr_t end = tool_end(b);
    return a < end ? end - a : 0;
}

/* Bytes from p to the end of the live block holding it, or 0 with *why
 * saying what p is instead: NULL, FOREIGN/UNMAPPED (not ours), INVALID (our
 * memory, but metadata, a gap or a never-used slot) or DOUBLE (a free block). */
static size_t object_size(const unsigned char *p, hak_free_status *why)
{
    *why = HAK_FREE_OK;
    if (p == NULL) { *why = HAK_FREE_NULL; return 0; }
    hak_init();
    uintptr_t a = (uintptr_t)p;
    hak_chunk_t *c = cmap_lookup(a - a % HAK_CHUNK);
    if (c == NULL) {
        if (!zero_owns(p)) { *why = HAK_FREE_FOREIGN; return 0; }
        *why = zero_state(p);                   /* a malloc(0) block has no bytes */
        return 0;
    }
    if (c->kind == HAK_CHUNK_HUGE) {
        uintptr_t base = (uintptr_t)c, user = base + c->huge_uoff;
        if (a < base || a - base >= c->map_len) { *why = HAK_FREE_FOREIGN; return 0; }
        if (a < user) { *why = HAK_FREE_INVALID; return 0; }   /* its descriptor's pages */
        *why = hak_state_verdict(hak_hdr_state(c->huge_check, hak_key(user)));
        if (*why != HAK_FREE_OK) return 0;
        return HAK_TOOLS_ON ? to_asked(user, a) : c->huge_size - (a - user);
    }
    uintptr_t off = a % HAK_CHUNK;
    const hak_unit_t *u = &c->unit[off / HAK_SLAB];
    *why = HAK_FREE_INVALID;
    if (u->kind == HAK_SLAB_UNUSED || off < u->first) return 0;
    uint32_t stride = u->stride, first = u->first;
    size_t meta = u->kind == HAK_SLAB_TINY ? 1 : HAK_MID_HDR;   /* the next block's tag or header */
    uintptr_t r = (off - first) % stride, boff = off - r;
    if (r >= stride - meta) return 0;
    if (boff >= __atomic_load_n(&u->end, __ATOMIC_ACQUIRE)) return 0;   /* never carved */
    const hak_unit_t *bu = &c->unit[boff / HAK_SLAB];          /* the block may start in an earlier unit */
    const unsigned char *b = p - r;
    *why = hak_block_state(bu, b, (uintptr_t)b);
    if (*why != HAK_FREE_OK) return 0;
    return HAK_TOOLS_ON ? to_asked((uintptr_t)b, a) : hak_class_usable(u->cls) - r;
}

size_t hak_malloc_object_size(const void *p)
{
    hak_free_status why;
    size_t n = object_size(p, &why);
    /* in our memory but not in a live block: a bad pointer like any other */
    if (why == HAK_FREE_INVALID || why == HAK_FREE_DOUBLE) hak_report(why, p, "malloc_object_size");
    return n;
}

size_t hak_malloc_object_size_fast(const void *p)
{
    hak_free_status why;
    return object_size(p, &why);
}
