/* size_class.h: the size classes, one table (DESIGN.md 3).
 *
 * hak_class_stride[] is the only table: a class's stride is the distance
 * between two of its user pointers.  Tiny classes give up one byte of the
 * stride for the tag of the next slot (usable = stride - 1); mid classes
 * give 16 bytes for the header in front of the block (usable = stride - 16).
 * Strides are multiples of 16 so every user pointer is 16-aligned.
 * Tiny: 16-byte steps to 256, then eight classes per doubling (at most 12 %
 * rounding, which keeps peak RSS near glibc's); the last class (1040) exists
 * so that a 1024-byte request stays tiny.
 * Mid: four classes per doubling from 1280 B to 128 KiB of usable bytes.
 * Larger requests are Huge blocks (a mapping each, recycled through the
 * cache): a use after free of one faults, and realloc grows it in place. */
#ifndef HAK_SIZE_CLASS_H
#define HAK_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"

#define HAK_NTINY   33u
#define HAK_NMID    28u
#define HAK_NCLASS  61u

static const uint32_t hak_class_stride[HAK_NCLASS] = {
    /* tiny */
    16, 32, 48, 64, 80, 96, 112, 128,
    144, 160, 176, 192, 208, 224, 240, 256,
    288, 320, 352, 384, 416, 448, 480, 512,
    576, 640, 704, 768, 832, 896, 960, 1024,
    1040,
    /* mid: usable + 16 */
    1296, 1552, 1808, 2064, 2576, 3088, 3600, 4112,
    5136, 6160, 7184, 8208, 10256, 12304, 14352, 16400,
    20496, 24592, 28688, 32784, 40976, 49168, 57360, 65552,
    81936, 98320, 114704, 131088,
};

/* Tiny lookup: request n (0..1024) -> class, indexed by n / 16.  A request
 * n needs stride >= n + 1; entry k serves n in [16k, 16k+15]. */
static const uint8_t hak_tiny_lut[65] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23, 23,
    24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26, 27, 27, 27, 27,
    28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31,
    32,
};

static inline int hak_class_is_tiny(unsigned c) { return c < HAK_NTINY; }

/*@ // the usable bytes of class c, as the table defines them
    logic integer hak_usable{L}(integer c) =
      c < HAK_NTINY ? \at(hak_class_stride[c], L) - 1 : \at(hak_class_stride[c], L) - HAK_MID_HDR;
*/

/*@ // Every user pointer is 16-aligned: it is a chunk base (HAK_CHUNK-aligned)
    // + the offset of unit u + HAK_FIRST + i strides (types.h), and with the
    // strides multiples of HAK_ALIGN (hak_class_usable's `aligned`, proved
    // from the table) so is the sum.  A change of HAK_FIRST, HAK_SLAB or
    // HAK_CHUNK that breaks this fails the lemma.
    lemma hak_slot_aligned: \forall integer base, u, i, k;
      base % HAK_CHUNK == 0 ==> 0 <= u ==> 0 <= i ==>
      (base + u * HAK_SLAB + HAK_FIRST + i * (k * HAK_ALIGN)) % HAK_ALIGN == 0;
*/

/* usable bytes of class c */
/*@ requires c < HAK_NCLASS;
    assigns \nothing;
    ensures aligned: hak_class_stride[c] % HAK_ALIGN == 0 && hak_class_stride[c] > 0;
    ensures usable: \result == hak_usable(c);
    ensures tiny: c < HAK_NTINY ==> \result == hak_class_stride[c] - 1;
    ensures mid: c >= HAK_NTINY ==> \result == hak_class_stride[c] - HAK_MID_HDR;
    ensures increasing: c + 1 < HAK_NCLASS ==> hak_usable(c) < hak_usable(c + 1); */
static inline size_t hak_class_usable(unsigned c)
{
    return c < HAK_NTINY ? (size_t)hak_class_stride[c] - 1u
                         : (size_t)hak_class_stride[c] - HAK_MID_HDR;
}

