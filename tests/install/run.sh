#!/usr/bin/env bash
# tests/install/run.sh [BUILD]: the install test (make test-install, issue 7).
# Installs hakmem into scratch DESTDIRs, builds programs against the installed
# copy with pkg-config, runs them and hakmem-run, checks the man pages, then
# uninstalls and checks that exactly the installed files went away.
# Prints one line per check and "N passed, M failed"; exit 1 on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/install
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
MAKE=${MAKE:-make}
W=$BUILD/test-install
rm -rf "$W"; mkdir -p "$W"
cd "$ROOT" || exit 2

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; shift; local l; for l in "$@"; do printf '       %s\n' "$l"; done; }
# check NAME CMD...: the command's status is the verdict
check() { local n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$n"; else bad "$n" "command: $*"; fi; }
# same VAR-NAME GOT WANT
same() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got:  '$2'" "want: '$3'"; fi; }
contains() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "missing '$3' in:" "$(printf '%s' "$2" | head -c 600)" ;; esac; }

mk() { "$MAKE" -C "$ROOT" --no-print-directory BUILD="$BUILD" "$@"; }

# The expected version, read from the header on its own (not from install.mk).
vpart() { sed -n "s/^#define HAKMEM_VERSION_$1 *\([0-9]*\).*/\1/p" include/hakmem.h; }
MAJ=$(vpart MAJOR); VER=$MAJ.$(vpart MINOR).$(vpart PATCH)
echo "== hakmem $VER, build $BUILD, scratch $W"

# ---------------------------------------------------------------- install
D=$W/dest; P=/usr/local
mkdir -p "$D$P/lib"; echo keep >"$D$P/lib/not-ours.txt"   # a neighbour uninstall must leave alone
if mk install DESTDIR="$D" PREFIX=$P >"$W/install.log" 2>&1; then ok "make install DESTDIR PREFIX=$P"
else bad "make install DESTDIR PREFIX=$P" "$(tail -n 20 "$W/install.log")"; fi
L=$D$P/lib
for f in lib/libhakmem.so.$VER lib/libhakmem.a include/hakmem.h lib/pkgconfig/hakmem.pc \
         bin/hakmem-run share/man/man3/hakmem.3 share/man/man1/hakmem-run.1; do
    check "installed $f" test -f "$D$P/$f" -a ! -L "$D$P/$f"
done
same "symlink libhakmem.so.$MAJ" "$(readlink "$L/libhakmem.so.$MAJ")" "libhakmem.so.$VER"
same "symlink libhakmem.so" "$(readlink "$L/libhakmem.so")" "libhakmem.so.$MAJ"
same "soname of the installed library" \
    "$(readelf -d "$L/libhakmem.so.$VER" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" "libhakmem.so.$MAJ"
check "hakmem-run is executable" test -x "$D$P/bin/hakmem-run"
check "installed header is the source header" cmp -s include/hakmem.h "$D$P/include/hakmem.h"
check "static archive defines malloc and hak_version" \
    sh -c "nm '$L/libhakmem.a' | grep -q ' T malloc\$' && nm '$L/libhakmem.a' | grep -q ' T hak_version\$'"

# ------------------------------------------------------ pkg-config + link
export PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
unset PKG_CONFIG_LIBDIR
same "pkg-config --modversion" "$(pkg-config --modversion hakmem 2>&1)" "$VER"
flags=$(pkg-config --cflags --libs hakmem 2>&1)
contains "pkg-config --cflags points into the install" "$flags" "-I$D$P/include"
contains "pkg-config --libs points into the install" "$flags" "-L$L"
contains "pkg-config --libs has -lhakmem" "$flags" "-lhakmem"
contains "pkg-config --static --libs adds -pthread" "$(pkg-config --static --libs hakmem)" "-pthread"

# the source tree's include/ must not be needed: build from outside it
if (cd "$W" && cc -O1 -Wall -Werror "$HERE/prog.c" -o prog $flags) >"$W/cc.log" 2>&1; then
    ok "cc prog.c \$(pkg-config --cflags --libs hakmem)"
else bad "cc prog.c \$(pkg-config --cflags --libs hakmem)" "$(cat "$W/cc.log")"; fi
same "prog NEEDS the soname" "$(readelf -d "$W/prog" 2>/dev/null | grep -o "\[libhakmem[^]]*\]")" "[libhakmem.so.$MAJ]"
if LD_LIBRARY_PATH='' "$W/prog" >/dev/null 2>&1; then
    bad "prog does not start without the installed library" "a libhakmem.so.$MAJ is on the system path?"
