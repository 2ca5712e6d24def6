/* init.c: bootstrap, the global lock, fork handling.
 *
 * hak_init_slow() runs on the first call of any entry point from any thread,
 * before or without constructors; it calls nothing that allocates (no dlsym,
 * no stdio), so a malloc from inside it cannot recurse. */
#include <pthread.h>
#include <stdlib.h>
#include "chunk_map.h"
#include "internal.h"
#include "os.h"
#include "sanitize.h"

uint64_t hak_secret;
uint64_t hak_secret_mul[2];
_Atomic int hak_ready;
int hak_tools;

static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

void hak_lock(void) { pthread_mutex_lock(&glock); }
void hak_unlock(void) { pthread_mutex_unlock(&glock); }
int hak_trylock(void) { return pthread_mutex_trylock(&glock) == 0; }

static void atfork_prepare(void) { pthread_mutex_lock(&glock); }
static void atfork_parent(void) { pthread_mutex_unlock(&glock); }
static void atfork_child(void)
{
    pthread_mutex_init(&glock, NULL);
    heap_atfork_child();
}

/* Client requests only matter to Memcheck; under callgrind or cachegrind
 * they would just add instructions to what is being measured.  Only
 * Memcheck answers GET_VBITS (other tools return the default 0). */
static int tools_wanted(void)
{
    if (!RUNNING_ON_VALGRIND) return 0;
    unsigned char probe = 0, vbits = 0;
    return VALGRIND_GET_VBITS(&probe, &vbits, 1) == 1;
}

void hak_init_slow(void)
{
    pthread_mutex_lock(&init_lock);
    if (atomic_load_explicit(&hak_ready, memory_order_acquire)) {
        pthread_mutex_unlock(&init_lock);
        return;
    }
    if (os_page_size() != HAK_PAGE) {
        static const char m[] = "hakmem: page size is not 4096; refusing to run\n";
        os_write(2, m, sizeof m - 1);
        os_abort();
    }
    os_random(&hak_secret, sizeof hak_secret);
    hak_secret |= 1u;
    os_random(hak_secret_mul, sizeof hak_secret_mul);
    hak_secret_mul[0] |= 1u;
    hak_secret_mul[1] |= 1u;
    hak_tools = tools_wanted();
    env_init();
    if (hak_tools) hak_opt.harden_full = 0;   /* the tools' slow paths win (harden.c) */
    if (cmap_init() != 0) {
        static const char m[] = "hakmem: cannot reserve the chunk map\n";
        os_write(2, m, sizeof m - 1);
        os_abort();
    }
    /* no arena under the tools: the free fast path's accept then never runs.
     * In full mode it runs, and hands every live Tiny block it finds to
     * harden.c (heap_free_other: hak_tl_heap owns no slab) */
    if (!HAK_TOOLS_ON) arena_init();
    atomic_store_explicit(&hak_ready, 1, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    /* after hak_ready: glibc may malloc while registering the handlers */
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Initialise at load time too, so the first malloc of a thread does not
 * pay for it; correctness never depends on this running. */
__attribute__((constructor)) static void hak_ctor(void) { hak_init(); }
