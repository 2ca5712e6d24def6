#!/usr/bin/env bash
# make proofs-mutants: each mutant of mutants.txt is applied to a copy of
# src/*.h in a temp dir that is searched first (-I), and WP is run on the
# named functions.  A mutant passes when WP rejects it (some goal unproved);
# it fails when WP proves the buggy code, or when the sed no longer applies
# (the production code changed: update mutants.txt).
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
while IFS='|' read -r name hdr fns want expr; do
    case $name in ''|'#'*) continue ;; esac
    if [ $# -gt 0 ]; then                 # mutants.sh [name...]: only those
        sel=0; for m in "$@"; do [ "$m" = "$name" ] && sel=1; done
        [ $sel = 1 ] || continue
    fi
    rm -rf "$tmp/src"; mkdir -p "$tmp/src"
    cp src/*.h "$tmp/src/"
    sed -i -e "$expr" "$tmp/src/$hdr"
    if cmp -s "src/$hdr" "$tmp/src/$hdr"; then
        printf 'FAIL   %-28s sed did not apply to src/%s\n' "$name" "$hdr"; fail=$((fail + 1)); continue
    fi
    # 10 s per goal: every goal of the unmutated code proves in < 3 s, and
    # a mutant is judged by which goal fails, not by a timeout elsewhere
    # shellcheck disable=SC2086
    out=$(WP_TIMEOUT=10 proofs/wp.sh -q -I "$tmp/src" -c "$tmp/cache" ${fns//,/ } 2>&1)
    rc=$?
    if echo "$out" | grep -q 'frama-c error'; then
        printf 'FAIL   %-28s mutant does not parse\n' "$name"; fail=$((fail + 1))
    elif [ $rc != 0 ] && echo "$out" | grep -E '^    unproved: ' | grep -Eq "$want"; then
        printf 'PASS   %-28s rejected: %s\n' "$name" "$(echo "$out" | sed -n 's/^    unproved: //p' | grep -E "$want" | paste -sd, -)"
        pass=$((pass + 1))
    elif [ $rc != 0 ]; then
        printf 'FAIL   %-28s WP failed, but not on a goal matching /%s/: %s\n' "$name" "$want" \
            "$(echo "$out" | sed -n 's/^    unproved: //p' | paste -sd, -)"
        fail=$((fail + 1))
    else
        printf 'FAIL   %-28s WP proved the mutant\n' "$name"; fail=$((fail + 1))
    fi
done < proofs/mutants.txt
echo "$pass passed, $fail failed"
[ $fail = 0 ]