else ok "prog does not start without the installed library"; fi

# run: the output lines are the checks
run_prog() {   # label binary [env...]
    local label=$1 bin=$2; shift 2
    local out
    out=$(env "$@" "$bin" 2>"$W/$label.err"); local rc=$?
    same "$label: exit status" "$rc" 0
    same "$label: hak_version() = header = $VER" "$(echo "$out" | sed -n 's/^version //p')|$(echo "$out" | sed -n 's/^header //p')" "$VER|$VER"
    same "$label: malloc() is hakmem's (classify ok)" "$(echo "$out" | sed -n 's/^malloc-classify //p')" ok
    same "$label: usable size" "$(echo "$out" | sed -n 's/^usable //p')" ok
    same "$label: verdicts interior/stack/global" \
        "$(echo "$out" | sed -n 's/^\(interior\|stack\|global\) //p' | tr '\n' ' ')" "invalid foreign foreign "
    same "$label: verdicts free/free again/huge" \
        "$(echo "$out" | sed -n 's/^\(first\|second\|huge\) //p' | tr '\n' ' ')" "ok double-free ok "
    same "$label: rejected counters" "$(echo "$out" | sed -n 's/^rejected //p')" "invalid=1 foreign=2 double=1"
    same "$label: hak_heap_check" "$(echo "$out" | sed -n 's/^heap-check //p')" 0
}
run_prog dynamic "$W/prog" LD_LIBRARY_PATH="$L"
ldd_out=$(LD_LIBRARY_PATH="$L" ldd "$W/prog" 2>&1)
contains "ldd resolves the installed library" "$ldd_out" "$L/libhakmem.so.$MAJ"

# static: the archive replaces malloc inside the executable
if (cd "$W" && cc -O1 -Wall -Werror "$HERE/prog.c" -o prog_static $(pkg-config --cflags hakmem) \
        "$L/libhakmem.a" $(pkg-config --static --libs-only-other hakmem)) >"$W/cc-static.log" 2>&1; then
    ok "cc prog.c libhakmem.a (static link)"
    same "static prog has no libhakmem NEEDED" "$(readelf -d "$W/prog_static" | grep -c libhakmem)" 0
    run_prog static "$W/prog_static"
else bad "cc prog.c libhakmem.a (static link)" "$(cat "$W/cc-static.log")"; fi

# -------------------------------------------------------------- hakmem-run
R=$D$P/bin/hakmem-run
same "hakmem-run --version" "$("$R" --version 2>&1)" "hakmem-run (hakmem) $VER"
out=$("$R" --help 2>&1); rc=$?
same "hakmem-run --help exits 0" "$rc" 0
for o in --invalid-free= --stats --valgrind --lib --help --version; do contains "hakmem-run --help lists $o" "$out" "$o"; done
same "hakmem-run --print-lib finds ../lib" "$("$R" --print-lib 2>&1)" "$L/libhakmem.so.$MAJ"

err=$("$R" --bogus true 2>&1); rc=$?
same "unknown option: exit 125" "$rc" 125
contains "unknown option: message" "$err" "unknown option '--bogus'"
err=$("$R" --stats 2>&1); rc=$?
same "missing command: exit 125" "$rc" 125
contains "missing command: message" "$err" "missing command"
err=$("$R" --invalid-free=sometimes true 2>&1); rc=$?
same "bad policy value: exit 125" "$rc" 125
contains "bad policy value: message" "$err" "bad --invalid-free value 'sometimes'"
err=$("$R" /no/such/program 2>&1); rc=$?
same "command not found: exit 127" "$rc" 127
err=$("$R" --lib /no/such.so true 2>&1); rc=$?
same "--lib missing file: exit 125" "$rc" 125
same "--lib PATH is preloaded" "$("$R" --lib "$BUILD/libhakmem.so" --print-lib)" "$BUILD/libhakmem.so"
same "LD_PRELOAD is prepended" "$(LD_PRELOAD="$L/libhakmem.so.$MAJ" "$R" /usr/bin/printenv LD_PRELOAD)" \
    "$L/libhakmem.so.$MAJ:$L/libhakmem.so.$MAJ"
