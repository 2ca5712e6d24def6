/* zero.c: malloc(0) (issue 12).
 *
 * Every malloc(0) gets its own 16-aligned address inside one PROT_NONE
 * reservation: the pointer is unique and non-NULL, and any read or write
 * through it faults.  Nothing is kept there: a slot's state is one bit of a
 * bitmap out of line.  Slots are handed out round-robin, so a freed one
 * comes back as late as possible and a second free of it reads DOUBLE until
 * then.  The reservation is not in the chunk map, so the classifier calls
 * these pointers FOREIGN or UNMAPPED; hak_classify_all (free_dispatch.c)
 * asks zero_owns() before it believes that.  When every slot is taken (a
 * million live malloc(0) blocks), malloc(0) falls back to a smallest Tiny
 * block (api.c). */
#include "internal.h"
#include "os.h"

#define ZERO_SLOTS (1u << 20)
#define ZERO_LEN   ((uintptr_t)ZERO_SLOTS * HAK_ALIGN)   /* 16 MiB of address space, nothing committed */
#define ZERO_TRIES 64                                     /* slots tried before falling back */

static _Atomic uintptr_t zero_base;                 /* the reservation, 0 until the first malloc(0) */
static _Atomic uint64_t zero_bits[ZERO_SLOTS / 64]; /* bit i: slot i is live (bss: pages touched on use) */
static _Atomic uint64_t zero_next;                  /* round-robin cursor: slots handed out so far */
static _Atomic uint64_t zero_nlive;

static uintptr_t zero_region(void)
{
    uintptr_t b = atomic_load_explicit(&zero_base, memory_order_acquire);
    if (likely(b != 0)) return b;
    hak_init();
    hak_lock();
    b = atomic_load_explicit(&zero_base, memory_order_relaxed);
    if (b == 0) {
        b = (uintptr_t)os_reserve(ZERO_LEN, HAK_PAGE, 0, 0);
        atomic_store_explicit(&zero_base, b, memory_order_release);
    }
    hak_unlock();
    return b;
}

void *zero_alloc(void)
{
    uintptr_t b = zero_region();
    if (b == 0) return NULL;
    for (int t = 0; t < ZERO_TRIES; t++) {
        uint64_t i = atomic_fetch_add_explicit(&zero_next, 1, memory_order_relaxed) % ZERO_SLOTS;
        uint64_t bit = 1ull << (i % 64);
        if (!(atomic_fetch_or_explicit(&zero_bits[i / 64], bit, memory_order_acq_rel) & bit)) {
            atomic_fetch_add_explicit(&zero_nlive, 1, memory_order_relaxed);
            return (void *)(b + i * HAK_ALIGN);
        }
    }
    return NULL;
}

bool zero_owns(const void *p)
{
    uintptr_t b = atomic_load_explicit(&zero_base, memory_order_acquire);
    return b != 0 && (uintptr_t)p - b < ZERO_LEN;
}

/* Verdict of a slot that is not live: handed out before (DOUBLE), or never
 * (INVALID).  The cursor only grows, so every slot below it was handed out. */
static hak_free_status dead_verdict(uint64_t i)
{
    return i < atomic_load_explicit(&zero_next, memory_order_relaxed) ? HAK_FREE_DOUBLE : HAK_FREE_INVALID;
}

/* p: zero_owns(p). */
hak_free_status zero_state(const void *p)
{
    uintptr_t off = (uintptr_t)p - atomic_load_explicit(&zero_base, memory_order_relaxed);
    if (off % HAK_ALIGN != 0) return HAK_FREE_INVALID;
    uint64_t i = off / HAK_ALIGN, bit = 1ull << (i % 64);
    if (atomic_load_explicit(&zero_bits[i / 64], memory_order_acquire) & bit) return HAK_FREE_OK;
    return dead_verdict(i);
}

/* p: zero_owns(p).  Of racing frees of one pointer exactly one gets OK. */
hak_free_status zero_free(const void *p)
{
    uintptr_t off = (uintptr_t)p - atomic_load_explicit(&zero_base, memory_order_relaxed);
    if (off % HAK_ALIGN != 0) return HAK_FREE_INVALID;
    uint64_t i = off / HAK_ALIGN, bit = 1ull << (i % 64);
    if (atomic_fetch_and_explicit(&zero_bits[i / 64], ~bit, memory_order_acq_rel) & bit) {
        atomic_fetch_sub_explicit(&zero_nlive, 1, memory_order_relaxed);
        return HAK_FREE_OK;
    }
    return dead_verdict(i);
}

uint64_t zero_live(void)
{
    return atomic_load_explicit(&zero_nlive, memory_order_relaxed);
}
