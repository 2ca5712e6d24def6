#!/usr/bin/env bash
# fuzz/run.sh MODE SECONDS TARGET...   (called by fuzz/fuzz.mk)
#   lf      libFuzzer, SECONDS per target
#   afl     AFL++, SECONDS per target
#   replay  run every file of fuzz/regressions/<target>/ once (libFuzzer build)
#   smoke   replay, then SECONDS of libFuzzer and of AFL++ per target
# Env: FUZZ_BIN (default build/fuzz) holds lf/ and afl/ binaries; FUZZ_OUT
# (default fuzz/out) gets corpora, logs and crashes.  Exit status 1 when any
# target crashed, failed a check or tripped a sanitizer; the reproducer's
# path is printed on a line starting with "REPRODUCER:".
set -u
mode=${1:?mode}; secs=${2:?seconds}; shift 2
targets=("$@")
bin=${FUZZ_BIN:-build/fuzz}
out=${FUZZ_OUT:-fuzz/out}
here=$(cd "$(dirname "$0")" && pwd)
fail=0
summary=()

# Reports from the sanitizers must end the process with an error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

seeds_of() { echo "$here/corpus/$1"; }
dict_of() { [ -f "$here/dict/$1.dict" ] && echo "$here/dict/$1.dict"; }

run_lf() {   # target seconds
    local t=$1 s=$2 b="$bin/lf/fuzz_$1" d="$out/lf/$1"
    mkdir -p "$d/corpus" "$d/artifacts"
    # Work on a copy so the committed seeds stay small.
    cp -n "$(seeds_of "$t")"/* "$d/corpus/" 2>/dev/null
    local dict; dict=$(dict_of "$t")
    local log="$d/log.txt"
    "$b" -max_total_time="$s" -print_final_stats=1 -rss_limit_mb=4096 -timeout=20 \
        -max_len=4096 -artifact_prefix="$d/artifacts/" ${dict:+-dict="$dict"} "$d/corpus" >"$log" 2>&1
    local rc=$?
    local execs eps cov ft
    execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log" | tail -n1)
    eps=$(awk '/stat::average_exec_per_sec/{print $2}' "$log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
    local line="libFuzzer $t: ${s}s execs=${execs:-?} exec/s=${eps:-?} cov=${cov:-?} ft=${ft:-?}"
    if [ $rc -ne 0 ]; then
        fail=1
        line="$line FAILED rc=$rc"
        grep -E 'FUZZ CHECK FAILED|ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error' "$log" | head -n 5
        local art; art=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n1 | awk '{print $5}')
        echo "REPRODUCER: ${art:-(none written; see $log)}  log: $log"
        echo "  replay: $b ${art:-FILE}"
    fi
    echo "$line"
    summary+=("$line")
}

run_afl() {   # target seconds
    local t=$1 s=$2 b="$bin/afl/fuzz_$1" d="$out/afl/$1"
    rm -rf "$d"; mkdir -p "$d"
    local dict; dict=$(dict_of "$t")
    # afl-fuzz refuses ASAN_OPTIONS without symbolize=0
    ASAN_OPTIONS=abort_on_error=1:halt_on_error=1:symbolize=0:detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1 \
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1 \
        AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 \
        afl-fuzz -i "$(seeds_of "$t")" -o "$d" -V "$s" -t 20000 ${dict:+-x "$dict"} -- "$b" >"$d/log.txt" 2>&1
    local rc=$?
    local st="$d/default/fuzzer_stats"
    if [ ! -f "$st" ]; then
        fail=1
        echo "AFL++ $t: no fuzzer_stats (afl-fuzz rc=$rc); last lines of $d/log.txt:"
        tail -n 15 "$d/log.txt"
        summary+=("AFL++ $t: FAILED to start")
        return
    fi
    val() { awk -v k="$1" '$1==k{print $3}' "$st"; }
    local crashes; crashes=$(val saved_crashes)
    local line="AFL++ $t: ${s}s execs=$(val execs_done) exec/s=$(val execs_per_sec) edges=$(val edges_found)/$(val total_edges) bitmap_cvg=$(val bitmap_cvg) crashes=${crashes:-?} hangs=$(val saved_hangs)"
    if [ "${crashes:-1}" != 0 ]; then
        fail=1
        line="$line FAILED"
        for f in "$d"/default/crashes/id:*; do
            [ -e "$f" ] || continue
            echo "REPRODUCER: $f"
            echo "  replay: $bin/lf/fuzz_$t '$f'"
        done
    fi
    echo "$line"
    summary+=("$line")
}

replay() {   # target
    local t=$1 b="$bin/lf/fuzz_$1" dir="$here/regressions/$1"
    local files=()
    [ -d "$dir" ] && for f in "$dir"/*; do
        case $f in *.md|*.txt) continue ;; esac   # notes, not inputs
        [ -f "$f" ] && files+=("$f")
    done
    if [ ${#files[@]} -eq 0 ]; then
        summary+=("replay $t: no regression inputs")
        return
    fi
    local bad=0
    for f in "${files[@]}"; do
        if ! "$b" -runs=1 "$f" >"$out/replay.log" 2>&1; then
            bad=$((bad + 1)); fail=1
            echo "REPRODUCER: $f (replay failed)"
            grep -E 'FUZZ CHECK FAILED|ERROR:|runtime error' "$out/replay.log" | head -n 3
        fi
    done
    summary+=("replay $t: ${#files[@]} inputs, $bad failed")
}

mkdir -p "$out"
for t in "${targets[@]}"; do
    case $mode in
        lf) run_lf "$t" "$secs" ;;
        afl) run_afl "$t" "$secs" ;;
        replay) replay "$t" ;;
        smoke) replay "$t"; run_lf "$t" "$secs"; run_afl "$t" "$secs" ;;
        *) echo "unknown mode $mode"; exit 2 ;;
    esac
done
echo "==== fuzz $mode summary ===="
printf '%s\n' "${summary[@]}"
[ $fail -eq 0 ] && echo "fuzz $mode: OK" || echo "fuzz $mode: FAILED"
exit $fail
