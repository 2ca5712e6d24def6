#!/usr/bin/env bash
# ci/release-check.sh: the release gate (`make release-check`, issue 7).
#
# Runs every check a release needs, in order, and stops at the first failure
# (non-zero exit, naming the step and its log):
#   version       the header's version, the built library's soname
#   proofs        make proofs            (Frama-C WP with RTE and smoke tests)
#   mutants       make proofs-mutants    (the proofs catch planted bugs)
#   fuzz-replay   make fuzz-replay       (every past crash input, once)
#   fuzz          make fuzz              (libFuzzer, RELEASE_FUZZ_SECONDS per target)
#   fuzz-afl      make fuzz-afl          (AFL++, RELEASE_FUZZ_SECONDS per target)
#   asan          make asan
#   valgrind      make valgrind
#   test          make test              (C tests and real programs)
#   test-install  make test-install      (install, pkg-config, hakmem-run, uninstall)
#   bench         make bench             (or make bench-quick with RELEASE_BENCH=quick)
# and writes a markdown report, $RELEASE_DIR/report-VERSION.md, also when it
# fails (the report then says where).  Step logs go to $RELEASE_DIR/logs/.
#
# Environment:
#   RELEASE_FUZZ_SECONDS  seconds per fuzz target and fuzzer (default 600)
#   RELEASE_BENCH         full (default) or quick (a smoke-sized bench run)
#   RELEASE_DIR           report and logs (default $BUILD/release)
#   RELEASE_STEPS         run only these steps (space-separated); the report
#                         is then marked PARTIAL: not a release
#   RELEASE_KEEP_GOING=1  run every step even after a failure (diagnosis;
#                         still exits non-zero)
#   BUILD, MAKE           as passed by the top Makefile
# Smoke:  RELEASE_FUZZ_SECONDS=5 RELEASE_BENCH=quick make release-check
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
FUZZ_S=${RELEASE_FUZZ_SECONDS:-600}
BENCH_MODE=${RELEASE_BENCH:-full}
OUT=${RELEASE_DIR:-$BUILD/release}
KEEP_GOING=${RELEASE_KEEP_GOING:-0}
ALL_STEPS="version proofs mutants fuzz-replay fuzz fuzz-afl asan valgrind test test-install bench"
STEPS=${RELEASE_STEPS:-$ALL_STEPS}

die() { echo "release-check: $*" >&2; exit 2; }
case $FUZZ_S in ''|*[!0-9]*|0) die "RELEASE_FUZZ_SECONDS must be a positive number of seconds, not '$FUZZ_S'" ;; esac
case $BENCH_MODE in full|quick) ;; *) die "RELEASE_BENCH must be full or quick, not '$BENCH_MODE'" ;; esac
for s in $STEPS; do
    case " $ALL_STEPS " in *" $s "*) ;; *) die "unknown step '$s' in RELEASE_STEPS (steps: $ALL_STEPS)" ;; esac
done

vpart() { sed -n "s/^#define HAKMEM_VERSION_$1 *\([0-9]*\).*/\1/p" include/hakmem.h; }
VERSION=$(vpart MAJOR).$(vpart MINOR).$(vpart PATCH)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the version from include/hakmem.h (got '$VERSION')"

