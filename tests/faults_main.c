/* faults_main.c: the table-driven runner for the scenarios in tests/faults/.
 *
 *   faults [--dyn BIN --so LIB]   run the whole catalogue (static build)
 *   faults run NAME               one scenario through plain free() (used by
 *                                 the runner itself, in a fresh process)
 *   faults realloc NAME           the same through realloc(p, 100)
 *   faults usable NAME            the same through malloc_usable_size(p)
 *
 * For every scenario:
 *  1. checked: in a forked child, hak_classify_ptr() and hak_free_checked()
 *     must give an expected verdict, hak_usable_size() 0, the verdict is counted in the stats, the
 *     restored block (if any) frees with HAK_FREE_OK, hak_heap_check() is 0,
 *     and eight witness blocks in every tier keep their contents and free OK.
 *  2. policy: `faults run NAME` under HAKMEM_INVALID_FREE=abort (SIGABRT, not
 *     SIGSEGV, one stderr line naming the verdict and the pointer), warn (the
 *     same line, the program continues with an intact heap and exits 0) and
 *     ignore (no output, exit 0).
 *     free() of a bad pointer preserves errno (warn/ignore).
 *  3. realloc() of each bad pointer under abort: SIGABRT and the same line;
 *     malloc_usable_size() of each under abort and warn: the same line, and
 *     0 when the program goes on (issue 12).
 *  4. plain free() through LD_PRELOAD=libhakmem.so with the variable unset:
 *     abort is the default.
 * Scenarios with another operation (fault.h, enum fault_op: sized frees and
 * deletes, malloc_object_size) run it instead of free(), and the checked run
 * uses hak_free_sized_checked / hak_malloc_object_size_fast.  Scenarios that
 * corrupt metadata (FAULT_FATAL) must die by SIGABRT with their message in
 * every run, whatever the policy, hak_free_checked included.
 * Scenario-specific reasoning lives in each tests/faults/<name>.c. */
#include <ctype.h>
#include <stdbool.h>

#include "faults/fault.h"
#include "testlib.h"

extern char **environ;
extern const struct fault *const __start_hak_faults[];
extern const struct fault *const __stop_hak_faults[];

/* ---------------------------------------------------------------- witnesses */
static const size_t wit_sizes[] = { 24, 100, 1000, 1024, 3000, 100000, 262144, 1048576, 1048577, 2 << 20 };
#define NWIT (sizeof wit_sizes / sizeof wit_sizes[0])
static void *wit[NWIT];

static void wit_alloc(void)
{
    for (size_t i = 0; i < NWIT; i++) {
        wit[i] = malloc(wit_sizes[i]);
        if (wit[i])
            t_fill_all(wit[i], wit_sizes[i], i * 1000 + wit_sizes[i]);
    }
}

/* Heap check, witness contents, witness frees; prints and counts failures. */
static int heap_verify(FILE *out)
{
    int bad = 0;
    int hc = HK(hak_heap_check)();
    if (hc != 0) {
        fprintf(out, "hak_heap_check() = %d\n", hc);
        bad++;
    }
    for (size_t i = 0; i < NWIT; i++) {
        if (!wit[i]) {
            fprintf(out, "witness %zu not allocated\n", i);
            bad++;
            continue;
        }
        size_t off = t_verify_all(wit[i], wit_sizes[i], i * 1000 + wit_sizes[i]);
        if (off != (size_t)-1) {
            fprintf(out, "witness of %zu bytes changed at offset %zu\n", wit_sizes[i], off);
            bad++;
        }
        hak_free_status v = HK(hak_free_checked)(wit[i]);
        if (v != HAK_FREE_OK) {
            fprintf(out, "witness of %zu bytes frees with %s\n", wit_sizes[i], t_vname(v));
            bad++;
        }
    }
    return bad;
}

static void ctx_init(struct fctx *c, char *stackbuf)
{
    memset(c, 0, sizeof *c);
    c->stack = stackbuf;
    c->page = sysconf(_SC_PAGESIZE);
    c->checked = t_f_hak_free_checked;
}

static void expect_names(unsigned mask, char *buf, size_t n)
{
    buf[0] = 0;
    for (int v = 0; v < HAK_FREE_NSTATUS; v++)
        if (mask & (1u << v))
            snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? "|" : "", t_vname(v));
}

