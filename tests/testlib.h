/* testlib.h: the small harness every hakmem test program shares.
 *
 * - CHECK(cond, fmt, ...) counts a pass or a failure; a failure prints where
 *   and why.  t_done() prints the closing line "N passed, M failed" and
 *   returns the exit status (1 when M > 0), which tests/run.sh sums up.
 * - t_run_fn() runs a function in a forked child, t_run_exec() runs a program;
 *   both capture the child's stderr (and stdout) and report exit status or
 *   signal, with a timeout so a deadlock is a failure, not a hang.
 * - A seeded xorshift generator and byte patterns derived from (address, size)
 *   so any thread can verify a block it did not fill.
 * - hak_* entry points reached through function pointers (HK(name)): resolved
 *   at link time in the static build, by dlsym() when the test runs under
 *   LD_PRELOAD of libhakmem.so (built with -DHAK_DYN), so one source serves both.
 *
 * Everything is static: each test is one translation unit plus this header. */
#ifndef HAKMEM_TESTLIB_H
#define HAKMEM_TESTLIB_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"

#define T_UNUSED __attribute__((unused))

/* minor page faults of the process so far */
static inline long t_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* ---------------------------------------------------------------- counters */
static int t_passed, t_failed;
static const char *t_section_name = "";

T_UNUSED static void t_section(const char *name)
{
    t_section_name = name;
    printf("-- %s\n", name);
    fflush(stdout);
}

/* Failures go to stdout (with the pass lines' order kept) so a captured log
 * reads top to bottom; the section name says which group failed. */
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            t_passed++;                                                       \
        } else {                                                              \
            t_failed++;                                                       \
            printf("FAIL [%s] %s:%d: %s: ", t_section_name, __FILE__,         \
                   __LINE__, #cond);                                          \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
            fflush(stdout);                                                   \
        }                                                                     \
    } while (0)

/* Quiet variant for loops over thousands of cases: counts a single check for
 * the whole loop and reports only the first failure. */
T_UNUSED static int t_loop_bad_;
#define CHECK_LOOP_BEGIN() (t_loop_bad_ = 0)
#define CHECK_LOOP(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond) && t_loop_bad_++ == 0) {                                  \
            printf("FAIL [%s] %s:%d: %s (first failure): ", t_section_name,   \
                   __FILE__, __LINE__, #cond);                                \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
            fflush(stdout);                                                   \
        }                                                                     \
    } while (0)
#define CHECK_LOOP_END(what)                                                  \
    do {                                                                      \
        if (t_loop_bad_) {                                                    \
            t_failed++;                                                       \
            printf("FAIL [%s] %s: %d bad cases\n", t_section_name, what,      \
                   t_loop_bad_);                                              \
        } else {                                                              \
            t_passed++;                                                       \
        }                                                                     \
    } while (0)

T_UNUSED static int t_done(void)
{
    printf("%d passed, %d failed\n", t_passed, t_failed);
    fflush(stdout);
    return t_failed > 0;
}

/* ---------------------------------------------------------------- random */
typedef struct { uint64_t s; } t_rng;

T_UNUSED static void t_seed(t_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (r->s == 0)
        r->s = 1;
}

T_UNUSED static uint64_t t_next(t_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [lo, hi]. */
T_UNUSED static size_t t_range(t_rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(t_next(r) % (uint64_t)(hi - lo + 1));
}

T_UNUSED static uint64_t t_env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? strtoull(v, NULL, 0) : dflt;
}

/* ---------------------------------------------------------------- patterns */
/* Byte i of a block is a function of a key (usually address ^ size) and i, so
 * a moved or overwritten block shows up as a mismatch at a known offset. */
static inline unsigned char t_pat(uint64_t key, size_t i)
{
    uint64_t x = key + i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (unsigned char)(x ^ (x >> 8));
}

/* For large blocks only a sample is written (head, tail and one byte per page)
 * so stress runs stay fast; every page is still touched. */
#define T_FULL_FILL 4096u

