/* report.c: every message hakmem writes about a bad pointer or corrupt
 * metadata, and the verdict names they use (STYLE.md 5.6).
 *
 * One line per event, built on the stack and written with write(2): nothing
 * here allocates, so it is safe on a corrupted heap.  hak_report() applies
 * HAKMEM_INVALID_FREE to a rejected operation; hak_fatal() is for metadata
 * that no policy can make safe to use. */
#include <string.h>
#include "internal.h"
#include "os.h"

static const char *const status_names[HAK_FREE_NSTATUS] = {
    "ok", "null", "foreign", "unmapped", "invalid", "double-free", "size-mismatch",
};

const char *hak_free_status_name(hak_free_status s)
{
    return (unsigned)s < HAK_FREE_NSTATUS ? status_names[s] : "unknown";
}

static char *put_hex(char *p, uintptr_t v)
{
    *p++ = '0'; *p++ = 'x';
    int started = 0;
    for (int sh = 60; sh >= 0; sh -= 4) {
        unsigned d = (unsigned)(v >> sh) % 16u;
        if (d || started || sh == 0) { *p++ = "0123456789abcdef"[d]; started = 1; }
    }
    return p;
}

/* "hakmem: fn(): what at 0x..." */
static void write_line(const char *fn, const char *what, const void *p)
{
    char buf[160], *q = buf;
    size_t n;
    memcpy(q, "hakmem: ", 8); q += 8;
    n = strlen(fn); if (n > 40) n = 40; memcpy(q, fn, n); q += n;
    memcpy(q, "(): ", 4); q += 4;
    n = strlen(what); if (n > 70) n = 70; memcpy(q, what, n); q += n;
    memcpy(q, " at ", 4); q += 4;
    q = put_hex(q, (uintptr_t)p);
    *q++ = '\n';
    os_write(2, buf, (size_t)(q - buf));
}

/* Heap metadata is corrupt: no policy can make continuing safe. */
HAK_COLD _Noreturn void hak_fatal(const char *msg, const void *p)
{
    write_line("hakmem", msg, p);
    os_abort();
}

/* A rejected operation on p (verdict st, already refined by the caller):
 * count it, then abort / warn / ignore per policy. */
HAK_COLD void hak_report(hak_free_status st, const void *p, const char *fn)
{
    atomic_fetch_add_explicit(&hak_rejected[st], 1, memory_order_relaxed);
    if (hak_opt.invalid_free == HAK_POLICY_IGNORE) return;
    char what[48] = "invalid pointer (";
    size_t n = strlen(what);
    const char *name = hak_free_status_name(st);
    size_t m = strlen(name);
    memcpy(what + n, name, m);
    what[n + m] = ')';
    what[n + m + 1] = 0;
    write_line(fn, what, p);
    if (hak_opt.invalid_free == HAK_POLICY_ABORT) os_abort();
}
