/* glibc_names.c: glibc's own names for its allocator, and malloc_info
 * (issue 13).  Programs and tools call __libc_malloc & co. to reach "the
 * real malloc"; if those stayed glibc's, a block from __libc_malloc freed by
 * free() (or the reverse) would cross two allocators.  Checks: every name is
 * hakmem's (dladdr), blocks from each __libc_* call are live hakmem blocks
 * (hak_classify_ptr), free() frees a __libc_malloc block and __libc_free a
 * malloc block (afterwards the pointer classifies as a double free), the
 * glibc semantics (calloc zeroes and ENOMEM, realloc keeps content,
 * alignments), and malloc_info: EINVAL for options, glibc's XML skeleton
 * element for element (compared with libc.so.6's own malloc_info), figures
 * that match hak_get_stats and follow Huge allocations.
 * Built static (libhakmem.a) and dyn (LD_PRELOAD, hak_* through dlsym). */
#include "testlib.h"
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* the code at fn is not the C library's: hakmem's (libhakmem.so, or this
 * executable when linked with libhakmem.a) */
static int not_libc(void *fn, const char **where)
{
    Dl_info info;
    *where = "(nothing)";
    if (!fn || !dladdr(fn, &info) || !info.dli_fname) return 0;
    *where = info.dli_fname;
#ifdef HAK_DYN
    return strstr(info.dli_fname, "libhakmem") != NULL;
#else
    return strstr(info.dli_fname, "libc.so") == NULL;
#endif
}

static int live(void *p) { return HK(hak_classify_ptr)(p) == HAK_FREE_OK; }

static void test_bindings(int *free_ok)
{
    struct { const char *name; void *fn; } fns[] = {
        { "__libc_malloc", (void *)__libc_malloc }, { "__libc_free", (void *)__libc_free },
        { "__libc_calloc", (void *)__libc_calloc }, { "__libc_realloc", (void *)__libc_realloc },
        { "__libc_memalign", (void *)__libc_memalign }, { "__libc_valloc", (void *)__libc_valloc },
        { "__libc_pvalloc", (void *)__libc_pvalloc }, { "malloc_info", (void *)malloc_info },
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        const char *where;
        int ok = not_libc(fns[i].fn, &where);
        CHECK(ok, "%s is the C library's (%s), not hakmem's", fns[i].name, where);
        if (!strcmp(fns[i].name, "__libc_free")) *free_ok = ok;
    }
}

/* one allocator: blocks cross between the two sets of names */
static void test_crossing(int libc_free_is_ours)
{
    unsigned char *p = __libc_malloc(100);
    CHECK(p && live(p), "__libc_malloc(100) = %p is not a live hakmem block (%s)", (void *)p,
          p ? t_vname(HK(hak_classify_ptr)(p)) : "NULL");
    if (p && live(p)) {
        t_fill(p, 100, 1);
        free(p);   /* must be hakmem's own business */
        CHECK(HK(hak_classify_ptr)(p) == HAK_FREE_DOUBLE, "free(__libc_malloc block): classify after = %s",
              t_vname(HK(hak_classify_ptr)(p)));
    }   /* else leaked: hakmem's free() would reject it as foreign */

    unsigned char *q = malloc(200);
    CHECK(q && live(q), "malloc(200) is hakmem's");
    if (libc_free_is_ours && q) {   /* glibc's __libc_free would abort on hakmem's block */
        __libc_free(q);
        CHECK(HK(hak_classify_ptr)(q) == HAK_FREE_DOUBLE, "__libc_free(malloc block): classify after = %s",
              t_vname(HK(hak_classify_ptr)(q)));
    }

    /* a big one and an aligned one, through both sets of names */
    void *h = __libc_malloc(3u << 20);
    CHECK(h && live(h), "__libc_malloc(3 MiB) is a live hakmem block");
    if (h && live(h)) free(h);
    void *m = memalign(4096, 5000);
    CHECK(m && live(m), "memalign(4096, 5000) is hakmem's");
    if (libc_free_is_ours && m) {
        __libc_free(m);
        CHECK(HK(hak_classify_ptr)(m) != HAK_FREE_OK, "__libc_free(memalign block) freed it");
    }
}