T_UNUSED static void t_fill(void *p, size_t n, uint64_t key)
{
    unsigned char *b = p;
    if (n <= T_FULL_FILL) {
        for (size_t i = 0; i < n; i++)
            b[i] = t_pat(key, i);
        return;
    }
    for (size_t i = 0; i < 256; i++) {
        b[i] = t_pat(key, i);
        b[n - 1 - i] = t_pat(key, n - 1 - i);
    }
    for (size_t i = 256; i < n - 256; i += 4096)
        b[i] = t_pat(key, i);
}

/* Returns the first bad offset, or (size_t)-1 when the block is intact. */
T_UNUSED static size_t t_verify(const void *p, size_t n, uint64_t key)
{
    const unsigned char *b = p;
    if (n <= T_FULL_FILL) {
        for (size_t i = 0; i < n; i++)
            if (b[i] != t_pat(key, i))
                return i;
        return (size_t)-1;
    }
    for (size_t i = 0; i < 256; i++) {
        if (b[i] != t_pat(key, i))
            return i;
        if (b[n - 1 - i] != t_pat(key, n - 1 - i))
            return n - 1 - i;
    }
    for (size_t i = 256; i < n - 256; i += 4096)
        if (b[i] != t_pat(key, i))
            return i;
    return (size_t)-1;
}

/* After a realloc from `oldn` to a larger or smaller block: checks the bytes
 * below `keep` that t_fill(p, oldn, key) wrote.  Returns the first bad offset
 * or (size_t)-1. */
T_UNUSED static size_t t_verify_prefix(const void *p, size_t keep, size_t oldn, uint64_t key)
{
    const unsigned char *b = p;
    if (oldn <= T_FULL_FILL) {
        for (size_t i = 0; i < keep && i < oldn; i++)
            if (b[i] != t_pat(key, i))
                return i;
        return (size_t)-1;
    }
    for (size_t i = 0; i < 256 && i < keep; i++)
        if (b[i] != t_pat(key, i))
            return i;
    for (size_t i = oldn - 256; i < oldn && i < keep; i++)
        if (b[i] != t_pat(key, i))
            return i;
    for (size_t i = 256; i < oldn - 256 && i < keep; i += 4096)
        if (b[i] != t_pat(key, i))
            return i;
    return (size_t)-1;
}

/* Full-fill variants for content checks that must cover every byte. */
T_UNUSED static void t_fill_all(void *p, size_t n, uint64_t key)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = t_pat(key, i);
}

T_UNUSED static size_t t_verify_all(const void *p, size_t n, uint64_t key)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != t_pat(key, i))
            return i;
    return (size_t)-1;
}

/* ---------------------------------------------------------------- /proc */
/* VmRSS in KiB, read with read(2) so the measurement itself does not allocate. */
T_UNUSED static long t_rss_kib(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *s = strstr(buf, "VmRSS:");
    return s ? strtol(s + 6, NULL, 10) : -1;
}

T_UNUSED static double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- children */
#define T_CAP 16384

typedef struct t_child {
    int exited;          /* 1: exited normally, code in `code` */
    int code;
    int signaled;        /* 1: killed by signal `sig` */
    int sig;
    int timed_out;       /* the parent killed it after the timeout */
    char out[T_CAP];     /* captured stdout (NUL-terminated, truncated) */
    size_t outlen;
    char err[T_CAP];     /* captured stderr */
    size_t errlen;
} t_child;

/* Reads both pipes until EOF or the deadline, then reaps the child. */
static void t_collect(pid_t pid, int ofd, int efd, int timeout_s, t_child *c)
{
    double deadline = t_now() + timeout_s;
    int open_fds = 2;
    struct pollfd pf[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
    while (open_fds > 0) {
        int left = (int)((deadline - t_now()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            c->timed_out = 1;
            break;
        }
        if (poll(pf, 2, left) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t n = read(pf[k].fd, tmp, sizeof tmp);
            if (n <= 0) {
                pf[k].fd = -1;
                open_fds--;
                continue;
            }
            char *dst = k ? c->err : c->out;
            size_t *len = k ? &c->errlen : &c->outlen;
            size_t room = T_CAP - 1 - *len;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(dst + *len, tmp, take);
            *len += take;
        }
    }
    c->out[c->outlen] = 0;
    c->err[c->errlen] = 0;
    close(ofd);
    close(efd);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st)) {
        c->exited = 1;
        c->code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        c->signaled = 1;
        c->sig = WTERMSIG(st);
    }
}

