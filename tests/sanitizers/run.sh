#!/usr/bin/env bash
# run.sh asan|valgrind DIR [TESTDIR] [SO [HAKMEM_RUN]]: the "zero reports" half of
# `make asan` / `make valgrind`.  Runs each program of DIR (and, for
# valgrind, the tests/ programs in TESTDIR and python3 under LD_PRELOAD=SO)
# under the tool.  A program passes when it exits 0, prints its own closing
# line with 0 failed (when it has one), and the tool wrote no report.
# Then runs see.sh (the "seeing through" half) and precise.sh (the reports
# name the requested sizes; HAKMEM_RUN --valgrind is tried once).  Prints the closing line
# "N passed, M failed"; exit 1 when M > 0.
set -u
TOOL=$1 D=$2 TD=${3:-} SO=${4:-} HR=${5:-}
HERE=$(cd "$(dirname "$0")" && pwd)
unset HAKMEM_INVALID_FREE HAKMEM_STATS LD_PRELOAD
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --soname-synonyms=somalloc=nomatch)
pass=0 fail=0
LOG=$(mktemp /tmp/hakmem-san.XXXXXX)
trap 'rm -f "$LOG"' EXIT

# run NAME LIMIT CMD...: one program; the tool's report or a bad exit fails it
run() {
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS rc why=""
    ( timeout "$limit" "$@" >"$LOG" 2>&1; exit $? ) 2>/dev/null; rc=$?
    local closing
    closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -n1)
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOG"; then
        why="sanitizer report"
    elif grep -qE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|[0-9,]+ bytes in [0-9,]+ blocks are definitely)' "$LOG"; then
        why="memcheck error"
    elif [ $rc = 124 ]; then why="timed out after $limit s"
    elif [ $rc != 0 ]; then why="exit status $rc"
    elif [ -n "$closing" ] && [ "${closing#*, }" != "0 failed" ]; then why="its own checks: $closing"
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1)); echo "ok   $name ($((SECONDS - t0)) s)${closing:+: $closing}"
    else
        fail=$((fail + 1)); echo "FAIL $name ($((SECONDS - t0)) s): $why"
        grep -E 'ERROR:|SUMMARY:|runtime error|^==[0-9]+== [A-Z]|^==[0-9]+==    (at|by) |^FAIL' "$LOG" | head -n 40 | sed 's/^/     /'
    fi
}

case $TOOL in
asan)
    run "clean (hak_* direct)"            120 "$D/clean" 3
    run "roots (LSan sees through hakmem blocks)" 60 "$D/roots"
    # not forkt.c: a child forked while another thread is inside clang 14's
    # ASan runtime (its allocator) can deadlock there (seen here: SIGALRM in
    # 1 of 60 children); that is ASan's problem, not hakmem's
    for t in api threads huge; do
        [ -x "$D/t-$t" ] || continue
        case $t in
        threads) run "tests/$t.c (plain names -> hak_*)" 180 env T_ITERS=50000 T_ROUNDS=20 "$D/t-$t" ;;
        huge)    run "tests/$t.c (plain names -> hak_*)" 180 env HAKMEM_HUGE_DECAY_MS=300 "$D/t-$t" ;;
        *)       run "tests/$t.c (plain names -> hak_*)" 120 env T_TOOLS=1 "$D/t-$t" ;;
        esac
    done
    ;;