/* ---------------------------------------------------------------- checked */
/* The alignment hak_free_sized_checked takes for a sized op (0: none given). */
static size_t op_align(const struct fault *f, const struct fctx *c)
{
    return f->op == FOP_FREE_ALIGNED_SIZED || f->op == FOP_DELETE_ALIGNED_SIZED ? c->align : 0;
}

/* The checked run of a scenario whose operation is not free(): the verdict
 * of the sized free (counted once in the stats, nothing freed: the block
 * the scenario restores must still free OK), or for malloc_object_size the
 * answer 0 of its _fast form. */
static int checked_op(const struct fault *f, struct fctx *c)
{
    int bad = 0;
    void *p = f->setup(c);
    if (!p) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    char want[128];
    expect_names(f->expect, want, sizeof want);
    if (f->op == FOP_OBJECT_SIZE) {
        size_t n = HK(hak_malloc_object_size_fast)(p);
        printf("object size %zu", n);
        if (n != 0) {
            fprintf(stderr, "hak_malloc_object_size_fast(%p) = %zu, want 0\n", p, n);
            bad++;
        }
    } else if (f->op != FOP_DELETE_ALIGNED) {   /* unsized aligned delete: no checked form */
        hak_stats before, after;
        HK(hak_get_stats)(&before);
        hak_free_status v = HK(hak_free_sized_checked)(p, op_align(f, c), c->size);
        HK(hak_get_stats)(&after);
        printf("%s", t_vname(v));
        if (!(f->expect & (1u << v))) {
            fprintf(stderr, "hak_free_sized_checked(%p, %zu, %zu) = %s, want %s\n", p, op_align(f, c), c->size,
                    t_vname(v), want);
            bad++;
        }
        if (v != HAK_FREE_OK && after.rejected[v] != before.rejected[v] + 1) {
            fprintf(stderr, "stats rejected[%s] %llu -> %llu, want +1\n", t_vname(v),
                    (unsigned long long)before.rejected[v], (unsigned long long)after.rejected[v]);
            bad++;
        }
    } else {
        printf("(policy runs only)");
    }
    if (f->restore) {
        void *r = f->restore(c);
        hak_free_status v2 = r ? HK(hak_free_checked)(r) : HAK_FREE_OK;
        if (v2 != HAK_FREE_OK) {
            fprintf(stderr, "restored block %p frees with %s, want OK (the bad operation freed it?)\n", r,
                    t_vname(v2));
            bad++;
        }
    }
    return bad;
}
T_UNUSED static int checked_child(void *arg)
{
    const struct fault *f = arg;
    char stackbuf[256];
    struct fctx c;
    ctx_init(&c, stackbuf);
    memset(stackbuf, 0x5a, sizeof stackbuf);
    wit_alloc();
    int bad = 0;
    if (f->custom) {
        bad += f->custom(&c);
    } else if (f->fatal) {
        void *p = f->setup(&c);
        hak_free_status v = HK(hak_free_checked)(p);
        fprintf(stderr, "hak_free_checked(%p) = %s: not fatal\n", p, t_vname(v));
        return 1;
    } else if (f->op != FOP_FREE) {
        bad += checked_op(f, &c);
    } else {
        void *p = f->setup(&c);
        if (!p) {
            fprintf(stderr, "setup failed\n");
            return 1;
        }
        hak_stats before, after;
        HK(hak_get_stats)(&before);
        hak_free_status cl = HK(hak_classify_ptr)(p);
        size_t us = HK(hak_usable_size)(p);
        hak_free_status v = HK(hak_free_checked)(p);
        HK(hak_get_stats)(&after);
        printf("%s", t_vname(v));
        char want[128];
        expect_names(f->expect, want, sizeof want);
        if (!(f->expect & (1u << v))) {
            fprintf(stderr, "hak_free_checked(%p) = %s, want %s\n", p, t_vname(v), want);
            bad++;
        }
        if (v != HAK_FREE_OK && us != 0) {
            fprintf(stderr, "hak_usable_size(%p) = %zu for a %s pointer, want 0\n", p, us, t_vname(v));
            bad++;
        }
        if (cl != v) {
            fprintf(stderr, "hak_classify_ptr(%p) = %s but hak_free_checked = %s\n", p, t_vname(cl), t_vname(v));
            bad++;
        }
        if (v != HAK_FREE_OK && v != HAK_FREE_NULL && after.rejected[v] != before.rejected[v] + 1) {
            fprintf(stderr, "stats rejected[%s] %llu -> %llu, want +1\n", t_vname(v),
                    (unsigned long long)before.rejected[v], (unsigned long long)after.rejected[v]);
            bad++;
        }
        if (f->restore) {
            void *r = f->restore(&c);
            if (r) {
                hak_free_status v2 = HK(hak_free_checked)(r);
                if (v2 != HAK_FREE_OK) {
                    fprintf(stderr, "restored block %p frees with %s, want OK\n", r, t_vname(v2));
                    bad++;
                }
            }
        }
    }
    bad += heap_verify(stderr);
    return bad ? 1 : 0;
}