same "options after the command belong to it" "$("$R" /bin/echo --stats --bogus)" "--stats --bogus"
same "-- ends the options" "$("$R" -- /bin/echo ok)" "ok"

# python3 under hakmem-run: output, the stats line, and the library mapped
PY='import json, sys
d = {str(i): list(range(i % 50)) for i in range(20000)}
assert json.loads(json.dumps(d)) == d
maps = open("/proc/self/maps").read()
print("sum", sum(len(v) for v in d.values()), "mapped", "'"$L/libhakmem.so.$VER"'" in maps)'
out=$("$R" --stats /usr/bin/python3 -c "$PY" 2>"$W/py.err"); rc=$?
same "hakmem-run --stats python3: exit 0" "$rc" 0
same "hakmem-run --stats python3: output" "$out" "sum 490000 mapped True"
stats=$(grep '^hakmem: live' "$W/py.err")
if [[ $stats =~ ^hakmem:\ live\ [0-9]+\ B\ in\ [0-9]+\ blocks,\ committed\ [0-9]+\ B,\ peak\ [0-9]+\ B\;\ allocs\ tiny\ ([0-9]+)\ mid\ ([0-9]+)\ huge\ ([0-9]+)(\ \(cached\ [0-9]+\ B\))?\;\ frees\ ([0-9]+)\;\ rejected\ foreign=0\ unmapped=0\ invalid=0\ double-free=0\ size-mismatch=0$ ]] \
   && [ "${BASH_REMATCH[1]}" -gt 500 ] && [ "${BASH_REMATCH[5]}" -gt 500 ]; then
    ok "hakmem-run --stats python3: stats line (tiny ${BASH_REMATCH[1]}, mid ${BASH_REMATCH[2]}, huge ${BASH_REMATCH[3]}, frees ${BASH_REMATCH[5]})"
else bad "hakmem-run --stats python3: stats line" "stderr: $(head -c 600 "$W/py.err")"; fi
out=$("$R" /usr/bin/python3 -c 'print(42)' 2>"$W/py2.err")
same "without --stats: no stats line" "$(grep -c '^hakmem:' "$W/py2.err")|$out" "0|42"

# policies: a plain program doing a double free / a free of a stack address
if cc -O0 -w "$HERE/badfree.c" -o "$W/badfree" 2>"$W/cc-bad.log"; then
    policy() {   # name expected-status expected-stdout stderr-pattern(or -) args...
        local n=$1 want=$2 wout=$3 pat=$4; shift 4
        local o; o=$(env -u HAKMEM_INVALID_FREE "$R" "$@" 2>"$W/pol.err"); local rc=$?
        local e; e=$(cat "$W/pol.err")
        local good=1
        [ "$rc" = "$want" ] || good=0
        [ "$o" = "$wout" ] || good=0
        if [ "$pat" = - ]; then [ -z "$(grep '^hakmem:' "$W/pol.err")" ] || good=0
        else grep -q -- "$pat" "$W/pol.err" || good=0; fi
        if [ $good = 1 ]; then ok "$n"; else bad "$n" "status $rc (want $want), stdout '$o' (want '$wout')" "stderr: $e"; fi
    }
    policy "double free, default policy: SIGABRT (status 134)" 134 "" \
        "hakmem: free(): invalid pointer (double-free) at 0x" "$W/badfree" double
    policy "double free, --invalid-free=abort: SIGABRT" 134 "" "invalid pointer (double-free)" \
        --invalid-free=abort "$W/badfree" double
    policy "double free, --invalid-free=warn: survives, warns" 0 "survived double" \
        "hakmem: free(): invalid pointer (double-free) at 0x" --invalid-free=warn "$W/badfree" double
    policy "double free, --invalid-free ignore: survives silently" 0 "survived double" - \
        --invalid-free ignore "$W/badfree" double
    policy "stack free, warn: survives, verdict foreign" 0 "survived stack" \
        "invalid pointer (foreign)" --invalid-free=warn "$W/badfree" stack
    policy "warn + --stats: rejected double-free=1" 0 "survived double" \
        "rejected foreign=0 unmapped=0 invalid=0 double-free=1" --stats --invalid-free=warn "$W/badfree" double
    o=$(HAKMEM_INVALID_FREE=warn "$R" "$W/badfree" double 2>/dev/null); rc=$?
    same "inherited HAKMEM_INVALID_FREE=warn is passed on" "$rc|$o" "0|survived double"
    # --valgrind: Memcheck with hakmem in charge, precise to the requested size
    if command -v valgrind >/dev/null 2>&1; then
        o=$(VALGRIND_OPTS=--error-exitcode=99 "$R" --valgrind "$W/badfree" overflow 2>"$W/vg.err"); rc=$?
        if [ "$rc|$o" = "99|survived overflow" ] &&
           grep -q "is 0 bytes after a block of size 32 alloc'd" "$W/vg.err" &&
           grep -q "Command: $W/badfree overflow" "$W/vg.err"; then
            ok "hakmem-run --valgrind: Memcheck names the 32 bytes asked for"
        else bad "hakmem-run --valgrind: Memcheck names the 32 bytes asked for" "status $rc, stdout '$o'" \
                 "stderr: $(grep -E 'Invalid|Address|Command' "$W/vg.err" | head -n 4)"; fi
    else echo "skip hakmem-run --valgrind: valgrind not installed"; fi
