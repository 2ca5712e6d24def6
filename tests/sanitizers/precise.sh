#!/usr/bin/env bash
# precise.sh asan|valgrind PRECISE [SO [HAKMEM_RUN]]: the tools must be byte-precise
# through hakmem (issue 13).  Runs each access of precise.c once under the
# tool and checks that the report names the size the program asked for:
# Memcheck's "N bytes after a block of size S", ASan's error plus hakmem's
# line "... S-byte region ... by hakmem".  A case fails when the report is
# missing or names another size (the usable size of the slot, say).
# valgrind: PRECISE is a plain program (nothing of hakmem linked) run as a
# user would, LD_PRELOAD=SO valgrind --soname-synonyms=somalloc=nomatch; one
# case also goes through HAKMEM_RUN --valgrind.  asan: PRECISE is linked
# with the ASan core library.  Prints "N passed, M failed"; exit 1 when M > 0.
set -u
TOOL=$1 P=$2 SO=${3:-} HR=${4:-}
unset HAKMEM_INVALID_FREE HAKMEM_STATS LD_PRELOAD
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --soname-synonyms=somalloc=nomatch)
[ "$TOOL" = valgrind ] && SO=$(readlink -f "$SO")
pass=0 fail=0
OUT=$(mktemp /tmp/hakmem-precise.XXXXXX)
trap 'rm -f "$OUT"' EXIT

run_tool() {
    # in a subshell with stderr closed: bash's own "Aborted"/"Segmentation fault" notes stay out
    if [ "$TOOL" = asan ]; then
        ( timeout 60 "$P" "$@" >"$OUT" 2>&1; exit $? ) 2>/dev/null
    elif [ -n "${VIA_HR:-}" ]; then
        ( VALGRIND_OPTS="-q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
          timeout 120 "$HR" --valgrind --lib "$SO" "$P" "$@" >"$OUT" 2>&1; exit $? ) 2>/dev/null
    else
        ( LD_PRELOAD=$SO timeout 120 "${VG[@]}" "$P" "$@" >"$OUT" 2>&1; exit $? ) 2>/dev/null
    fi
}