valgrind)
    run "clean (hak_* direct)"            240 "${VG[@]}" "$D/clean" 1
    run "roots (leak check sees through hakmem blocks)" 60 "${VG[@]}" "$D/roots"
    if [ -n "$TD" ]; then
        for t in api threads forkt huge; do
            if [ ! -x "$TD/$t" ]; then echo "skip tests/$t.c: $TD/$t not built"; continue; fi
            case $t in
            huge)    run "tests/$t.c (libhakmem.a)" 240 env HAKMEM_HUGE_DECAY_MS=300 T_RACE_TRIALS=2 T_RACE_ITERS=50 "${VG[@]}" "$TD/$t" ;;
            threads) run "tests/$t.c (libhakmem.a)" 240 env T_THREADS=3 T_ITERS=4000 T_ROUNDS=4 "${VG[@]}" "$TD/$t" ;;
            # forked children exit while the parent's other threads (absent in the
            # child) hold blocks: leaks by construction, so no leak check here
            forkt)   run "tests/$t.c (libhakmem.a)" 240 env T_FORKS=4 "${VG[@]}" --leak-check=no "$TD/$t" ;;
            *)       run "tests/$t.c (libhakmem.a)" 240 env T_TOOLS=1 "${VG[@]}" "$TD/$t" ;;
            esac
        done
    fi
    if [ -n "$SO" ]; then
        # a real program: every allocation of python3 goes through hakmem
        # (PYTHONMALLOC=malloc turns pymalloc off).  Proof that hakmem ran and
        # that Memcheck saw its blocks: the HAKMEM_STATS line and Memcheck's
        # own count of (client-request) heap blocks must both be large.
        SO=$(readlink -f "$SO")
        PYC='import json, re, collections
d = {str(i): [i] * (i % 7) for i in range(3000)}
s = json.dumps(d)
c = collections.Counter(re.findall(r"\d", s))
print(len(s), sum(len(v) for v in json.loads(s).values()), c["7"])'
        want=$(/usr/bin/python3 -c "$PYC")
        t0=$SECONDS
        got=$(HAKMEM_STATS=1 PYTHONMALLOC=malloc LD_PRELOAD="$SO" timeout 240 \
              valgrind --error-exitcode=99 --soname-synonyms=somalloc=nomatch /usr/bin/python3 -c "$PYC" 2>"$LOG")
        rc=$?
        hak=$(sed -n 's/^hakmem: live .*allocs tiny \([0-9]*\) mid \([0-9]*\).*/\1 \2/p' "$LOG" | tail -n1)
        vgn=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$LOG" | tr -d , | tail -n1)
        nerr=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$LOG" | tail -n1)
        if [ $rc = 0 ] && [ "$got" = "$want" ] && [ -n "$hak" ] && [ "${hak%% *}" -gt 10000 ] \
           && [ "${vgn:-0}" -gt 10000 ] && [ "$nerr" = 0 ]; then
            pass=$((pass + 1))
            echo "ok   python3 under LD_PRELOAD=libhakmem.so ($((SECONDS - t0)) s): hakmem tiny/mid allocs $hak, memcheck saw $vgn blocks, 0 errors"
        else
            fail=$((fail + 1))
            echo "FAIL python3 under LD_PRELOAD=libhakmem.so (rc $rc, output '$got' want '$want', hakmem allocs '${hak}', memcheck blocks '${vgn}', errors '${nerr}')"
            grep -E '^==[0-9]+== [A-Z]|^==[0-9]+==    (at|by) |^hakmem' "$LOG" | head -n 40 | sed 's/^/     /'
        fi
    fi
    ;;
*) echo "usage: run.sh asan|valgrind DIR [TESTDIR] [SO]"; exit 2 ;;
esac

echo "--- seeing through hakmem ($TOOL)"
out=$(bash "$HERE/see.sh" "$TOOL" "$D/bugs")
echo "$out"
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
if [ -n "$line" ]; then
    pass=$((pass + ${line%% passed*})); f=${line#*, }; fail=$((fail + ${f%% failed}))
else
    fail=$((fail + 1)); echo "FAIL see.sh printed no closing line"
fi
echo "--- requested sizes ($TOOL)"
out=$(bash "$HERE/precise.sh" "$TOOL" "$D/precise" "$SO" "$HR")
echo "$out"
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
if [ -n "$line" ]; then
    pass=$((pass + ${line%% passed*})); f=${line#*, }; fail=$((fail + ${f%% failed}))
else
    fail=$((fail + 1)); echo "FAIL precise.sh printed no closing line"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