static void test_semantics(int libc_free_is_ours)
{
    unsigned char *c = __libc_calloc(100, 10);
    CHECK(c && live(c), "__libc_calloc(100, 10) is hakmem's");
    size_t nz = 0;
    for (size_t i = 0; c && i < 1000; i++) nz += c[i] != 0;
    CHECK(c && nz == 0, "__libc_calloc: %zu nonzero bytes", nz);
    errno = 0;
    void *bad = __libc_calloc(SIZE_MAX / 2, 3);
    CHECK(bad == NULL && errno == ENOMEM, "__libc_calloc(SIZE_MAX/2, 3) = %p errno %d", bad, errno);

    unsigned char *r = __libc_malloc(50);
    if (r) t_fill(r, 50, 7);
    unsigned char *r2 = __libc_realloc(r, 5000);
    CHECK(r2 && live(r2) && t_verify(r2, 50, 7) == (size_t)-1, "__libc_realloc(50 -> 5000) keeps content");
    unsigned char *r3 = r2 && live(r2) ? realloc(r2, 20) : NULL;   /* hakmem's realloc rejects glibc blocks */
    CHECK(r3 && live(r3) && t_verify_prefix(r3, 20, 50, 7) == (size_t)-1, "realloc of a __libc_realloc block");

    void *a = __libc_memalign(256, 1000);
    CHECK(a && live(a) && (uintptr_t)a % 256 == 0, "__libc_memalign(256, 1000) = %p", a);
    void *v = __libc_valloc(100);
    CHECK(v && live(v) && (uintptr_t)v % 4096 == 0, "__libc_valloc(100) = %p", v);
    void *pv = __libc_pvalloc(100);
    CHECK(pv && live(pv) && (uintptr_t)pv % 4096 == 0 && malloc_usable_size(pv) >= 4096,
          "__libc_pvalloc(100) = %p usable %zu", pv, pv ? malloc_usable_size(pv) : 0);
    CHECK(HK(hak_free_checked)(__libc_malloc(10)) == HAK_FREE_OK, "hak_free_checked(__libc_malloc(10))");
    void *list[] = { c, r3, a, v, pv };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (!list[i] || !live(list[i])) continue;   /* a glibc block: not ours to free */
        if (libc_free_is_ours && i % 2) __libc_free(list[i]);
        else free(list[i]);
    }
}

/* ---------------------------------------------------------- malloc_info */

/* fn's XML; *st (when given) is taken right before, with nothing allocated in between */
static char *info_of(int (*fn)(int, FILE *), int *rc, hak_stats *st)
{
    static char buf[1 << 16];
    static char iobuf[1 << 14];   /* the stream's buffer, so that writing allocates nothing */
    FILE *f = tmpfile();
    if (!f) { *rc = -100; return NULL; }
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    if (st) HK(hak_get_stats)(st);
    *rc = fn(0, f);
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strdup(buf);
}

/* the XML's skeleton: per line, the element name and its attribute names,
 * without the per-size lines (which list whatever is free or in use) */
static char *skeleton(const char *xml)
{
    size_t cap = strlen(xml) + 1, k = 0;
    char *out = malloc(cap);
    for (const char *l = xml; l && *l;) {
        const char *e = strchr(l, '\n');
        if (!e) e = l + strlen(l);
        while (l < e && *l == ' ') l++;
        if (strncmp(l, "<size ", 6) && strncmp(l, "<unsorted ", 10)) {
            int in_value = 0;
            for (const char *c = l; c < e; c++) {
                if (*c == '"') { in_value = !in_value; continue; }
                if (!in_value) out[k++] = *c;
            }
            out[k++] = '\n';
        }
        l = *e ? e + 1 : e;
    }
    out[k] = 0;
    return out;
}

/* the value of attribute attr on the first line containing tag */
static unsigned long long field(const char *xml, const char *tag, const char *attr)
{
    const char *l = xml ? strstr(xml, tag) : NULL;
    if (!l) return ~0ull;
    const char *e = strchr(l, '\n');
    char key[32];
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *a = strstr(l, key);
    if (!a || (e && a > e)) return ~0ull;
    return strtoull(a + strlen(key), NULL, 10);
}