/* In the child: no core files (an aborting scenario is expected), pipes on 1/2. */
static void t_child_setup(int o[2], int e[2])
{
    struct rlimit nocore = { 0, 0 };
    setrlimit(RLIMIT_CORE, &nocore);
    dup2(o[1], 1);
    dup2(e[1], 2);
    close(o[0]);
    close(o[1]);
    close(e[0]);
    close(e[1]);
}

/* Run fn(arg) in a forked child; its return value is the exit code. */
T_UNUSED static void t_run_fn(int (*fn)(void *), void *arg, int timeout_s, t_child *c)
{
    int o[2], e[2];
    memset(c, 0, sizeof *c);
    fflush(stdout);
    fflush(stderr);
    if (pipe(o) || pipe(e)) {
        c->exited = 1;
        c->code = 127;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        t_child_setup(o, e);
        int rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    close(o[1]);
    close(e[1]);
    t_collect(pid, o[0], e[0], timeout_s, c);
}

/* Run argv[0] with environment envp (NULL: inherit). */
T_UNUSED static void t_run_exec(char *const argv[], char *const envp[], int timeout_s, t_child *c)
{
    int o[2], e[2];
    memset(c, 0, sizeof *c);
    fflush(stdout);
    fflush(stderr);
    if (pipe(o) || pipe(e)) {
        c->exited = 1;
        c->code = 127;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        t_child_setup(o, e);
        if (envp)
            execve(argv[0], argv, envp);
        else
            execv(argv[0], argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    t_collect(pid, o[0], e[0], timeout_s, c);
}

/* One-line description of how a child ended, for failure messages. */
T_UNUSED static const char *t_how(const t_child *c)
{
    static char buf[64];
    if (c->timed_out)
        snprintf(buf, sizeof buf, "timed out");
    else if (c->signaled)
        snprintf(buf, sizeof buf, "killed by signal %d (%s)", c->sig, strsignal(c->sig));
    else
        snprintf(buf, sizeof buf, "exit %d", c->code);
    return buf;
}

/* ---------------------------------------------------------------- hak_* */
/* Every function of include/hakmem.h as a pointer: `HK(hak_malloc)(n)`. */
#define T_HAK_FUNCS(X)                                                        \
    X(hak_malloc) X(hak_free) X(hak_calloc) X(hak_realloc)                    \
    X(hak_reallocarray) X(hak_aligned_alloc) X(hak_posix_memalign)            \
    X(hak_memalign) X(hak_usable_size) X(hak_free_sized)                      \
    X(hak_free_aligned_sized) X(hak_free_checked) X(hak_classify_ptr)         \
    X(hak_free_status_name) X(hak_get_stats) X(hak_print_stats) X(hak_trim)   \
    X(hak_heap_check) X(hak_version) X(hak_free_sized_checked)              \
    X(hak_malloc_object_size) X(hak_malloc_object_size_fast)

#define T_DECL(n) T_UNUSED static __typeof__(&n) t_f_##n;
T_HAK_FUNCS(T_DECL)
#undef T_DECL
#define HK(n) (*t_f_##n)

/* Returns 0 when every function was found (always, in the static build). */
T_UNUSED static int t_load_hak(void)
{
    int missing = 0;
#ifdef HAK_DYN
#define T_LOAD(n)                                                             \
    t_f_##n = (__typeof__(t_f_##n))dlsym(RTLD_DEFAULT, #n);                  \
    if (!t_f_##n) {                                                           \
        fprintf(stderr, "hak symbol %s not found: run with LD_PRELOAD=libhakmem.so\n", #n); \
        missing++;                                                            \
    }
#else
#define T_LOAD(n) t_f_##n = &n;
#endif
    T_HAK_FUNCS(T_LOAD)
#undef T_LOAD
    return missing;
}

/* Verdict names are looked up in the library so messages and tests agree. */
T_UNUSED static const char *t_vname(int v)
{
    if (t_f_hak_free_status_name && v >= 0 && v < HAK_FREE_NSTATUS)
        return HK(hak_free_status_name)((hak_free_status)v);
    return "?";
}

#endif
