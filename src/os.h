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
/* len bytes (multiple of the page) of fresh address space at an address p
 * with p % align == phase (align a power of two >= page, phase < align, a
 * multiple of the page), readable and writable (rw != 0) or PROT_NONE; no
 * memory is committed until touched.  NULL when the kernel says no. */
void *os_reserve(size_t len, size_t align, size_t phase, int rw);
/* Make [p, p+len) readable and writable (rw != 0) or inaccessible (rw == 0).
 * 0, or -1 when the kernel says no (the range is then unchanged). */
int   os_protect(void *p, size_t len, int rw);
/* Move the pages of [src, src+len) to [dst, dst+len), replacing what was
 * mapped there, without copying them.  keep != 0: src stays mapped, empty
 * (Linux 5.7), returns 1; keep == 0: src is unmapped, returns 0.  -1:
 * nothing moved (the kernel cannot keep src, or, before Linux 6.17, the
 * range spans several mappings). */
int   os_move(void *src, size_t len, void *dst, int keep);
/* Replace the mapping [p, p+len) (ours) by PROT_NONE address space: any
 * access faults, and its pages are freed.  0, or -1 (nothing changed). */
int   os_hole(void *p, size_t len);
/* Map PROT_NONE address space at exactly [p, p+len), which must be unmapped:
 * 0, or -1 when anything is mapped there (nothing changed). */
int   os_hole_at(void *p, size_t len);
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