static void test_malloc_info(void)
{
    errno = 0;
    CHECK(malloc_info(1, stderr) == EINVAL, "malloc_info(1, ...) must return EINVAL (glibc)");

    int rc;
    hak_stats st;
    void *small[5];
    for (int i = 0; i < 5; i++) small[i] = malloc(100);
    char *ours = info_of(malloc_info, &rc, &st);
    CHECK(rc == 0 && ours && !strncmp(ours, "<malloc version=\"1\">\n", 21), "malloc_info(0, f) = %d", rc);
    CHECK(field(ours, "<system type=\"current\"", "size") == st.committed,
          "system current %llu, hak_get_stats committed %llu", field(ours, "<system type=\"current\"", "size"),
          (unsigned long long)st.committed);
    CHECK(field(ours, "<system type=\"max\"", "size") == st.peak_committed, "system max = peak committed");
    /* the class of a 100-byte request lists at least our 5 blocks */
    int seen = 0;
    for (const char *l = ours; l && (l = strstr(l, "<size ")); l++)
        if (field(l, "<size ", "from") <= 100 && field(l, "<size ", "to") >= 100)
            seen = field(l, "<size ", "count") >= 5;
    CHECK(seen, "no <size> line for 100-byte blocks with count >= 5:\n%s", ours ? ours : "");

    /* Huge blocks are glibc's mmapped chunks */
    unsigned long long c0 = field(ours, "<total type=\"mmap\"", "count"), s0 = field(ours, "<total type=\"mmap\"", "size");
    void *h[3];
    size_t want = 0;
    for (int i = 0; i < 3; i++) { h[i] = malloc((2u + i) << 20); want += HK(hak_usable_size)(h[i]); }
    char *more = info_of(malloc_info, &rc, NULL);
    CHECK(field(more, "<total type=\"mmap\"", "count") == c0 + 3 &&
          field(more, "<total type=\"mmap\"", "size") == s0 + want,
          "mmap count %llu -> %llu (want +3), size %llu -> %llu (want +%zu)", c0,
          field(more, "<total type=\"mmap\"", "count"), s0, field(more, "<total type=\"mmap\"", "size"), want);
    for (int i = 0; i < 3; i++) free(h[i]);
    for (int i = 0; i < 5; i++) free(small[i]);

    /* glibc's shape, element for element: its own malloc_info, from libc.so.6 */
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    int (*glibc_info)(int, FILE *) = libc ? (int (*)(int, FILE *))dlsym(libc, "malloc_info") : NULL;
    CHECK(glibc_info && (void *)glibc_info != (void *)malloc_info, "libc.so.6's own malloc_info not found");
    if (glibc_info && (void *)glibc_info != (void *)malloc_info) {
        char *theirs = info_of(glibc_info, &rc, NULL);
        char *a = skeleton(ours), *b = skeleton(theirs);
        CHECK(rc == 0 && !strcmp(a, b), "malloc_info skeleton differs from glibc's:\n--- hakmem\n%s--- glibc\n%s", a, b);
        free(a); free(b); free(theirs);
    }
    if (libc) dlclose(libc);
    free(ours); free(more);
}

int main(void)
{
    if (t_load_hak()) {
        printf("FAIL: libhakmem not loaded\n");
        t_failed++;
        return t_done();
    }
    int libc_free_is_ours = 0;
    t_section("the __libc_* names and malloc_info are hakmem's");
    test_bindings(&libc_free_is_ours);
    t_section("__libc_malloc/free and malloc/free are one allocator");
    test_crossing(libc_free_is_ours);
    t_section("__libc_calloc, __libc_realloc, __libc_memalign, __libc_valloc, __libc_pvalloc");
    test_semantics(libc_free_is_ours);
    t_section("malloc_info");
    test_malloc_info();
    CHECK(HK(hak_heap_check)() == 0, "hak_heap_check() at the end");
    return t_done();
}
