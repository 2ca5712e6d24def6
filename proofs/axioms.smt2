; Checks of the trusted axioms of freelist.h (axiomatic hak_wrap): each query is unsat.
; Run: z3 proofs/axioms.smt2   (expected output: unsat, unsat)
; hak_uintptr_wrap: C's conversion to a 64-bit unsigned is reduction mod 2^64.
(push)
(declare-const x Int)
(assert (and (<= (- 18446744073709551616) x) (< x 0)))
(assert (not (= (mod x 18446744073709551616) (+ x 18446744073709551616))))
(check-sat)
(pop)
; hak_xor_u64: xor of two values below 2^64 is below 2^64 (bit-vector xor of
; the 64-bit encodings, read back as an unsigned integer).
(push)
(declare-const a (_ BitVec 64))
(declare-const b (_ BitVec 64))
(assert (not (and (<= 0 (bv2int (bvxor a b))) (<= (bv2int (bvxor a b)) 18446744073709551615))))
(check-sat)
(pop)
