/* os.h: the only door to the kernel (STYLE.md 5.7).  No other file calls
 * mmap, munmap, mremap, madvise or mincore (ci/lint.sh checks it).
 * Every function preserves errno. */
#ifndef HAK_OS_H
#define HAK_OS_H

#include <stddef.h>
#include <stdint.h>

/* Fresh zeroed read-write memory of len bytes (len > 0, multiple of the page),
 * aligned to align (a power of two >= page).  NULL when the kernel says no. */
void *os_map(size_t len, size_t align);
/* Unmap [p, p+len): p and len page-aligned. */
void  os_unmap(void *p, size_t len);
/* Give the pages of [p, p+len) back; they stay mapped and read as zero. */
void  os_purge(void *p, size_t len);
/* Grow or shrink the mapping [p, p+oldlen) to newlen bytes, keeping its
 * contents and returning a mapping aligned to align (p may move).  NULL on
 * failure, the old mapping intact. */
void *os_remap(void *p, size_t oldlen, size_t newlen, size_t align);
/* 1 if the page at page (page-aligned) is mapped, 0 otherwise (including
 * non-canonical addresses).  Reads nothing.  Contract assumed by the proofs
 * (proofs/README.md): hak_mapped is the kernel's answer, a snapshot. */
/*@ axiomatic hak_os_model {
      predicate hak_mapped(integer page);
    } */
/*@ requires aligned: page % 4096 == 0;    // HAK_PAGE
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures model: \result == 1 <==> hak_mapped(page); */
int   os_page_mapped(uintptr_t page);
/* Fill buf with n random bytes (getrandom, with a weaker fallback). */
void  os_random(void *buf, size_t n);
/* Write all of buf to fd, retrying short writes; never allocates. */
void  os_write(int fd, const char *buf, size_t n);
/* Raise SIGABRT and never return. */
_Noreturn void os_abort(void);
size_t os_page_size(void);
/* Coarse monotonic milliseconds (a few ms resolution, vDSO: no system call),
 * for the decay of empty spans and dirty pages.  Wraps after 49 days: callers
 * compare differences. */
uint32_t os_now_ms(void);
#endif