mkdir -p "$OUT/logs" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/logs/*.log
REPORT=$OUT/report-$VERSION.md
FUZZ_OUT=$OUT/fuzz
T_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
SECONDS=0

# ------------------------------------------------------------ the steps
# Each step: its make target(s) and extra variables.
step_cmd() {
    case $1 in
        proofs)       echo "proofs" ;;
        mutants)      echo "proofs-mutants" ;;
        fuzz-replay)  echo "fuzz-replay FUZZ_OUT=$FUZZ_OUT/replay" ;;
        fuzz)         echo "fuzz FUZZ_SECONDS=$FUZZ_S FUZZ_OUT=$FUZZ_OUT" ;;
        fuzz-afl)     echo "fuzz-afl FUZZ_SECONDS=$FUZZ_S FUZZ_OUT=$FUZZ_OUT" ;;
        asan)         echo "asan" ;;
        valgrind)     echo "valgrind" ;;
        test)         echo "test" ;;
        test-install) echo "test-install" ;;
        bench)        [ "$BENCH_MODE" = full ] && echo "bench" || echo "bench-quick" ;;
    esac
}

declare -A ST_RES ST_TIME ST_LOG ST_CMD
ORDER=()
FAILED=""
n=0; total=$(echo $STEPS | wc -w)

# make knows the target?  (the fragments of other areas may not exist yet)
# "Nothing to be done" counts as missing: every gate target has work to do,
# and a directory of the same name (proofs/, bench/) satisfies make silently.
has_target() {
    local dry
    dry=$("$MAKE" -n --no-print-directory BUILD="$BUILD" "$1" 2>&1)
    ! grep -qE "No rule to make target '$1'|Nothing to be done for '$1'" <<<"$dry"
}

version_step() {
    echo "version from include/hakmem.h: $VERSION"
    "$MAKE" --no-print-directory BUILD="$BUILD" lib || return 1
    local so
    so=$(readelf -d "$BUILD/libhakmem.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    echo "soname of $BUILD/libhakmem.so: $so"
    [ "$so" = "libhakmem.so.$(vpart MAJOR)" ] || { echo "soname does not match the header's major version"; return 1; }
    # hak_version() of the built library, through a throw-away program
    local t; t=$(mktemp -d)
    cc -Iinclude -x c - -x none -o "$t/v" "$BUILD/libhakmem.a" -pthread <<'C' || { rm -rf "$t"; return 1; }
#include <stdio.h>
#include "hakmem.h"
int main(void) { puts(hak_version()); return 0; }
C
    local got; got=$("$t/v"); rm -rf "$t"
    echo "hak_version() of the built library: $got"
    [ "$got" = "$VERSION" ] || { echo "hak_version() disagrees with the header"; return 1; }
}

run_step() {
    local s=$1
    n=$((n + 1))
    local log; log=$OUT/logs/$(printf '%02d' "$n")-$s.log
    ORDER+=("$s"); ST_LOG[$s]=$log
    local t0=$SECONDS rc
    if [ "$s" = version ]; then
        ST_CMD[$s]="make lib; soname and hak_version() checks"
        echo "==== release-check [$n/$total] $s"
        version_step 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    else
        local cmd; cmd=$(step_cmd "$s")
        local target=${cmd%% *}
        ST_CMD[$s]="make $cmd"
        echo "==== release-check [$n/$total] $s: make $cmd"
        if ! has_target "$target"; then
            echo "release-check: step '$s': make target '$target' does not exist (its fragment is not in the tree yet)" | tee "$log"
            rc=127
        else
            # shellcheck disable=SC2086
            "$MAKE" --no-print-directory BUILD="$BUILD" $cmd 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
        fi
    fi
    ST_TIME[$s]=$((SECONDS - t0))
    if [ "$rc" = 0 ]; then
        ST_RES[$s]=PASS
        echo "==== release-check [$n/$total] $s: PASS (${ST_TIME[$s]} s)"
    else
        if [ "$rc" = 127 ]; then ST_RES[$s]="FAIL (target missing)"; else ST_RES[$s]="FAIL (exit $rc)"; fi
        echo "==== release-check [$n/$total] $s: ${ST_RES[$s]} after ${ST_TIME[$s]} s; log: $log"
        [ -n "$FAILED" ] || FAILED=$s
    fi
}

# ------------------------------------------------------------ the report
md_escape() { sed 's/|/\\|/g'; }

# closing "N passed, M failed" of a log
closing() { grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" 2>/dev/null | tail -n1; }

proofs_section() {
    local log=${ST_LOG[proofs]:-}
    echo "## Proofs (Frama-C WP)"
    echo
    if [ -z "$log" ] || [ ! -f "$log" ]; then echo "Not run."; echo; return; fi
    echo "Result: **${ST_RES[proofs]}**; $(closing "$log" || true)"
    echo
    # Goal counts per function: lines of the proofs output that pair a name
    # with "N / M" or "N/M" goals (WP's own summary is "[wp] Proved goals: N / M").
    local rows
    rows=$(grep -E '([0-9]+ */ *[0-9]+)' "$log" | grep -viE 'warning|^\s*$' | head -n 80)
    if [ -n "$rows" ]; then
        echo "Goal counts (from the proofs output):"
        echo
        echo '```'
        echo "$rows"
        echo '```'
    else
        echo "No goal counts found in the output (see the log)."
    fi
    echo
    if grep -qiE 'smoke' "$log"; then echo "Smoke tests: run (the output mentions them)."
    else echo "Smoke tests: **not seen in the output**."; fi
    local mlog=${ST_LOG[mutants]:-}
    if [ -n "$mlog" ] && [ -f "$mlog" ]; then
        echo
        echo "Mutants: **${ST_RES[mutants]}**; $(closing "$mlog" || true)"
        local mrows; mrows=$(grep -iE 'mutant|killed|survived' "$mlog" | head -n 30)
        [ -z "$mrows" ] || { echo; echo '```'; echo "$mrows"; echo '```'; }
    fi
    echo
}

