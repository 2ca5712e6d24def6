/* env.c: options, one table (STYLE.md 5.8).  Read once at init with
 * secure_getenv (ignored in setuid programs), which does not allocate. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "os.h"

hak_options_t hak_opt = {
    .invalid_free = HAK_POLICY_ABORT,
    .stats = 0,
    .purge_bytes = 512u << 10,
    .idle_bytes = 2048u << 10,
    .decay_ms = 500,
};

static void warn_bad(const char *name, const char *val)
{
    os_write(2, "hakmem: ignoring bad value of ", 30);
    os_write(2, name, strlen(name));
    os_write(2, "=", 1);
    os_write(2, val, strlen(val));
    os_write(2, "\n", 1);
}

static int parse_policy(const char *v, int *out)
{
    static const char *const names[] = { "abort", "warn", "ignore" };
    for (int i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0) { *out = i; return 0; }
    return -1;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true")) { *out = 1; return 0; }
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !*v) { *out = 0; return 0; }
    return -1;
}

/* a decimal number below 2^(64 - shift) / 10, shifted left by `shift` */
static int parse_num(const char *v, size_t *out, unsigned shift)
{
    size_t x = 0;
    if (!*v) return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || x > (SIZE_MAX >> (shift + 4))) return -1;
        x = x * 10 + (size_t)(*v - '0');
    }
    *out = x << shift;
    return 0;
}
static int parse_kib(const char *v, size_t *out) { return parse_num(v, out, 10); }

void env_init(void)
{
    const char *v;
    if ((v = secure_getenv("HAKMEM_INVALID_FREE")) && parse_policy(v, &hak_opt.invalid_free))
        warn_bad("HAKMEM_INVALID_FREE", v);
    if ((v = secure_getenv("HAKMEM_STATS")) && parse_bool(v, &hak_opt.stats))
        warn_bad("HAKMEM_STATS", v);
    if ((v = secure_getenv("HAKMEM_PURGE_KB")) && parse_kib(v, &hak_opt.purge_bytes))
        warn_bad("HAKMEM_PURGE_KB", v);
    if ((v = secure_getenv("HAKMEM_IDLE_KB")) && parse_kib(v, &hak_opt.idle_bytes))
        warn_bad("HAKMEM_IDLE_KB", v);
    size_t ms;
    if ((v = secure_getenv("HAKMEM_DECAY_MS"))) {
        if (parse_num(v, &ms, 0) || ms > 3600000u) warn_bad("HAKMEM_DECAY_MS", v);
        else hak_opt.decay_ms = (uint32_t)ms;
    }
}