/* ---------------------------------------------------------------- run NAME */
static const struct fault *find(const char *name)
{
    for (const struct fault *const *f = __start_hak_faults; f < __stop_hak_faults; f++)
        if (strcmp((*f)->name, name) == 0)
            return *f;
    return NULL;
}

/* The scenario's own operation on p through the plain names; returns what
 * malloc_object_size answered (0 for the frees). */
static size_t do_op(const struct fault *f, const struct fctx *c, void *p)
{
    switch (f->op) {
    case FOP_FREE_SIZED: free_sized(p, c->size); break;
    case FOP_FREE_ALIGNED_SIZED: free_aligned_sized(p, c->align, c->size); break;
    case FOP_DELETE_SIZED: _ZdlPvm(p, c->size); break;
    case FOP_DELETE_ARRAY_SIZED: _ZdaPvm(p, c->size); break;
    case FOP_DELETE_ALIGNED: _ZdlPvSt11align_val_t(p, c->align); break;
    case FOP_DELETE_ALIGNED_SIZED: _ZdlPvmSt11align_val_t(p, c->size, c->align); break;
    case FOP_OBJECT_SIZE: return malloc_object_size(p);
    default: free(p);
    }
    return 0;
}

/* Plain free() (or realloc(), malloc_usable_size(), or the scenario's own
 * operation) of the bad pointer, then (warn/ignore) prove the heap is
 * intact.  Exit 0: survived with an intact heap; 2: no such scenario; 3:
 * heap damaged; 4: free() changed errno; 5: a size query answered non-zero. */
static int run_one(const char *op, const char *name)
{
    const struct fault *f = find(name);
    if (!f || !f->setup)
        return 2;
    /* stdio must not allocate between setup() and free(): a fresh stdout
     * buffer could reuse the block a double-free scenario just freed */
    static char outbuf[8192];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    char stackbuf[256];
    struct fctx c;
    ctx_init(&c, stackbuf);
    wit_alloc();
    void *p = f->setup(&c);
    printf("PTR %p\n", p);
    fflush(stdout);
    int bad = 0;
    if (strcmp(op, "realloc") == 0) {
        void *q = realloc(p, 100);
        /* warn/ignore: the bad pointer is left alone and NULL comes back */
        if (q) {
            printf("realloc of a bad pointer returned %p\n", q);
            bad++;
        }
    } else if (strcmp(op, "usable") == 0) {
        size_t n = malloc_usable_size(p);
        if (n != 0) {
            printf("malloc_usable_size of a bad pointer = %zu\n", n);
            fflush(stdout);
            return 5;
        }
    } else {
        errno = 1234;
        size_t n = do_op(f, &c, p);
        if (n != 0) {
            printf("malloc_object_size of a bad pointer = %zu\n", n);
            fflush(stdout);
            return 5;
        }
        if (errno != 1234) {
            printf("free() of a bad pointer changed errno to %d\n", errno);
            fflush(stdout);
            return 4;
        }
    }
    if (f->restore) {
        void *r = f->restore(&c);
        if (r && HK(hak_free_checked)(r) != HAK_FREE_OK) {
            printf("restored block does not free\n");
            bad++;
        }
    }
    bad += heap_verify(stdout);
    fflush(stdout);
    return bad ? 3 : 0;
}

