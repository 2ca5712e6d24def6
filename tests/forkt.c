/* forkt.c: fork() while other threads allocate.
 *
 * Three threads run malloc/free/realloc loops (with content checks) while the
 * main thread forks T_FORKS times (default 40).  A lock held by another thread
 * at the moment of fork() would deadlock the child, so each child has an
 * alarm: a hang is reported as SIGALRM, not as a stuck test.  The child
 * allocates in every tier, frees blocks the parent allocated before the
 * fork, starts a thread of its own that allocates, checks the heap and exits
 * through exit() (atexit handlers and stdio run).  The parent's threads keep
 * going; at the end the parent checks its own heap. */
#include <pthread.h>
#include <stdatomic.h>

#include "testlib.h"

static atomic_int stop;
static atomic_long parent_bad, parent_ops;

static void *busy(void *arg)
{
    t_rng r;
    t_seed(&r, (uintptr_t)arg);
    unsigned char *slot[64] = { 0 };
    size_t len[64] = { 0 };
    while (!atomic_load(&stop)) {
        int i = (int)(t_next(&r) % 64);
        if (slot[i]) {
            if (t_verify(slot[i], len[i], (uintptr_t)slot[i]) != (size_t)-1)
                atomic_fetch_add(&parent_bad, 1);
            free(slot[i]);
            slot[i] = NULL;
        } else {
            uint64_t x = t_next(&r) % 100;
            len[i] = x < 70 ? t_range(&r, 1, 1024) : x < 99 ? t_range(&r, 1025, 200000) : t_range(&r, 300000, 1 << 20);
            slot[i] = malloc(len[i]);
            if (!slot[i]) {
                atomic_fetch_add(&parent_bad, 1);
                continue;
            }
            t_fill(slot[i], len[i], (uintptr_t)slot[i]);
        }
        atomic_fetch_add(&parent_ops, 1);
    }
    for (int i = 0; i < 64; i++)
        free(slot[i]);
    return NULL;
}

static void *child_thread(void *arg)
{
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = malloc((size_t)(i * 131 % 5000) + 1);
    for (int i = 0; i < 100; i++)
        free(p[i]);
    return p[0] ? arg : NULL;
}

/* Returns the child's exit code: 0 clean, 1..: which step failed. */
static int child_body(unsigned char **inherited, size_t *inh_len, int ninh)
{
    alarm(10);
    for (int i = 0; i < ninh; i++) {
        if (t_verify(inherited[i], inh_len[i], (uintptr_t)inherited[i]) != (size_t)-1)
            return 2;
        free(inherited[i]);
    }
    static const size_t sizes[] = { 1, 16, 100, 1024, 1025, 8000, 262144, 262145, 1048577, 1 << 20, 4 << 20 };
    for (int round = 0; round < 10; round++) {
        unsigned char *p[10];
        for (int k = 0; k < 10; k++) {
            p[k] = malloc(sizes[k]);
            if (!p[k])
                return 3;
            t_fill(p[k], sizes[k], (uintptr_t)p[k]);
        }
        for (int k = 0; k < 10; k++) {
            if (t_verify(p[k], sizes[k], (uintptr_t)p[k]) != (size_t)-1)
                return 4;
            free(p[k]);
        }
    }
    pthread_t th;
    static int token;
    if (pthread_create(&th, NULL, child_thread, &token) != 0)
        return 5;
    void *res = NULL;
    pthread_join(th, &res);
    if (res != &token)
        return 6;
    int hc = HK(hak_heap_check)();
    if (hc != 0)
        return hc < 0 && hc > -100 ? 100 - hc : 7;   /* 101.. : heap check code -1.. */
    exit(0);
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n");
        t_failed++;
        return t_done();
    }
    int forks = (int)t_env_u64("T_FORKS", 40);
    t_section("fork while three threads allocate");
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, busy, (void *)(uintptr_t)(i + 1));
    int ok = 0, bad = 0;
    for (int f = 0; f < forks; f++) {
        /* blocks the child will free: one per tier */
        static const size_t isz[] = { 40, 3000, 500000 };
        unsigned char *inh[3];
        size_t inh_len[3];
        for (int k = 0; k < 3; k++) {
            inh_len[k] = isz[k];
            inh[k] = malloc(isz[k]);
            t_fill(inh[k], isz[k], (uintptr_t)inh[k]);
        }
        usleep(2000 + (f % 5) * 1000);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_body(inh, inh_len, 3));
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            ok++;
        } else {
            bad++;
            if (bad <= 5)
                printf("fork %d: child %s %d\n", f, WIFSIGNALED(st) ? "killed by signal" : "exited with",
                       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
        /* the parent's copies are still live and intact */
        for (int k = 0; k < 3; k++) {
            if (t_verify(inh[k], inh_len[k], (uintptr_t)inh[k]) != (size_t)-1)
                atomic_fetch_add(&parent_bad, 1);
            free(inh[k]);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    printf("%d forks: %d children clean, %d not; parent threads did %ld operations\n", forks, ok, bad,
           atomic_load(&parent_ops));
    CHECK(bad == 0, "%d of %d children failed (exit codes: 2 inherited block corrupt, 3 malloc NULL, "
                    "4 pattern, 5/6 thread, 100+k hak_heap_check() = -k; SIGALRM = deadlock)", bad, forks);
    CHECK(atomic_load(&parent_bad) == 0, "parent saw %ld bad blocks", atomic_load(&parent_bad));
    CHECK(atomic_load(&parent_ops) > 1000, "parent threads made little progress (%ld ops)",
          atomic_load(&parent_ops));
    CHECK(HK(hak_heap_check)() == 0, "parent heap check");
    return t_done();
}
