#!/usr/bin/env bash
# hookcost.sh DIR BUDGET: the price of the tool hooks on the normal build's
# fast path.  DIR/hooks/hookcost links the library as it is, DIR/nohooks/
# hookcost one compiled with -DHAK_NO_TOOL_HOOKS.  Callgrind counts the
# instructions of N malloc(16)+free pairs (exact, repeatable); wall-clock
# ns/pair is the median of 5 runs of each, interleaved (noisy on a shared
# machine: a figure, not a verdict).  Fails when the hooks cost more than
# BUDGET instructions per pair, or when src/ has no HAK_NO_TOOL_HOOKS (then
# both builds are the same and the comparison says nothing).
set -u
D=$1 BUDGET=${2:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
N=200000
pass=0 fail=0
declare -A ir
for v in hooks nohooks; do
    out=$(valgrind --tool=callgrind --toggle-collect=pairs --callgrind-out-file=/dev/null \
          "$D/$v/hookcost" cg $N 2>&1)
    c=$(printf '%s\n' "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -n1)
    ir[$v]=${c:-0}
done
per() { awk -v a="$1" -v n=$N 'BEGIN { printf "%.2f", a / n }'; }
hp=$(per "${ir[hooks]}") np=$(per "${ir[nohooks]}")
diff=$(awk -v a="${ir[hooks]}" -v b="${ir[nohooks]}" -v n=$N 'BEGIN { printf "%.2f", (a - b) / n }')
echo "callgrind, malloc(16)+free: hooks ${hp} Ir/pair, -DHAK_NO_TOOL_HOOKS ${np} Ir/pair: hooks cost ${diff} Ir/pair"
declare -A runs
for r in 1 2 3 4 5; do
    for v in hooks nohooks; do
        t=$("$D/$v/hookcost" time 5000000 1 | sed -n 's/^median \([0-9.]*\).*/\1/p')
        runs[$v]="${runs[$v]:-} $t"
    done
done
for v in hooks nohooks; do
    med=$(printf '%s\n' ${runs[$v]} | sort -n | sed -n 3p)
    echo "wall clock $v: median $med ns/pair (runs:${runs[$v]})"
done
if [ "${ir[hooks]}" = 0 ] || [ "${ir[nohooks]}" = 0 ]; then
    fail=$((fail + 1)); echo "FAIL callgrind gave no count"
elif ! grep -q HAK_NO_TOOL_HOOKS "$HERE/../../src/sanitize.h"; then
    fail=$((fail + 1)); echo "FAIL src/sanitize.h has no HAK_NO_TOOL_HOOKS: both builds are the same, nothing measured"
elif awk -v d="$diff" -v b="$BUDGET" 'BEGIN { exit !(d <= b) }'; then
    pass=$((pass + 1)); echo "ok   hooks cost ${diff} Ir/pair <= budget ${BUDGET}"
else
    fail=$((fail + 1)); echo "FAIL hooks cost ${diff} Ir/pair > budget ${BUDGET}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