/* ---------------------------------------------------------------- policy */
/* The message must be one line, name one of the expected verdicts and carry
 * the pointer as a 0x hex number. */
static bool message_ok(const t_child *c, unsigned expect, uintptr_t ptr, char *why, size_t n)
{
    const char *e = c->err;
    size_t len = c->errlen;
    if (len == 0 || e[len - 1] != '\n' || memchr(e, '\n', len - 1)) {
        snprintf(why, n, "stderr is not exactly one line");
        return false;
    }
    char low[T_CAP];
    for (size_t i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)e[i]);
    bool named = false;
    for (int v = 0; v < HAK_FREE_NSTATUS; v++) {
        if (!(expect & (1u << v)))
            continue;
        char nm[64];
        snprintf(nm, sizeof nm, "%s", t_vname(v));
        for (char *q = nm; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        named |= strstr(low, nm) != NULL;
    }
    if (!named) {
        snprintf(why, n, "message names none of the expected verdicts");
        return false;
    }
    for (const char *q = strstr(low, "0x"); q; q = strstr(q + 2, "0x"))
        if ((uintptr_t)strtoull(q, NULL, 16) == ptr)
            return true;
    snprintf(why, n, "message lacks the pointer %#lx", (unsigned long)ptr);
    return false;
}

static char **make_env(const char *policy, const char *preload)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "HAKMEM_", 7) && strncmp(environ[i], "LD_PRELOAD=", 11))
            env[k++] = environ[i];
    if (policy) {
        static char buf[4][64];
        static int next;
        char *b = buf[next++ % 4];
        snprintf(b, 64, "HAKMEM_INVALID_FREE=%s", policy);
        env[k++] = b;
    }
    if (preload) {
        char *b = malloc(strlen(preload) + 16);
        sprintf(b, "LD_PRELOAD=%s", preload);
        env[k++] = b;
    }
    env[k] = NULL;
    return env;
}

T_UNUSED static void policy_run(const struct fault *f, const char *bin, const char *policy, const char *preload,
                                const char *op)
{
    char *argv[] = { (char *)bin, (char *)op, (char *)f->name, NULL };
    char **env = make_env(policy, preload);
    t_child c;
    t_run_exec(argv, env, 30, &c);
    free(env);
    const char *ptrline = strstr(c.out, "PTR ");
    uintptr_t ptr = ptrline ? (uintptr_t)strtoull(ptrline + 4, NULL, 16) : 0;
    const char *pol = policy ? policy : "default";
    char why[128] = "";
    char want[128];
    expect_names(f->expect, want, sizeof want);
    if (!ptrline) {
        CHECK(0, "%s under %s%s: scenario printed no pointer (%s)\n  stdout: %s\n  stderr: %s", f->name, pol,
              preload ? " (LD_PRELOAD)" : "", t_how(&c), c.out, c.err);
    } else if (f->fatal) {
        /* corrupt metadata: fatal whatever the policy */
        bool ok = c.signaled && c.sig == SIGABRT;
        bool msg = c.errlen > 0 && c.err[c.errlen - 1] == '\n' && !memchr(c.err, '\n', c.errlen - 1) &&
                   strstr(c.err, f->fatal) != NULL;
        CHECK(ok && msg, "%s %s under %s%s: want SIGABRT and one line \"%s\"; got %s\n  stderr: %s", f->name, op, pol,
              preload ? " (LD_PRELOAD)" : "", f->fatal, t_how(&c), c.err);
    } else if (!policy || strcmp(policy, "abort") == 0) {
        bool ok = c.signaled && c.sig == SIGABRT;
        bool msg = message_ok(&c, f->expect, ptr, why, sizeof why);
        CHECK(ok && msg, "%s %s under %s%s: want SIGABRT and one line naming %s and %#lx; got %s, %s\n  stderr: %s",
              f->name, op, pol, preload ? " (LD_PRELOAD)" : "", want, (unsigned long)ptr, t_how(&c),
              msg ? "message ok" : why, c.err);
    } else if (strcmp(policy, "warn") == 0) {
        bool ok = c.exited && c.code == 0;
        bool msg = message_ok(&c, f->expect, ptr, why, sizeof why);
        CHECK(ok && msg, "%s %s under warn: want exit 0 and one line naming %s and %#lx; got %s, %s\n"
                         "  stdout: %s  stderr: %s",
              f->name, op, want, (unsigned long)ptr, t_how(&c), msg ? "message ok" : why, c.out, c.err);
    } else {
        CHECK(c.exited && c.code == 0 && c.errlen == 0,
              "%s under ignore: want exit 0 and no output; got %s\n  stdout: %s  stderr: %s", f->name, t_how(&c),
              c.out, c.err);
    }
}

