/* os.h: the only door to the kernel (STYLE.md 5.7).  No other file calls
 * mmap, munmap, mremap, mprotect, madvise or mincore (ci/lint.sh checks it).
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
/* Address space of len bytes (multiple of the page) aligned to align (a power
 * of two >= page), PROT_NONE and without memory behind it.  NULL when the
 * kernel says no. */
void *os_reserve(size_t len, size_t align);
/* Make [p, p+len) readable and writable (rw != 0) or inaccessible (rw == 0).
 * 0, or -1 when the kernel says no (the range is then unchanged). */
int   os_protect(void *p, size_t len, int rw);
/* Move the pages of [src, src+len) to [dst, dst+len), replacing what was
 * mapped there, without copying them; src is then unmapped.  0, or -1 with
 * both ranges unchanged (older kernels refuse a range spanning several
 * mappings). */
int   os_move(void *src, size_t len, void *dst);
/* Grow the mapping [p, p+oldlen), which must be one mapping, to newlen bytes
 * where it lies, with its protection.  0, or -1 when the address space above
 * is taken (nothing changed). */
int   os_grow(void *p, size_t oldlen, size_t newlen);
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
/* A monotonic clock in milliseconds, cheap (coarse: a few ms of resolution). */
uint64_t os_now_ms(void);
#endif
