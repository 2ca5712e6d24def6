#!/usr/bin/env bash
# run.sh TESTDIR LIBHAKMEM_SO: runs every test program in turn, shows its
# output, and sums the closing "N passed, M failed" lines.  A program that
# dies or times out without its closing line counts as one failure.
# Prints the grand total as the last line; exit 1 when anything failed.
set -u
D=$1
SO=$(readlink -f "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
unset HAKMEM_INVALID_FREE HAKMEM_STATS HAKMEM_HARDEN LD_PRELOAD
total_p=0 total_f=0 summary=""
run() {
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS out rc line p f
    echo "=== $name"
    out=$(timeout "$limit" "$@" 2>&1); rc=$?
    echo "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
    else
        p=0 f=1
        echo "FAIL $name: no closing line (exit $rc$([ $rc = 124 ] && echo ', timed out after '"$limit"' s'))"
    fi
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1; echo "FAIL $name: exit status $rc"
    fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    summary+=$(printf '%-44s %5s passed %3s failed  %3ss' "$name" "$p" "$f" $((SECONDS - t0)))$'\n'
}
run "api (libhakmem.a)"                     60 "$D/api"
run "api (LD_PRELOAD, plain names)"         60 env LD_PRELOAD="$SO" "$D/api_dyn"
run "api (libhakmem.a, STATS=1, warn)"      60 env HAKMEM_STATS=1 HAKMEM_INVALID_FREE=warn "$D/api"
run "__libc_* names, malloc_info (libhakmem.a)" 60 "$D/glibc_names"
run "__libc_* names, malloc_info (LD_PRELOAD)"   60 env LD_PRELOAD="$SO" "$D/glibc_names_dyn"
run "bad pointers + abort/warn/ignore"     300 "$D/faults" --dyn "$D/faults_dyn" --so "$SO"
run "hardening (libhakmem.a)"              120 "$D/harden"
run "hardening (LD_PRELOAD)"               120 env LD_PRELOAD="$SO" "$D/harden_dyn"
run "full mode: default mode unaffected"   60 "$D/harden_full"
run "full mode (HAKMEM_HARDEN=full)"       120 env HAKMEM_HARDEN=full "$D/harden_full"
run "hardening, full mode (LD_PRELOAD)"    120 env HAKMEM_HARDEN=full LD_PRELOAD="$SO" "$D/harden_dyn"
run "huge tier, full mode (libhakmem.a)"   120 env HAKMEM_HARDEN=full HAKMEM_HUGE_DECAY_MS=300 "$D/huge"
run "fork + threads, full mode (LD_PRELOAD)" 90 env HAKMEM_HARDEN=full T_FORKS=20 LD_PRELOAD="$SO" "$D/forkt_dyn"
run "threads (libhakmem.a)"                120 "$D/threads"
run "threads (LD_PRELOAD)"                 120 env T_ITERS=100000 T_ROUNDS=30 T_SEED=2 LD_PRELOAD="$SO" "$D/threads_dyn"
run "fork + threads (libhakmem.a)"          90 "$D/forkt"
run "fork + threads (LD_PRELOAD)"           90 env T_FORKS=20 LD_PRELOAD="$SO" "$D/forkt_dyn"
run "RSS after free (libhakmem.a)"          90 "$D/rss"
run "RSS, no idle budget (libhakmem.a)"     60 env HAKMEM_IDLE_KB=0 HAKMEM_PURGE_KB=0 T_RSS_ZERO=1 "$D/rss"
run "thread churn: no growth (libhakmem.a)" 240 "$D/churn"
run "racing frees of one pointer (libhakmem.a)" 120 "$D/races"
# address space below the slab arena's reservation: chunks from os_map, frees through the full gate
run "racing frees, no slab arena (ulimit -v)" 120 bash -c 'ulimit -v 4194304 && T_ARENA=0 T_TRIALS=5000 exec "$0"' "$D/races"
run "grid test by reciprocal (white box)"   120 "$D/grid"
run "huge tier (libhakmem.a)"              120 env HAKMEM_HUGE_DECAY_MS=300 "$D/huge"
run "huge tier, cache off (libhakmem.a)"   120 env HAKMEM_HUGE_CACHE_KB=0 T_RACE_TRIALS=2 "$D/huge"
run "real programs (LD_PRELOAD)"           300 bash "$HERE/realprogs.sh" "$SO"
run "real programs, full mode (LD_PRELOAD)" 300 env HAKMEM_HARDEN=full bash "$HERE/realprogs.sh" "$SO"
echo "=== summary"
printf '%s' "$summary"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