int main(int argc, char **argv)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n0 passed, 1 failed\n");
        return 1;
    }
    if (argc == 3 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "realloc") == 0 ||
                      strcmp(argv[1], "usable") == 0))
        return run_one(strcmp(argv[1], "run") == 0 ? "free" : argv[1], argv[2]);
#ifdef HAK_DYN
    fprintf(stderr, "usage: %s run NAME (under LD_PRELOAD)\n", argv[0]);
    return 2;
#else
    const char *dyn = NULL, *so = NULL, *only = getenv("FAULTS_ONLY");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dyn") == 0)
            dyn = argv[i + 1];
        else if (strcmp(argv[i], "--so") == 0)
            so = argv[i + 1];
    }
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = 0;

    /* registration order is link order; sort by name for a stable report */
    size_t n = (size_t)(__stop_hak_faults - __start_hak_faults);
    const struct fault *list[256];
    for (size_t i = 0; i < n && i < 256; i++)
        list[i] = __start_hak_faults[i];
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(list[j - 1]->name, list[j]->name) > 0; j--) {
            const struct fault *t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    printf("%zu scenarios\n", n);

    t_section("hak_free_checked verdicts, heap verified after each");
    for (size_t i = 0; i < n; i++) {
        const struct fault *f = list[i];
        if (only && !strstr(f->name, only))
            continue;
        t_child c;
        t_run_fn(checked_child, (void *)f, 30, &c);
        if (f->fatal) {
            printf("  %-28s %s\n", f->name, c.signaled && c.sig == SIGABRT ? "(fatal)" : t_how(&c));
            CHECK(c.signaled && c.sig == SIGABRT && strstr(c.err, f->fatal),
                  "%s: want SIGABRT and \"%s\" from hak_free_checked; got %s\n%s", f->name, f->fatal, t_how(&c),
                  c.err);
            continue;
        }
        printf("  %-28s %s\n", f->name, f->custom ? "(sweep)" : c.out);
        CHECK(c.exited && c.code == 0, "%s: %s\n%s", f->name, t_how(&c), c.err);
    }
    static const char *policies[] = { "abort", "warn", "ignore" };
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "plain free() under HAKMEM_INVALID_FREE=%s", policies[k]);
        t_section(name);
        for (size_t i = 0; i < n; i++)
            if (list[i]->setup && (!only || strstr(list[i]->name, only)))
                policy_run(list[i], self, policies[k], NULL, "run");
    }
    /* realloc() and malloc_usable_size() take the pointers free() does */
    t_section("realloc() of bad pointers under HAKMEM_INVALID_FREE=abort");
    for (size_t i = 0; i < n; i++)
        if (list[i]->setup && list[i]->op == FOP_FREE && (!only || strstr(list[i]->name, only)))
            policy_run(list[i], self, "abort", NULL, "realloc");
    for (int k = 0; k < 2; k++) {
        char name[80];
        snprintf(name, sizeof name, "malloc_usable_size() of bad pointers under HAKMEM_INVALID_FREE=%s", policies[k]);
        t_section(name);
        for (size_t i = 0; i < n; i++)
            if (list[i]->setup && list[i]->op == FOP_FREE && !list[i]->fatal && (!only || strstr(list[i]->name, only)))
                policy_run(list[i], self, policies[k], NULL, "usable");
    }
    if (dyn && so) {
        t_section("plain free() through LD_PRELOAD=libhakmem.so, default policy");
        for (size_t i = 0; i < n; i++)
            if (list[i]->setup && (!only || strstr(list[i]->name, only)))
                policy_run(list[i], dyn, NULL, so, "run");
    }
    return t_done();
#endif
}
