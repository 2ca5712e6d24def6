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
    .huge_cache_bytes = (size_t)256 << 20,
    .huge_decay_ms = 1000,
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

/* HAKMEM_HARDEN: `default` (the checks that are always on) or `full` */
static int parse_harden(const char *v, int *out)
{
    if (!strcmp(v, "default") || !*v) { *out = 0; return 0; }
    if (!strcmp(v, "full")) { *out = 1; return 0; }
    return -1;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true")) { *out = 1; return 0; }
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !*v) { *out = 0; return 0; }
    return -1;
}

/* a decimal number below 2^53, no sign, no suffix */
static int parse_uint(const char *v, uint64_t *out)
{
    uint64_t x = 0;
    if (!*v) return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || x > ((uint64_t)1 << 53) / 10) return -1;
        x = x * 10 + (uint64_t)(*v - '0');
    }
    *out = x;
    return 0;
}

static int parse_kib(const char *v, size_t *out)
{
    uint64_t x;
    if (parse_uint(v, &x) || x > (SIZE_MAX >> 11)) return -1;
    *out = (size_t)x << 10;
    return 0;
}

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
    uint64_t ms;
    if ((v = secure_getenv("HAKMEM_DECAY_MS"))) {
        if (parse_uint(v, &ms) || ms > 3600000u) warn_bad("HAKMEM_DECAY_MS", v);
        else hak_opt.decay_ms = (uint32_t)ms;
    }
    if ((v = secure_getenv("HAKMEM_HUGE_CACHE_KB")) && parse_kib(v, &hak_opt.huge_cache_bytes))
        warn_bad("HAKMEM_HUGE_CACHE_KB", v);
    if ((v = secure_getenv("HAKMEM_HARDEN")) && parse_harden(v, &hak_opt.harden_full))
        warn_bad("HAKMEM_HARDEN", v);
    if ((v = secure_getenv("HAKMEM_HUGE_DECAY_MS")) && parse_uint(v, &hak_opt.huge_decay_ms))
        warn_bad("HAKMEM_HUGE_DECAY_MS", v);
}
