#!/usr/bin/env bash
# realprogs.sh LIBHAKMEM_SO: real Debian programs under LD_PRELOAD=libhakmem.so,
# each with its output checked against a value known in advance or against
# the same run under glibc.  Prints "N passed, M failed"; exit 1 when M > 0.
# Also prints one time/RSS figure for python3 under glibc and under hakmem.
set -u
SO=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3          # Debian's, not a pyenv shim
T=$(mktemp -d /tmp/hakmem-realprogs.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }
pre() { env HAKMEM_INVALID_FREE=abort LD_PRELOAD="$SO" timeout 120 "$@"; }

if [ ! -f "$SO" ]; then
    echo "FAIL no library at $1"; echo "0 passed, 1 failed"; exit 1
fi

# ---- python3: the library is really loaded
if pre $PY -c 'print(open("/proc/self/maps").read())' 2>"$T/err" | grep -q libhakmem; then
    ok "python3 maps libhakmem.so under LD_PRELOAD"
else
    bad "python3 maps libhakmem.so under LD_PRELOAD" "$(head -c 600 "$T/err")"
fi

# ---- python3: allocation-heavy script, same checksum as under glibc
want=$(timeout 120 /usr/bin/time -f "%e %U %S %M" -o "$T/time.glibc" $PY "$HERE/progs/alloc_heavy.py")
got=$(env LD_PRELOAD="$SO" timeout 120 /usr/bin/time -f "%e %U %S %M" -o "$T/time.hak" $PY "$HERE/progs/alloc_heavy.py" 2>"$T/err")
rc=$?
if [ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
    ok "python3 alloc_heavy.py: $got"
else
    bad "python3 alloc_heavy.py (rc $rc)" "glibc:  $want" "hakmem: $got" "$(head -c 600 "$T/err")"
fi
read -r gt gu gs gm < <(tail -n1 "$T/time.glibc")
read -r ht hu hs hm < <(tail -n1 "$T/time.hak" 2>/dev/null || echo "? ? ? ?")
echo "     figure: python3 alloc_heavy.py  glibc ${gt}s wall (${gu}s user ${gs}s sys) ${gm} KiB max RSS" \
     " |  hakmem ${ht}s wall (${hu}s user ${hs}s sys) ${hm} KiB max RSS"

# ---- git: init, add, commit 200 files, log, gc, fsck
(
    set -e
    export HOME="$T/home" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" GIT_COMMITTER_DATE="2020-01-01T00:00:00Z"
    mkdir -p "$HOME" "$T/repo"
    cd "$T/repo"
    for i in $(seq 1 200); do
        mkdir -p "d$((i % 10))"
        { echo "file $i"; seq 1 $((i * 7)); } > "d$((i % 10))/f$i.txt"
    done
    pre git init -q
    pre git config user.name hakmem
    pre git config user.email hakmem@example.org
    pre git add .
    pre git commit -q -m "200 files"
    for i in $(seq 1 200 | awk 'NR % 4 == 0'); do echo "changed $i" >> "d$((i % 10))/f$i.txt"; done
    pre git commit -q -a -m "50 files changed"
    pre git log --oneline > "$T/git.log"
    pre git ls-files > "$T/git.files"
    pre git gc -q
    pre git fsck --full --strict > "$T/git.fsck" 2>&1
    pre git show HEAD:d2/f12.txt > "$T/git.show"
    pre git diff --stat HEAD~1 HEAD > "$T/git.diff"
) > "$T/git.err" 2>&1
rc=$?
nlog=$(wc -l < "$T/git.log" 2>/dev/null); nfiles=$(wc -l < "$T/git.files" 2>/dev/null)
exp_show=$( { echo "file 12"; seq 1 84; echo "changed 12"; } )
if [ $rc -eq 0 ] && [ "$nlog" = 2 ] && [ "$nfiles" = 200 ] && [ ! -s "$T/git.fsck" ] \
    && [ "$(cat "$T/git.show")" = "$exp_show" ] && grep -q "50 files changed, 50 insertions" "$T/git.diff"; then
    ok "git: 200 files, 2 commits, log, gc, fsck --full clean"
else
    bad "git (rc $rc, log $nlog lines, $nfiles files)" "$(head -c 800 "$T/git.err")" "$(head -c 400 "$T/git.fsck" 2>/dev/null)"
fi

# ---- gcc: compile and run a C program, both under hakmem
if pre gcc -O2 -Wall -o "$T/hello" "$HERE/progs/hello.c" 2>"$T/err"; then
    out=$(pre "$T/hello" 2>>"$T/err")
    # sum 0..99999; the strings have i % 200 chars each: 500 * (0+..+199)
    if [ "$out" = "sum 4999950000 sorted 1 len 9950000" ]; then
        ok "gcc -O2 hello.c, run: $out"
    else
        bad "gcc-built program output" "got: $out" "$(head -c 600 "$T/err")"
    fi
else
    bad "gcc -O2 hello.c under LD_PRELOAD" "$(head -c 600 "$T/err")"
fi

# ---- g++: C++ new/delete (aligned and array forms) through hakmem
if command -v g++ >/dev/null; then
    if pre g++ -O1 -std=c++17 -o "$T/newdelete" "$HERE/progs/newdelete.cc" 2>"$T/err"; then
        out=$(pre "$T/newdelete" 2>>"$T/err")
        # keys: 997 distinct; total: 0+..+19999 + 7
        if [ "$out" = "keys 997 total 199990007 misaligned 0" ]; then
            ok "g++ newdelete.cc, run: $out"
        else
            bad "C++ new/delete program output" "got: $out" "$(head -c 600 "$T/err")"
        fi
    else
        bad "g++ newdelete.cc under LD_PRELOAD" "$(head -c 600 "$T/err")"
    fi
fi

# ---- sqlite3: 5000 inserts in a transaction, an index, checked queries
{
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);"
    echo "BEGIN;"
    for i in $(seq 1 5000); do echo "INSERT INTO t(k, s) VALUES ($((i % 97)), printf('%0${i: -1}d-row-%d', 0, $i));"; done
    echo "COMMIT;"
    echo "CREATE INDEX tk ON t(k);"
    echo "SELECT count(*), sum(k), sum(id) FROM t;"
    echo "SELECT k, count(*) FROM t WHERE k IN (0, 96) GROUP BY k ORDER BY k;"
    echo "DELETE FROM t WHERE id % 2 = 0;"
    echo "VACUUM;"
    echo "SELECT count(*), sum(id) FROM t;"
    echo "PRAGMA integrity_check;"
} > "$T/load.sql"
sk=0; for i in $(seq 1 5000); do sk=$((sk + i % 97)); done
want=$(printf '%s\n' "5000|$sk|12502500" "0|51" "96|51" "2500|6250000" "ok")
got=$(pre sqlite3 "$T/db.sqlite" < "$T/load.sql" 2>"$T/err")
if [ "$got" = "$want" ]; then
    ok "sqlite3: 5000 inserts, index, group by, delete, vacuum, integrity_check"
else
    bad "sqlite3 output" "want: $(echo $want)" "got:  $(echo $got)" "$(head -c 600 "$T/err")"
fi

# ---- HAKMEM_STATS=1: the summary appears on stderr at exit, and only then
env HAKMEM_STATS=1 LD_PRELOAD="$SO" timeout 60 $PY -c 'x = [str(i) * 3 for i in range(100000)]; print(len(x))' \
    > "$T/out" 2> "$T/err"
rc=$?
env LD_PRELOAD="$SO" timeout 60 $PY -c 'print(1)' > /dev/null 2> "$T/err.nostats"
if [ $rc -eq 0 ] && [ "$(cat "$T/out")" = 100000 ] && grep -qi 'hakmem' "$T/err" && grep -qi 'peak' "$T/err" \
    && ! grep -qi 'hakmem' "$T/err.nostats"; then
    ok "HAKMEM_STATS=1 summary on stderr: $(grep -i hakmem "$T/err" | head -n1 | cut -c1-150)"
else
    bad "HAKMEM_STATS=1 summary (rc $rc)" "stderr: $(head -c 600 "$T/err")" "without HAKMEM_STATS: $(head -c 300 "$T/err.nostats")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