else bad "cc badfree.c" "$(cat "$W/cc-bad.log")"; fi

# relocation: the tree moved elsewhere, and hakmem-run reached through a symlink
mkdir -p "$W/moved" "$W/elsewhere"
cp -a "$D$P" "$W/moved/"
same "moved tree: hakmem-run finds its own library" "$("$W/moved/local/bin/hakmem-run" --print-lib)" \
    "$W/moved/local/lib/libhakmem.so.$MAJ"
ln -s "$W/moved/local/bin/hakmem-run" "$W/elsewhere/hr"
same "through a symlink: still its own library" "$("$W/elsewhere/hr" --print-lib)" "$W/moved/local/lib/libhakmem.so.$MAJ"
rm -rf "$W/moved" "$W/elsewhere"

# ------------------------------------------------------------- man pages
for m in man3/hakmem.3 man1/hakmem-run.1; do
    f=$D$P/share/man/$m
    warn=$( { LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" >"$W/man.txt"; } 2>&1 )
    if [ $? = 0 ] && [ -z "$warn" ] && [ -s "$W/man.txt" ]; then ok "man -l $m renders without warnings"
    else bad "man -l $m renders without warnings" "$warn"; fi
done
page=$(MANWIDTH=200 man -l "$D$P/share/man/man3/hakmem.3" 2>/dev/null | sed 's/‐//g')
contains "hakmem(3) carries the version" "$page" "hakmem $VER"
# every environment variable the library reads, every API function, every verdict
for v in $(grep -o 'secure_getenv("[A-Z_]*")' src/*.c | sed 's/.*("\(.*\)")/\1/' | sort -u); do
    contains "hakmem(3) documents $v" "$page" "$v"
done
for fn in $(grep -o 'hak_[a-z_]*(' include/hakmem.h | tr -d '(' | sort -u); do
    contains "hakmem(3) documents $fn()" "$page" "$fn("
done
for s in $(grep -o 'HAK_FREE_[A-Z]*' include/hakmem.h | sort -u); do
    contains "hakmem(3) documents $s" "$page" "$s"
done
for pol in abort warn ignore; do contains "hakmem(3) documents policy $pol" "$page" "$pol"; done

# ---------------------------------------------------- reinstall, uninstall
if mk install DESTDIR="$D" PREFIX=$P >"$W/install2.log" 2>&1; then ok "make install again (over the first)"
else bad "make install again (over the first)" "$(tail -n 20 "$W/install2.log")"; fi
man=$D$P/share/hakmem/install-manifest
same "manifest has no duplicates" "$(sort "$man" | uniq -d)" ""
same "manifest lists 10 files and links" "$(grep -c '^[fl] ' "$man")" 10
if mk uninstall DESTDIR="$D" PREFIX=$P >"$W/uninstall.log" 2>&1; then ok "make uninstall"
else bad "make uninstall" "$(tail -n 20 "$W/uninstall.log")"; fi
same "after uninstall: only the neighbour file is left" "$(cd "$D" && find . -mindepth 1 | sort | tr '\n' ' ')" \
    "./usr ./usr/local ./usr/local/lib ./usr/local/lib/not-ours.txt "
rm -f "$L/not-ours.txt"; rmdir "$L" "$D$P" "$D/usr"
if mk uninstall DESTDIR="$D" PREFIX=$P >/dev/null 2>&1; then bad "uninstall with nothing installed fails"
else ok "uninstall with nothing installed fails"; fi
D2=$W/dest2
if mk install DESTDIR="$D2" PREFIX=/usr/local >/dev/null 2>&1 && mk uninstall DESTDIR="$D2" PREFIX=/usr/local >/dev/null 2>&1; then
    same "install + uninstall into an empty DESTDIR leaves it empty" "$(find "$D2" -mindepth 1 | wc -l)" 0
else bad "install + uninstall into an empty DESTDIR leaves it empty" "make failed"; fi

# another layout: /opt prefix, lib64, hakmem-run must find ../lib64
D3=$W/dest3
if mk install DESTDIR="$D3" PREFIX=/opt/hakmem LIBDIR=/opt/hakmem/lib64 >"$W/install3.log" 2>&1; then
    same "LIBDIR=lib64: hakmem-run --print-lib" "$("$D3/opt/hakmem/bin/hakmem-run" --print-lib)" "$D3/opt/hakmem/lib64/libhakmem.so.$MAJ"
    same "LIBDIR=lib64: pkg-config libdir" "$(PKG_CONFIG_SYSROOT_DIR='' PKG_CONFIG_PATH=$D3/opt/hakmem/lib64/pkgconfig pkg-config --variable=libdir hakmem)" "/opt/hakmem/lib64"
    mk uninstall DESTDIR="$D3" PREFIX=/opt/hakmem LIBDIR=/opt/hakmem/lib64 >/dev/null 2>&1
    same "LIBDIR=lib64: uninstall leaves it empty" "$(find "$D3" -mindepth 1 | wc -l)" 0
else bad "make install PREFIX=/opt/hakmem LIBDIR=/opt/hakmem/lib64" "$(tail -n 20 "$W/install3.log")"; fi
# the generated files are regenerated for the default prefix again
mk install-files >/dev/null 2>&1

# ---------------------------------------- one version, derived everywhere
# No file of the install machinery spells the version out...
hits=$(grep -rlF "$VER" ci/install.mk packaging/ 2>/dev/null)
same "no literal version in ci/install.mk or packaging/" "$hits" ""
# ...and a copy of the tree with a bumped header installs the bumped names.
C=$W/bump
mkdir -p "$C"
cp -a Makefile src include packaging "$C/"; mkdir -p "$C/ci"; cp ci/install.mk "$C/ci/"
sed -i -e 's/^#define HAKMEM_VERSION_MAJOR .*/#define HAKMEM_VERSION_MAJOR 7/' \
       -e 's/^#define HAKMEM_VERSION_MINOR .*/#define HAKMEM_VERSION_MINOR 8/' \
       -e 's/^#define HAKMEM_VERSION_PATCH .*/#define HAKMEM_VERSION_PATCH 9/' "$C/include/hakmem.h"
if "$MAKE" -C "$C" --no-print-directory BUILD="$C/b" lib install DESTDIR="$C/d" >"$W/bump.log" 2>&1; then
    same "bumped header 7.8.9: soname" \
        "$(readelf -d "$C/d/usr/local/lib/libhakmem.so.7.8.9" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" libhakmem.so.7
    same "bumped header 7.8.9: links" "$(readlink "$C/d/usr/local/lib/libhakmem.so.7")|$(readlink "$C/d/usr/local/lib/libhakmem.so")" \
        "libhakmem.so.7.8.9|libhakmem.so.7"
    same "bumped header 7.8.9: pkg-config Version" "$(sed -n 's/^Version: //p' "$C/d/usr/local/lib/pkgconfig/hakmem.pc")" 7.8.9
    same "bumped header 7.8.9: hakmem-run --version" "$("$C/d/usr/local/bin/hakmem-run" --version)" "hakmem-run (hakmem) 7.8.9"
    contains "bumped header 7.8.9: man page" "$(head -n 5 "$C/d/usr/local/share/man/man3/hakmem.3")" '"hakmem 7.8.9"'
    out=$(cd "$C" && cc "$HERE/prog.c" -Iinclude -o p b/libhakmem.a -pthread && ./p | sed -n 's/^version //p')
    same "bumped header 7.8.9: hak_version()" "$out" 7.8.9
else bad "make lib install of a tree with a bumped header" "$(tail -n 20 "$W/bump.log")"; fi
rm -rf "$C"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
