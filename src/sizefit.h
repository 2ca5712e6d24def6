/* sizefit.h: the size test of the sized-free fast path (issue 12).
 *
 * A live Tiny block of class cls at its own start was made by malloc(n)
 * exactly when cls is the class of n: the smallest class whose usable size
 * holds n.  free_dispatch.c's fast accept of free_sized and of C++ sized
 * delete asks only this; everything else goes to sized.c. */
#ifndef HAK_SIZEFIT_H
#define HAK_SIZEFIT_H

#include "size_class.h"

/*@ // n is what malloc(n) asks of a Tiny block of class cls (also the free fast path's contract, free_fast.h)
    predicate hak_tiny_fits(integer n, integer cls) =
      n <= HAK_TINY_MAXREQ && cls < HAK_NTINY && n <= hak_usable(cls) && (cls == 0 || hak_usable(cls - 1) < n);
*/
/*@ requires cls < HAK_NCLASS;
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures fits: \result == 1 <==> hak_tiny_fits(n, cls); */
static inline int hak_tiny_size_fits(size_t n, unsigned cls)
{
    return n <= HAK_TINY_MAXREQ && hak_tiny_class(n) == cls;
}
/* The same for a live Mid block at its own start (free_dispatch.c:
 * free_mid, the sized frees' fast accept): cls is the class of n. */
/*@ requires cls < HAK_NCLASS;
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures fits: \result == 1 <==>
      (HAK_TINY_MAXREQ < n <= HAK_MID_MAXREQ && HAK_NTINY <= cls && n <= hak_usable(cls) &&
       (cls == HAK_NTINY || hak_usable(cls - 1) < n)); */
static inline int hak_mid_size_fits(size_t n, unsigned cls)
{
    return n > HAK_TINY_MAXREQ && n <= HAK_MID_MAXREQ && hak_mid_class(n) == cls;
}
#endif