/* tiny class of a request of n bytes, n <= HAK_TINY_MAXREQ */
/*@ requires n <= HAK_TINY_MAXREQ;
    assigns \nothing;
    ensures tier: \result < HAK_NTINY;
    ensures aligned: hak_class_stride[\result] % HAK_ALIGN == 0;
    ensures fits: hak_usable(\result) >= n;
    ensures smallest: \forall integer k; 0 <= k < \result ==> hak_usable(k) < n; */
static inline unsigned hak_tiny_class(size_t n)
{
    return hak_tiny_lut[n / 16u];
}

/* floor(log2(x)) for x = n - 1 of a mid request.  WP sees only this
 * prototype and its contract (trusted, proofs/README.md): Frama-C gives
 * __builtin_clzl no functional spec. */
/*@ requires 1024 <= x <= 1048575;
    assigns \nothing;
    ensures range: 10 <= \result <= 19;
    behavior e10: assumes x < 2048;            ensures \result == 10;
    behavior e11: assumes 2048 <= x < 4096;     ensures \result == 11;
    behavior e12: assumes 4096 <= x < 8192;     ensures \result == 12;
    behavior e13: assumes 8192 <= x < 16384;    ensures \result == 13;
    behavior e14: assumes 16384 <= x < 32768;   ensures \result == 14;
    behavior e15: assumes 32768 <= x < 65536;   ensures \result == 15;
    behavior e16: assumes 65536 <= x < 131072;  ensures \result == 16;
    behavior e17: assumes 131072 <= x < 262144; ensures \result == 17;
    behavior e18: assumes 262144 <= x < 524288; ensures \result == 18;
    behavior e19: assumes 524288 <= x;          ensures \result == 19;
    complete behaviors; disjoint behaviors; */
#ifdef __FRAMAC__
unsigned hak_log2(size_t x);
#else
static inline unsigned hak_log2(size_t x)
{
    return 63u - (unsigned)__builtin_clzl(x);
}
#endif

/* mid class of a request of n bytes, HAK_TINY_MAXREQ < n <= HAK_MID_MAXREQ:
 * e = floor(log2(n - 1)) picks the doubling, q the quarter within it. */
/*@ requires HAK_TINY_MAXREQ < n <= HAK_MID_MAXREQ;
    assigns \nothing;
    ensures tier: HAK_NTINY <= \result < HAK_NCLASS;
    ensures aligned: hak_class_stride[\result] % HAK_ALIGN == 0;
    ensures fits: hak_usable(\result) >= n;
    ensures smallest: \result == HAK_NTINY || hak_usable(\result - 1) < n; */
static inline unsigned hak_mid_class(size_t n)
{
    unsigned e = hak_log2(n - 1u);                         /* 10 .. 16 */
    size_t step = (size_t)1 << (e - 2u);
    size_t q = (n + step - 1u) / step;                     /* 5 .. 8 */
    return HAK_NTINY + (e - 10u) * 4u + (unsigned)(q - 5u);
}

/* class of any request up to HAK_MID_MAXREQ */
/*@ requires n <= HAK_MID_MAXREQ;
    assigns \nothing;
    ensures range: \result < HAK_NCLASS;
    ensures aligned: hak_class_stride[\result] % HAK_ALIGN == 0;
    ensures fits: hak_usable(\result) >= n;
    behavior tiny: assumes n <= HAK_TINY_MAXREQ;
      ensures \result < HAK_NTINY;
      ensures smallest: \forall integer k; 0 <= k < \result ==> hak_usable(k) < n;
    behavior mid: assumes n > HAK_TINY_MAXREQ;
      ensures HAK_NTINY <= \result;
      ensures smallest: \result == HAK_NTINY || hak_usable(\result - 1) < n;
    complete behaviors; disjoint behaviors; */
static inline unsigned hak_size_class(size_t n)
{
    return n <= HAK_TINY_MAXREQ ? hak_tiny_class(n) : hak_mid_class(n);
}
#endif
