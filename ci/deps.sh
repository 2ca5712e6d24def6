#!/usr/bin/env bash
# Install every Debian package hakmem's targets need.  Idempotent: a no-op when
# everything is present.  The list is the one place dependencies are named.
set -euo pipefail
PKGS=(
  gcc make binutils libc6-dev          # build
  clang libclang-rt-14-dev             # ASan/UBSan and libFuzzer runtimes; Scudo for bench/
  valgrind                             # memcheck + callgrind, <valgrind/*.h> client requests
  frama-c-base why3 z3 cvc4            # WP proofs (alt-ergo is not in Debian 12)
  afl++                                # AFL++ fuzzing
  python3 git sqlite3                  # real programs run under LD_PRELOAD by the tests
  libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4   # peers in bench/
  hyperfine gnuplot-nox                # bench runner helpers and the chart
  pkg-config procps time               # install test, RSS readings
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# why3 needs its prover list once per $HOME (TOOLCHAIN.md section 1).
if command -v why3 >/dev/null && ! grep -qs 'name = "Z3"' "$HOME/.why3.conf"; then
  why3 config detect >/dev/null 2>&1 || true
fi
echo "deps: ok"
