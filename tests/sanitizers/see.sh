#!/usr/bin/env bash
# see.sh asan|valgrind BUGS: proof that the tool sees through hakmem.
# Runs each deliberate bug of bugs.c (one per run) under the tool and checks
# the tool's report text.  A case passes when the tool reports the bug and
# fails when it is silent; the bug-free control `none` passes when the tool
# is silent.  BUGS is bugs.c built for the tool (ASan build, or plain -O1 -g
# for Memcheck).  SAN_XFAIL="asan:leak-tiny ..." marks cases as expected to
# be missed (they are listed as XFAIL and not counted as failures; one that
# is reported anyway is an XPASS and counts as a failure, so the list is
# kept honest).  Prints "N passed, M failed"; exit 1 when M > 0.
set -u
TOOL=$1 BUGS=$2
unset HAKMEM_INVALID_FREE HAKMEM_STATS LD_PRELOAD
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
XF=" ${SAN_XFAIL:-} "
pass=0 fail=0 xfail=0
OUT=$(mktemp /tmp/hakmem-see.XXXXXX)
trap 'rm -f "$OUT"' EXIT

run_tool() {
    # in a subshell with stderr closed: bash's own "Aborted" notes stay out
    if [ "$TOOL" = asan ]; then
        ( timeout 60 "$BUGS" "$1" >"$OUT" 2>&1; exit $? ) 2>/dev/null
    else
        ( timeout 120 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --soname-synonyms=somalloc=nomatch "$BUGS" "$1" >"$OUT" 2>&1; exit $? ) 2>/dev/null
    fi
}

# case NAME REGEX WHAT: the tool must print a line matching REGEX
case_() {
    local name=$1 re=$2 what=$3 rc
    run_tool "$name"; rc=$?
    local hit
    hit=$(grep -m1 -oE "$re" "$OUT")
    local xf=0
    [[ "$XF" == *" $TOOL:$name "* ]] && xf=1
    if [ -n "$hit" ] && [ $xf = 0 ]; then
        pass=$((pass + 1)); printf 'ok    %-8s %-15s reported: %s\n' "$TOOL" "$name" "$hit"
    elif [ -n "$hit" ]; then
        fail=$((fail + 1)); printf 'XPASS %-8s %-15s reported although listed in SAN_XFAIL: %s\n' "$TOOL" "$name" "$hit"
    elif [ $xf = 1 ]; then
        xfail=$((xfail + 1)); printf 'XFAIL %-8s %-15s silent (expected: %s)\n' "$TOOL" "$name" "$what"
    else
        fail=$((fail + 1)); printf 'FAIL  %-8s %-15s SILENT: no "%s" (exit %s)\n' "$TOOL" "$name" "$what" "$rc"
        grep -vE '^==[0-9]+== *$' "$OUT" | head -n 6 | sed 's/^/      | /'
    fi
}

# the control: no bug, no report, exit 0
control() {
    run_tool none; local rc=$?
    if [ $rc = 0 ] && ! grep -qE 'ERROR: |runtime error|^==[0-9]+== [A-Z][a-z]+ .*(read|write|jump|lost)' "$OUT"; then
        pass=$((pass + 1)); printf 'ok    %-8s %-15s silent, as it must be\n' "$TOOL" none
    else
        fail=$((fail + 1)); printf 'FAIL  %-8s %-15s the bug-free control was reported (exit %s)\n' "$TOOL" none "$rc"
        head -n 20 "$OUT" | sed 's/^/      | /'
    fi
}

control
if [ "$TOOL" = asan ]; then
    A='AddressSanitizer: [a-zA-Z-]+'
    for t in tiny mid; do
        case_ uaf-$t      'AddressSanitizer: (heap-use-after-free|use-after-poison)' "heap-use-after-free or use-after-poison"
        # a write into the poisoned last byte of a partly addressable 8-byte granule
        # (the tiny tag) is what ASan calls unknown-crash
        case_ overflow-$t 'AddressSanitizer: (heap-buffer-overflow|use-after-poison|unknown-crash)' "heap-buffer-overflow, use-after-poison or unknown-crash"
    done
    # a huge block is its own mapping: after free (or past its end) the
    # address may be unmapped, and ASan's SEGV report is all it can say
    case_ uaf-huge      'AddressSanitizer: (heap-use-after-free|use-after-poison|SEGV)' "use-after-poison or SEGV"
    case_ overflow-huge 'AddressSanitizer: (heap-buffer-overflow|use-after-poison|SEGV)' "heap-buffer-overflow, use-after-poison or SEGV"
    for t in tiny mid huge; do
        printf 'n/a   %-8s %-15s reading uninitialised memory is not an ASan bug class (MemorySanitizer'"'"'s); not run\n' asan uninit-$t
    done
    for c in leak-tiny leak-mid leak-huge leak0-tiny leak0-mid; do
        case_ $c 'LeakSanitizer: detected memory leaks' "LeakSanitizer: detected memory leaks"
    done
else
    for t in tiny mid huge; do
        case_ uaf-$t      'Invalid read of size 1' "Invalid read of size 1"
        case_ overflow-$t 'Invalid write of size 1' "Invalid write of size 1"
        case_ uninit-$t   'Conditional jump or move depends on uninitialised value' "Conditional jump or move depends on uninitialised value(s)"
    done
    for c in leak-tiny leak-mid leak-huge leak0-tiny leak0-mid; do
        case_ $c '[0-9,]+ bytes in 1 blocks are definitely lost' "definitely lost"
    done
fi
[ $xfail -gt 0 ] && echo "($xfail expected failures listed in SAN_XFAIL)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