# Memcheck writes sizes with thousands separators
commas() { local n=$1 r=""; while [ ${#n} -gt 3 ]; do r=,${n: -3}$r; n=${n:0:${#n}-3}; done; echo "$n$r"; }

# expect NAME "ARGS" REGEX...: every REGEX must match a line of the tool's output
expect() {
    local name=$1 args=$2 rc miss="" re; shift 2
    # shellcheck disable=SC2086
    run_tool $args; rc=$?
    for re in "$@"; do grep -qE -- "$re" "$OUT" || miss+="${miss:+ and }/$re/"; done
    if [ -z "$miss" ]; then
        pass=$((pass + 1))
        printf 'ok    %-8s %-22s %s\n' "$TOOL" "$name" "$(grep -m1 -oE -- "${!#}" "$OUT")"
    else
        fail=$((fail + 1))
        printf 'FAIL  %-8s %-22s (exit %s) no %s in:\n' "$TOOL" "$name" "$rc" "$miss"
        grep -E 'ERROR|SUMMARY: Address|hakmem|^==[0-9]+== [A-Z0-9]|^==[0-9]+==  Address|^FAIL' "$OUT" \
            | grep -v 'Copyright\|Using Valgrind\|Command:\|Memcheck, a' | head -n 8 | sed 's/^/      | /'
    fi
}

# a run without a bug: exit 0 and no report at all
quiet() {
    local name=$1 args=$2 rc
    # shellcheck disable=SC2086
    run_tool $args; rc=$?
    if [ $rc = 0 ] && ! grep -qE 'ERROR: |runtime error|^==[0-9]+== [A-Z][a-z]+ .*(read|write|jump|lost|free)|^FAIL' "$OUT"; then
        pass=$((pass + 1)); printf 'ok    %-8s %-22s silent, exit 0\n' "$TOOL" "$name"
    else
        fail=$((fail + 1)); printf 'FAIL  %-8s %-22s (exit %s)\n' "$TOOL" "$name" "$rc"
        head -n 12 "$OUT" | sed 's/^/      | /'
    fi
}

H=0x[0-9a-f]+
if [ "$TOOL" = valgrind ]; then
    after() { echo "Address $H is 0 bytes after a (recently re-allocated )?block of size $(commas "$1") alloc'd"; }
    inside() { echo "Address $H is 3 bytes inside a (recently re-allocated )?block of size $(commas "$1") free'd"; }
    before() { echo "Address $H is 1 bytes before a (recently re-allocated )?block of size $(commas "$1") alloc'd"; }
    READ='Invalid read of size 1' WRITE='Invalid write of size 1'
else
    after() { echo "hakmem: $H is located 0 bytes to the right of $1-byte region \[$H,$H\) allocated by hakmem"; }
    inside() { echo "hakmem: $H is located 3 bytes inside of $1-byte region \[$H,$H\) freed by hakmem"; }
    before() { echo "hakmem: $H is located 1 bytes to the left of $1-byte region \[$H,$H\) allocated by hakmem"; }
    # a freed huge block is unmapped at once: ASan can only call it a SEGV
    READ='AddressSanitizer: (use-after-poison|SEGV) ' WRITE='AddressSanitizer: use-after-poison '
fi

M=1048576   # HAKMEM_MID_MAX: above it, Huge
quiet none none
#            tier  uaf      past     past     past (odd) shrink A B          grow A B             aligned AL N    leak   usable
for row in "tiny   40       24       32       21         40 24               24 40                64 100          40     24" \
           "mid    5000     3000     4100     1029       6000 5000           5000 6000            4096 5000       5000   5000" \
           "huge   $((M+4000)) $((M+100)) $((M+5000)) $((M+5001)) $((M+200000)) $((M+100000)) $((M+100000)) $((M+200000)) 131072 $((M+1000)) $((M+4000)) $((M+100))"; do
    # shellcheck disable=SC2086
    set -- $row
    t=$1 U=$2 P1=$3 P2=$4 P3=$5 SA=$6 SB=$7 GA=$8 GB=$9 AL=${10} AN=${11} LK=${12} US=${13}
    expect "uaf-$t ($U)"         "uaf $U"          "$READ"  "$(inside "$U")"
    for n in "$P1" "$P2" "$P3"; do
        expect "past-$t ($n)"    "past $n"         "$WRITE" "$(after "$n")"
    done
    expect "shrink-$t ($SA>$SB)" "shrink $SA $SB"  "$WRITE" "$(after "$SB")"
    expect "grow-$t ($GA>$GB)"   "grow $GA $GB"    "$WRITE" "$(after "$GB")"
    expect "aligned-$t ($AL,$AN)" "aligned $AL $AN" "$WRITE" "$(after "$AN")"
    # in front of an aligned block of a slab: its alias header.  (In front
    # of a Huge block lies hakmem's own descriptor page, which stays open.)
    [ "$t" != huge ] && expect "before-$t ($AL,$AN)" "before $AL $AN" "$WRITE" "$(before "$AN")"
    if [ "$TOOL" = valgrind ]; then
        expect "leak-$t ($LK)"   "leak $LK"        "^==[0-9]+== $(commas "$LK") bytes in 1 blocks are definitely lost"
    else
        printf 'n/a   %-8s %-22s LeakSanitizer sees only ASan'"'"'s own blocks (README: what each tool sees)\n' asan "leak-$t"
    fi
    quiet "usable-$t ($US)" "usable $US"
done
if [ "$TOOL" = valgrind ] && [ -n "$HR" ]; then
    VIA_HR=1 expect "hakmem-run --valgrind" "past 24" "$WRITE" "$(after 24)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
