#!/usr/bin/env bash
# Run WP over the manifest, one unit per function.  Usage:
#   proofs/wp.sh [-I dir] [-s] [-q] [-c cachedir] [function...]
#   -I dir  extra include dir searched first (mutants: copies of src/)
#   -s      also run -wp-smoke-tests (inconsistent contracts/axioms fail)
#   -q      quiet: one line per function, no goal listing
# Exit 0 only if every selected function has all goals proved, a contract
# (at least one ensures goal), and no failed smoke test.
set -u
cd "$(dirname "$0")/.."
inc= smoke= quiet= cache=${WPCACHE:-.wpcache}
while getopts "I:sqc:" o; do
    case $o in I) inc="-I$OPTARG" ;; s) smoke=-wp-smoke-tests ;; q) quiet=1 ;; c) cache=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))

# Provers: WP needs z3 and cvc4 in why3's config (TOOLCHAIN.md 1).
command -v frama-c >/dev/null || { echo "proofs: frama-c not found (make deps)"; exit 1; }
grep -qs 'name = "Z3"' "$HOME/.why3.conf" || why3 config detect >/dev/null 2>&1
det=$(frama-c -wp-detect 2>&1)
for p in z3 cvc4; do
    echo "$det" | grep -qw "$p" || { echo "proofs: prover $p missing (frama-c -wp-detect)"; exit 1; }
done

mkdir -p "$cache"
pass=0 fail=0 total_goals=0
t_all=$(date +%s%N)
while read -r fn hdr flags; do
    case $fn in ''|'#'*) continue ;; esac
    if [ $# -gt 0 ]; then
        sel=0; for f in "$@"; do [ "$f" = "$fn" ] && sel=1; done
        [ $sel = 1 ] || continue
    fi
    base=$(basename "$hdr" .h)
    drv=proofs/drivers/$base.c
    ovf=-warn-unsigned-overflow sel="-wp-fct $fn" auto= pat="typed_${fn}_(.*_)?ensures"
    case " $flags " in *" nowrapcheck "*) ovf= ;; esac
    # the provers cannot do these goals before the split: fail them fast
    tmo=${WP_TIMEOUT:-30}
    case " $flags " in *" range "*) auto="-wp-auto wp:range" tmo=5 ;; esac
    case " $flags " in *" lemma "*) sel="-wp-prop $fn" pat="typed_lemma_${fn}" ;; esac
    log=$(mktemp)
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    frama-c -c11 -machdep gcc_x86_64 -cpp-command "sh proofs/fc-cpp.sh" -cpp-frama-c-compliant \
        -cpp-extra-args="$inc -Iinclude -Isrc" $drv \
        -wp -wp-rte $ovf $sel $auto $smoke -wp-prover z3,cvc4 -wp-timeout $tmo -wp-par 2 \
        -wp-warn-key pedantic-assigns=inactive -wp-cache update -wp-cache-dir "$cache" >"$log" 2>&1
    rc=$?
    dt=$(( ($(date +%s%N) - t0) / 100000000 )); t="$((dt / 10)).$((dt % 10))"
    line=$(grep -E '^\[wp\] Proved goals:' "$log" | tail -n1)
    p=$(echo "$line" | sed -E 's#.*: *([0-9]+) */ *([0-9]+).*#\1#')
    n=$(echo "$line" | sed -E 's#.*: *([0-9]+) */ *([0-9]+).*#\2#')
    why=
    if [ $rc != 0 ] || [ -z "$line" ]; then why="frama-c error (rc=$rc)"
    elif [ "$p" != "$n" ]; then why="unproved goals"
    elif ! grep -Eq "Goal ${pat}[_ ]|Goal ${pat}\$" "$log"; then why="no contract (no ensures goal)"
    elif grep -q 'Failed smoke-test' "$log"; then why="failed smoke test (inconsistent assumptions)"
    fi
    printf '%-6s %-22s %4s/%-4s goals %6s s  %s\n' "$([ -z "$why" ] && echo PASS || echo FAIL)" "$fn" "${p:-?}" "${n:-?}" "$t" "$why"
    if [ -n "$why" ]; then
        fail=$((fail + 1))
        grep -E '^\[wp\] \[[A-Za-z]+\] (Goal|Smoke-test) ' "$log" | grep -v ' : Valid' | grep -v '\[Passed\]' |
            sed -E 's/^\[wp\] \[[A-Za-z]+\] (Goal|Smoke-test) ([^ ]+).*/    unproved: \2/' | sort -u
        [ -n "$quiet" ] || grep -E 'Failed|Unknown|Timeout|Error|error|smoke' "$log" | grep -v Passed | head -40 | sed 's/^/    /'
    else
        pass=$((pass + 1)); total_goals=$((total_goals + n))
    fi
    rm -f "$log"
done < proofs/manifest.txt
echo "total $total_goals goals proved in $(( ($(date +%s%N) - t_all) / 1000000000 )) s"
echo "$pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]
