#!/bin/sh
# Preprocessor wrapper for Frama-C 25, which cannot parse C11 _Atomic: its
# libc defines the keyword to nothing, and then the _Atomic(T) spelling used
# in src/types.h is a syntax error.  On the main pass the prelude maps
# _Atomic(T) to T, and the sed pass drops the remaining bare qualifiers
# (not on # lines, which carry the -dD macro definitions).  Atomicity does
# not matter to WP's snapshot model (proofs/README.md, trusted base).
# frama-c calls it as: fc-cpp.sh <cpp args> <input> -o <output>
set -e
out=
pre=
for a in "$@"; do
    case $a in -D__FRAMAC__) pre="-include $(dirname "$0")/fc_prelude.h" ;; esac
done
args=
while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then out=$2; shift 2; continue; fi
    args="$args '$1'"
    shift
done
eval gcc -E -C $pre $args -o "'$out.raw'"
sed '/^[[:space:]]*#/!s/\b_Atomic\b//g' "$out.raw" > "$out"
rm -f "$out.raw"
