#!/usr/bin/env bash
# tsan.sh DIR: runs the TSan-built tests; any data-race report fails.
set -u
D=$1
HERE=$(cd "$(dirname "$0")" && pwd)
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 report_signal_unsafe=0 suppressions=$HERE/tsan.supp ${TSAN_OPTIONS:-}"
fail=0 pass=0
for t in threads churn forkt; do
    echo "=== tsan: $t"
    # forkt's children start threads after a multi-threaded fork, which TSan
    # cannot model (it dies unless told to carry on); the races it can see
    # are still reported
    extra=""; [ "$t" = forkt ] && extra="die_after_fork=0"
    out=$(env TSAN_OPTIONS="$TSAN_OPTIONS $extra" T_NO_RSS=1 T_GENS=200 T_ITERS=20000 T_ROUNDS=10 T_FORKS=4 timeout 600 "$D/t-$t" 2>&1); rc=$?
    n=$(printf '%s\n' "$out" | grep -c '^WARNING: ThreadSanitizer')
    printf '%s\n' "$out" | grep -E 'passed, [0-9]+ failed$|^WARNING: ThreadSanitizer' | sort | uniq -c
    if [ "$rc" != 0 ] || [ "$n" != 0 ]; then
        fail=$((fail + 1)); echo "FAIL tsan $t: exit $rc, $n reports"
        printf '%s\n' "$out" | grep -A14 '^WARNING: ThreadSanitizer' | head -120
        printf '%s\n' "$out" | grep -E '^FAIL ' | head -20   # failed checks, with their messages
    else
        pass=$((pass + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