fuzz_section() {
    echo "## Fuzzing (${FUZZ_S} s per target and fuzzer)"
    echo
    local any=0
    echo "| fuzzer | target | time | executions | exec/s | coverage | result |"
    echo "|---|---|---|---|---|---|---|"
    local s line
    for s in fuzz fuzz-afl; do
        local log=${ST_LOG[$s]:-}
        [ -n "$log" ] && [ -f "$log" ] || continue
        # fuzz/run.sh prints one line per target, e.g.
        #   libFuzzer ops: 5s execs=123 exec/s=24 cov=511 ft=1603
        #   AFL++ ops: 5s execs=9 exec/s=1.8 edges=100/2000 bitmap_cvg=5.00% crashes=0 hangs=0
        while IFS= read -r line; do
            any=1
            local eng=${line%% *} rest=${line#* }
            local tgt=${rest%%:*}
            local kv=${rest#*: }
            local secs=${kv%% *}
            local ex eps cov res=ok
            ex=$(grep -oE 'execs=[^ ]+' <<<"$kv" | cut -d= -f2)
            eps=$(grep -oE 'exec/s=[^ ]+' <<<"$kv" | cut -d= -f2)
            if [ "$eng" = libFuzzer ]; then
                cov="cov $(grep -oE 'cov=[^ ]+' <<<"$kv" | cut -d= -f2), ft $(grep -oE 'ft=[^ ]+' <<<"$kv" | cut -d= -f2)"
            else
                cov="edges $(grep -oE 'edges=[^ ]+' <<<"$kv" | cut -d= -f2) ($(grep -oE 'bitmap_cvg=[^ ]+' <<<"$kv" | cut -d= -f2)), crashes $(grep -oE 'crashes=[^ ]+' <<<"$kv" | cut -d= -f2), hangs $(grep -oE 'hangs=[^ ]+' <<<"$kv" | cut -d= -f2)"
            fi
            grep -q FAILED <<<"$kv" && res="**FAILED**"
            echo "| $eng | $tgt | $secs | ${ex:-?} | ${eps:-?} | $cov | $res |"
        done < <(grep -E '^(libFuzzer|AFL\+\+) [A-Za-z0-9_]+: ' "$log" | sort -u)
    done
    [ $any = 1 ] || echo "| - | - | - | - | - | - | not run |"
    echo
    local rlog=${ST_LOG[fuzz-replay]:-}
    if [ -n "$rlog" ] && [ -f "$rlog" ]; then
        echo "Regression replay (\`make fuzz-replay\`): **${ST_RES[fuzz-replay]}**"
        echo
        echo '```'
        grep -E '^(replay |REPRODUCER:)' "$rlog" | head -n 30
        echo '```'
        echo
    fi
    local rep
    rep=$(cat "${ST_LOG[fuzz]:-/dev/null}" "${ST_LOG[fuzz-afl]:-/dev/null}" 2>/dev/null | grep -E '^REPRODUCER:' | head -n 20)
    if [ -n "$rep" ]; then echo "Reproducers:"; echo; echo '```'; echo "$rep"; echo '```'; echo; fi
}

suite_section() {   # step title
    local s=$1 log=${ST_LOG[$1]:-}
    echo "### $2"
    echo
    if [ -z "$log" ] || [ ! -f "$log" ]; then echo "Not run."; echo; return; fi
    echo "Result: **${ST_RES[$s]}**; closing line: \`$(closing "$log" || echo none)\`"
    # the summary block of tests/run.sh and tests/sanitizers/run.sh, or the failures
    local summ
    summ=$(sed -n '/^=== summary/,$p' "$log" | grep -v '^=== summary' | head -n 40)
    [ -n "$summ" ] || summ=$(grep -E '^(FAIL|ok |PASS|XFAIL)' "$log" | grep -E '^FAIL' | head -n 20)
    [ -z "$summ" ] || { echo; echo '```'; echo "$summ"; echo '```'; }
    echo
}

bench_section() {
    echo "## Benchmarks ($([ "$BENCH_MODE" = full ] && echo 'make bench' || echo 'make bench-quick: smoke-sized, not for comparison'))"
    echo
    local dir
    if [ "$BENCH_MODE" = full ]; then dir=bench/results; else dir=$BUILD/bench/results; fi
    local log=${ST_LOG[bench]:-}
    if [ -z "$log" ] || [ ! -f "$log" ] || [ "${ST_RES[bench]}" != PASS ] || [ ! -f "$dir/latest.md" ]; then
        echo "Not available (step ${ST_RES[bench]:-not run})."; echo; return
    fi
    if [ -f "$dir/ratios.png" ]; then
        cp "$dir/ratios.png" "$OUT/ratios-$VERSION.png"
        echo "Chart: \`$OUT/ratios-$VERSION.png\` (copy of \`$dir/ratios.png\`)."
    else
        echo "Chart: none written."
    fi
    echo
    # the bench table, headings pushed one level down
    sed -e 's/^# /### /' -e 's/^## /#### /' -e '/^!\[/d' "$dir/latest.md"
    echo
}

write_report() {
    local status
    if [ -n "$FAILED" ]; then status="FAILED at step '$FAILED'"
    elif [ "$STEPS" != "$ALL_STEPS" ]; then status="PARTIAL: only '$STEPS' ran; not a release"
    else status="PASSED"; fi
    local commit dirty
    commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    dirty=$(GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
    {
        echo "# hakmem $VERSION release report"
        echo
        echo "**Status: $status** ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
        echo
        echo "- version: $VERSION (include/hakmem.h; soname libhakmem.so.$(vpart MAJOR))"
        echo "- commit: \`$commit\`$([ "$dirty" -gt 0 ] && echo " with $dirty uncommitted changed files")"
        echo "- date: $T_START, finished $(date -u '+%H:%M:%S UTC')"
        echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -srm), $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
        echo "- tools: $(gcc --version 2>/dev/null | head -n1); $(clang --version 2>/dev/null | head -n1); frama-c $(frama-c -version 2>/dev/null | head -n1); $(afl-fuzz -h 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -oE 'afl-fuzz\+*[0-9][^ ]*' | head -n1); $(valgrind --version 2>/dev/null)"
        echo "- settings: RELEASE_FUZZ_SECONDS=$FUZZ_S, RELEASE_BENCH=$BENCH_MODE, BUILD=$BUILD"
        echo
        echo "## Steps"
        echo
        echo "| # | step | command | result | time | log |"
        echo "|---|---|---|---|---|---|"
        local i=0 s
        for s in "${ORDER[@]}"; do
            i=$((i + 1))
            echo "| $i | $s | \`$(md_escape <<<"${ST_CMD[$s]}")\` | ${ST_RES[$s]} | ${ST_TIME[$s]} s | \`${ST_LOG[$s]#"$ROOT"/}\` |"
        done
        for s in $STEPS; do
            [ -n "${ST_RES[$s]:-}" ] || echo "| - | $s | \`$(step_cmd "$s" | md_escape)\` | not run | - | - |"
        done
        echo
        proofs_section
        fuzz_section
        echo "## Sanitizers and tests"
        echo
        suite_section asan "make asan (ASan + UBSan)"
        suite_section valgrind "make valgrind (Memcheck)"
        suite_section test "make test (C tests, bad-pointer catalogue, threads, real programs)"
        suite_section test-install "make test-install"
        bench_section
    } >"$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT"
}

# ------------------------------------------------------------ main
echo "release-check: hakmem $VERSION; steps: $STEPS; fuzz ${FUZZ_S}s per target and fuzzer; bench $BENCH_MODE"
echo "release-check: report $REPORT"
for s in $STEPS; do
    run_step "$s"
    if [ -n "$FAILED" ] && [ "$KEEP_GOING" != 1 ]; then break; fi
done
write_report
echo
echo "==== release-check summary"
for s in "${ORDER[@]}"; do printf '  %-13s %-24s %5s s\n' "$s" "${ST_RES[$s]}" "${ST_TIME[$s]}"; done
echo "report: $REPORT"
if [ -n "$FAILED" ]; then
    echo "release-check: FAILED at step '$FAILED' (${ST_CMD[$FAILED]}): ${ST_RES[$FAILED]}; log: ${ST_LOG[$FAILED]}"
    exit 1
fi
if [ "$STEPS" != "$ALL_STEPS" ]; then
    echo "release-check: PARTIAL run passed (RELEASE_STEPS='$STEPS'); not a release"
    exit 0
fi
echo "release-check: PASSED: hakmem $VERSION is releasable"
