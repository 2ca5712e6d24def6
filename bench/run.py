#!/usr/bin/python3
"""hakmem benchmark runner: every benchmark under every allocator, side by side.

    run.py --bin DIR --hakmem LIB [--runs N] [--scale S] [--out DIR]   full table + chart
    run.py --bin DIR --hakmem LIB --callgrind-only                     instructions per pair
    run.py --bin DIR --hakmem LIB --guard BOUND_FILE                   CI guard (exit 1 if above)

Allocators are selected by LD_PRELOAD; the benchmark binaries are plain
glibc programs.  Runs are interleaved: repetition r runs each benchmark under
every allocator, in an order rotated by r, so slow drifts of a shared machine
(other jobs, thermal state) hit every allocator alike.  Peak RSS of each run
comes from the benchmark's own VmHWM (wait4()'s ru_maxrss as fallback; see
run_once's caller for why); CPU time, system time and minor page faults
come from wait4()'s rusage of the whole run.  Environment: BENCH_RUNS,
BENCH_SCALE, BENCH_ALLOCS (comma list), BENCH_ONLY (comma list of benchmark
names), BENCH_EXTRA (comma list of name=path.so: more allocators run beside
the others, e.g. hakmem-before=/tmp/old/libhakmem.so for a before/after).
"hakmem-full" is the same hakmem library run with HAKMEM_HARDEN=full (its
cost against default mode gets a table of its own); Scudo is LLVM's
hardened allocator, the hardened peer full mode is measured against.
"""
import glob
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

LIBDIR = "/usr/lib/x86_64-linux-gnu"
SCUDO_SO = "libclang_rt.scudo_standalone-x86_64.so"


def scudo_lib():
    """LLVM's Scudo from libclang-rt-14-dev: clang's runtime directory, else
    any installed LLVM's (newest first); the .so name alone when none is."""
    for cc in ("clang-14", "clang"):
        exe = shutil.which(cc)
        if not exe:
            continue
        r = subprocess.run([exe, "--print-runtime-dir"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        path = os.path.join(r.stdout.strip(), SCUDO_SO)
        if r.returncode == 0 and os.path.exists(path):
            return path
    found = sorted(glob.glob("/usr/lib/llvm-*/lib/clang/*/lib/linux/" + SCUDO_SO), reverse=True)
    return found[0] if found else SCUDO_SO


PEERS = [
    ("glibc", None, "libc6"),
    ("mimalloc", LIBDIR + "/libmimalloc.so.2", "libmimalloc2.0"),
    ("jemalloc", LIBDIR + "/libjemalloc.so.2", "libjemalloc2"),
    ("tcmalloc", LIBDIR + "/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
    ("scudo", scudo_lib(), "libclang-rt-14-dev"),
]
# Allocators that are hakmem itself under other settings: not peers.
HAKMEM_MODES = {"hakmem-full": {"HAKMEM_HARDEN": "full"}}
ALLOC_ENV = dict(HAKMEM_MODES)   # name -> environment it runs with
# Allocators that cannot run under callgrind: why (the timings still run).
NO_CALLGRIND = {"scudo": "Scudo aborts under Valgrind (\"Scudo ERROR: internal map or unmap failure\")"}
# Object file whose functions must show up in the callgrind profile, proving
# that the allocator we meant to measure is the one that ran.
PROFILE_OBJ = {"hakmem": "libhakmem", "hakmem-full": "libhakmem", "glibc": "libc.so", "mimalloc": "libmimalloc",
               "jemalloc": "libjemalloc", "tcmalloc": "libtcmalloc", "scudo": "libclang_rt.scudo"}

RING_N1, RING_N2 = 100000, 300000
CHART_MIN, CHART_MAX = 1 / 16.0, 16.0


def benchmarks(scale):
    """(name, binary, args, metric, higher_is_better).  Sizes of work scale
    linearly with `scale`; 1.0 makes a full run take about 5-10 minutes on 2
    cores with 3 repetitions."""
    def n(x, lo=1):
        return str(max(lo, int(x * scale)))
    secs = "%.2f" % max(0.2, 3.0 * scale)
    return [
        ("larson-1T", "larson", [secs, "8", "1000", "5000", "100", "4141", "1"], "ops_per_sec", True),
        ("larson-2T", "larson", [secs, "8", "1000", "5000", "100", "4141", "2"], "ops_per_sec", True),
        ("larson-small-8T", "larson", [secs, "8", "64", "1000", "100", "4141", "8"], "ops_per_sec", True),
        ("mixed-1T", "mixed", [n(2e7, 1000), "1", "10000", "16", "1040", "42"], "ops_per_sec", True),
        ("mixed-2T", "mixed", [n(1e7, 1000), "2", "10000", "16", "1040", "42"], "ops_per_sec", True),
        ("xthread-1P", "xthread", ["1", n(1e5, 100), "100", "16", "512", "42"], "ops_per_sec", True),
        ("xthread-2P", "xthread", ["2", n(1e5, 100), "100", "16", "512", "42"], "ops_per_sec", True),
        # issue 11: xmalloc-test-like, every thread allocates and frees its neighbour's blocks
        ("xmalloc-2T", "xmalloc", ["2", n(5e4, 50), "100", "16", "512", "42"], "ops_per_cpu_sec", True),
        ("xmalloc-4T", "xmalloc", ["4", n(2.5e4, 25), "100", "16", "512", "42"], "ops_per_cpu_sec", True),
        # issue 11: glibc's own two malloc benchmark loops (bench/glibc_bench.c)
        ("glibc-simple-1T", "glibc_bench", ["simple", "1", n(2000, 2), "25000", "64"], "ops_per_cpu_sec", True),
        ("glibc-simple-2T", "glibc_bench", ["simple", "2", n(1000, 2), "25000", "64"], "ops_per_cpu_sec", True),
        ("glibc-thread-1T", "glibc_bench", ["thread", "1", n(2e7, 1000), "1000", "42"], "ops_per_cpu_sec", True),
        ("glibc-thread-2T", "glibc_bench", ["thread", "2", n(1e7, 1000), "1000", "42"], "ops_per_cpu_sec", True),
        ("pair-16", "pair", ["16", n(3e7, 1000)], "ns_per_pair", False),
        ("pair-512", "pair", ["512", n(3e7, 1000)], "ns_per_pair", False),
        ("pair-4K", "pair", ["4096", n(2e7, 1000)], "ns_per_pair", False),
        ("pair-64K", "pair", ["65536", n(5e6, 1000)], "ns_per_pair", False),
        ("pair-1M", "pair", ["1048576", n(2e5, 100)], "ns_per_pair", False),
        ("realloc-grow", "realloc_grow", ["64", "1048576", n(2e5, 1000), "42"], "ops_per_sec", True),
        ("memheavy", "memheavy", [n(256, 16), "16", "16384", "10", "3", "42"], "ops_per_sec", True),
        ("malloc-large", "malloc_large", ["20", n(1000, 20), "5242880", "26214400", "42"], "cpu_sec", False),
        # issue 10: threads re-created every round, blocks freed by other (exited) threads
        ("thread-churn", "churn", ["8", n(100, 4), "20000", "5000", "42"], "ops_per_cpu_sec", True),
        ("rptest-2T", "rptest", ["2", n(2000, 20), "4000", "64", "42"], "ops_per_cpu_sec", True),
    ]


def allocators(hakmem_lib):
    want = os.environ.get("BENCH_ALLOCS", "hakmem,hakmem-full,glibc,mimalloc,jemalloc,tcmalloc,scudo").split(",")
    out = []
    for name in want:
        name = name.strip()
        if name == "hakmem" or name in HAKMEM_MODES:
            if hakmem_lib and os.path.exists(hakmem_lib):
                out.append((name, os.path.abspath(hakmem_lib)))
            else:
                print("run.py: %s not found: hakmem skipped" % hakmem_lib, file=sys.stderr)
            continue
        for pname, lib, _ in PEERS:
            if pname == name:
                if lib is None or os.path.exists(lib):
                    out.append((pname, lib))
                else:
                    print("run.py: %s not found: %s skipped (make deps)" % (lib, pname), file=sys.stderr)
    for item in os.environ.get("BENCH_EXTRA", "").split(","):
        name, _, lib = item.strip().partition("=")
        if not name:
            continue
        if lib and os.path.exists(lib):
            out.append((name, os.path.abspath(lib)))
        else:
            print("run.py: BENCH_EXTRA %s: %s not found: skipped" % (name, lib), file=sys.stderr)
    return out


def expected_object(name, lib):
    """Substring of the object malloc must resolve to under this allocator."""
    if name in PROFILE_OBJ:
        return PROFILE_OBJ[name]
    return os.path.basename(lib).split(".so")[0] if lib else None


def env_for(lib, name=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("HAKMEM_HARDEN", None)   # each hakmem column says its own mode
    if lib:
        env["LD_PRELOAD"] = lib
    env.update(ALLOC_ENV.get(name, {}))
    return env


def run_once(binary, args, lib, timeout, expect=None, name=None):
    """Runs one benchmark; returns (dict of RESULT fields, maxrss KiB, error).
    The fields gain rusage_cpu, rusage_sys (seconds) and rusage_minflt.
    `expect`: substring of the object that malloc must resolve to (the
    benchmarks print it); a mismatch is an error, not a silent glibc run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([binary] + args, stdout=out, stderr=err, env=env_for(lib, name))
        deadline = time.monotonic() + timeout
        status, rusage = 0, None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return None, 0, "timeout after %ds" % timeout
            time.sleep(0.01)
        proc.returncode = 0   # reaped by hand; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        etext = err.read().decode(errors="replace")
        if os.WIFSIGNALED(status):
            return None, rusage.ru_maxrss, "killed by signal %d: %s" % (os.WTERMSIG(status), etext[-300:])
        if os.WEXITSTATUS(status) != 0:
            return None, rusage.ru_maxrss, "exit %d: %s" % (os.WEXITSTATUS(status), etext[-300:])
        m = re.search(r" malloc=(\S+)", text)
        if expect and (not m or expect not in m.group(1)):
            return None, rusage.ru_maxrss, "malloc resolves to %s, not %s (LD_PRELOAD=%s)" % (
                m.group(1) if m else "?", expect, lib)
        fields = {}
        for line in text.splitlines():
            if line.startswith("RESULT "):
                for kv in line.split()[1:]:
                    k, _, v = kv.partition("=")
                    fields[k] = float(v)
        if not fields:
            return None, rusage.ru_maxrss, "no RESULT line: " + text[-300:]
        fields["rusage_cpu"] = rusage.ru_utime + rusage.ru_stime
        fields["rusage_sys"] = rusage.ru_stime
        fields["rusage_minflt"] = float(rusage.ru_minflt)
        return fields, rusage.ru_maxrss, None


# ---------------------------------------------------------------- callgrind

def callgrind_total(binary, args, lib, outfile, name=None):
    cmd = ["valgrind", "--tool=callgrind", "--soname-synonyms=somalloc=nomatch",
           "--callgrind-out-file=" + outfile, binary] + args
    r = subprocess.run(cmd, env=env_for(lib, name), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("callgrind failed (%d): %s" % (r.returncode, r.stderr.decode()[-500:]))
    total = None
    with open(outfile) as f:
        for line in f:
            m = re.match(r"^(summary|totals):\s+(\d+)", line)
            if m:
                total = int(m.group(2))
    if total is None:
        raise RuntimeError("no totals in " + outfile)
    return total, r.stdout.decode(errors="replace")


def hottest(outfile, limit=12):
    """(Ir, 'file:function [object]') for the hottest functions, exclusive cost."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", outfile],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rows = []
    for line in r.stdout.splitlines():
        # function lines only: call-edge lines start with "=>" or "<"
        m = re.match(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*)$", line)
        if not m or m.group(2).startswith(("=>", "<")):
            continue
        if ":" in m.group(2) and "PROGRAM TOTALS" not in line:
            rows.append((int(m.group(1).replace(",", "")), m.group(2).strip()))
    rows.sort(key=lambda x: -x[0])
    return rows[:limit]


def check_allocator_ran(name, provider, rows):
    """None if the profile shows the intended allocator's malloc/free doing
    the work, else why not.  Guards against valgrind's own malloc
    replacement (vgpreload) and against a preload that silently failed."""
    want = PROFILE_OBJ.get(name, name)
    if want not in provider:
        return "malloc resolves to %s, not %s" % (provider, want)
    if want == "libhakmem":
        # hakmem's malloc/free are thin wrappers (or aliases) of hak_*; the
        # profile must show time spent inside libhakmem itself.
        if any(want in fn for _, fn in rows[:8]):
            return None
        return "no hot function in %s" % want
    objs = []
    for _, fn in rows:
        m = re.match(r"^.*:(malloc|free|__libc_malloc|__libc_free|_int_free|_int_malloc)\s*(\[(.*)\])?$", fn)
        if m:
            objs.append(m.group(3) or "???")
    if not objs:
        return "no malloc/free among the hot functions"
    if any("vgpreload" in o for o in objs):
        return "valgrind's replacement malloc ran (%s)" % objs
    if name == "glibc" and not any("libc.so" in o for o in objs):
        return "hot malloc/free not in libc.so: %s" % objs
    if name != "glibc" and any("libc.so" in o for o in objs):
        return "glibc's malloc/free ran: %s" % objs
    # tcmalloc's entry points show as object "???" in callgrind; the
    # dladdr check above already pinned them to the right library.
    return None


def measure_pair_instructions(bindir, name, lib, keep_dir=None):
    """Instructions per Tiny malloc+free pair on the 1000-block ring:
    (I(N2) - I(N1)) / (N2 - N1), so start-up and ring fill cancel.
    Returns (per_pair, hottest rows, problem or None); problem says why the
    profile does not prove that the intended allocator ran."""
    pair = os.path.join(bindir, "pair")
    tmp = keep_dir or tempfile.mkdtemp(prefix="hakbench-cg-")
    f1 = os.path.join(tmp, "callgrind.%s.n1" % name)
    f2 = os.path.join(tmp, "callgrind.%s.n2" % name)
    i1, _ = callgrind_total(pair, ["ring", str(RING_N1)], lib, f1, name)
    i2, out = callgrind_total(pair, ["ring", str(RING_N2)], lib, f2, name)
    rows = hottest(f2)
    # The benchmark's own loop (ring indexing, the store into the block)
    # is charged to ring_loop; leaving it out gives the allocator's share:
    # malloc + free + their PLT stubs.
    loop1 = [ir for ir, fn in hottest(f1, 1000) if ":ring_loop" in fn]
    loop2 = [ir for ir, fn in rows + hottest(f2, 1000) if ":ring_loop" in fn]
    if not loop1 or not loop2:
        raise RuntimeError("ring_loop not found in the callgrind profile")
    per = (i2 - i1 - (loop2[0] - loop1[0])) / float(RING_N2 - RING_N1)
    m = re.search(r"malloc=(\S+)", out)
    problem = check_allocator_ran(name, m.group(1) if m else "?", rows)
    if not keep_dir:
        shutil.rmtree(tmp, ignore_errors=True)
    return per, rows, problem


# ---------------------------------------------------------------- reporting

def fmt_metric(v, metric):
    if v is None:
        return "FAIL"
    if metric == "ops_per_sec":
        return "%.2f M/s" % (v / 1e6)
    if metric == "ops_per_cpu_sec":
        return "%.2f M/cpu-s" % (v / 1e6)
    if metric == "cpu_sec":
        return "%.2f s CPU" % v
    return "%.1f ns" % v


def fmt_count(v):
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    return "%.0f" % v


def speed_ratio(v, ref, higher):
    """Speed of v relative to ref: > 1 means v is faster."""
    if v is None or ref is None or v == 0 or ref == 0:
        return None
    return v / ref if higher else ref / v


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


LOAD_AT_START = loadavg()


def machine_info(args, allocs, runs, scale):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    vers = []
    for pname, _, pkg in PEERS:
        if any(a == pname for a, _ in allocs):
            r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            vers.append("%s %s" % (pname, r.stdout.strip() or "?"))
    rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", "%s, nproc %d, %s" % (cpu, os.cpu_count() or 0, platform.platform())),
        ("hakmem", "git %s (uncommitted changes included), %s" % (rev or "?", dict(allocs).get("hakmem", "not built"))),
        ("peers", ", ".join(vers)),
        ("runs", "%d per allocator per benchmark, interleaved; medians shown; BENCH_SCALE=%g" % (runs, scale)),
        ("load average", "%s at start, %s at the end (1/5/15 min; above nproc the timings are "
                         "squeezed by other jobs)" % (LOAD_AT_START, loadavg())),
    ]


def targets_section(benches, ratios, peers, rss_rows, cg):
    """Issue 6's targets, checked against this run (timings are noisy on a
    shared machine: a miss of a few % is within noise; reruns decide)."""
    out = ["\n## Issue 6 targets in this run\n",
           "| target | measured | met |", "|---|---|---|"]
    for bname, _, _, _, _ in benches:
        if not bname.startswith(("larson", "mixed", "xthread")):
            continue
        best = [(ratios[bname][p], p) for p in peers if ratios[bname].get(p) is not None]
        if not best:
            out.append("| %s >= best peer | no data | ? |" % bname)
            continue
        r, p = max(best)
        out.append("| %s: hakmem >= best peer | best is %s at %.2fx hakmem (hakmem = %.0f%% of it) | %s |"
                   % (bname, p, r, 100.0 / r, "yes" if r <= 1.0 else "**no**"))
    if "malloc-large" in ratios and ratios["malloc-large"].get("glibc") is not None:
        r = ratios["malloc-large"]["glibc"]
        out.append("| malloc-large: hakmem CPU <= glibc's (issue 10) | hakmem uses %.2fx glibc's CPU time | %s |"
                   % (r, "yes" if r <= 1.0 else "**no**"))
    worst = None
    for bname, row in rss_rows:
        if "final" in bname:        # not a peak
            continue
        g, h = row.get("glibc"), row.get("hakmem")
        if g and h:
            q = h / g
            if worst is None or q > worst[0]:
                worst = (q, bname)
    if worst:
        out.append("| peak RSS <= 1.10x glibc on every benchmark | worst: %s at %.2fx | %s |"
                   % (worst[1], worst[0], "yes" if worst[0] <= 1.10 else "**no**"))
    h, m = cg.get("hakmem", (None,))[0], cg.get("mimalloc", (None,))[0]
    if h is not None and m is not None:
        out.append("| Tiny pair instructions <= mimalloc (never > 1.25x) | %.1f vs %.1f (%.2fx) | %s |"
                   % (h, m, h / m, "yes" if h <= m else ("**no** (within 1.25x)" if h <= 1.25 * m else "**no**")))
    return out


def full_mode_section(benches, med, cg):
    """Full mode (HAKMEM_HARDEN=full) against default mode on every row, and
    against Scudo, the hardened peer (issue 12: ahead of it on every larson
    and mixed row)."""
    if not any(med[b[0]].get("hakmem-full") is not None for b in benches):
        return []
    out = ["\n## Full mode (HAKMEM_HARDEN=full): its cost, and Scudo\n",
           "Speeds relative to default hakmem (> 1 = faster than default). Full mode zeroes on free, "
           "quarantines 64 blocks per thread, checks freed blocks are still zero, and makes requests "
           "above 64 KiB Huge blocks.\n",
           "| benchmark | hakmem | hakmem-full | full vs default | scudo | full vs scudo | full ahead of scudo |",
           "|---|---|---|---|---|---|---|"]
    for bname, _, _, metric, higher in benches:
        d, f, s = (med[bname].get(k) for k in ("hakmem", "hakmem-full", "scudo"))
        cost = speed_ratio(f, d, higher)
        vs = speed_ratio(f, s, higher)
        judged = bname.startswith(("larson", "mixed"))
        ahead = "-" if vs is None else ("yes" if vs >= 1.0 else "**no**") if judged else ("(yes)" if vs >= 1.0 else "(no)")
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            bname, fmt_metric(d, metric), fmt_metric(f, metric),
            "%.2fx (%+.0f%%)" % (cost, (cost - 1) * 100) if cost else "-",
            fmt_metric(s, metric) if s is not None else "-", "%.2fx" % vs if vs else "-", ahead))
    h, hf = cg.get("hakmem", (None,))[0], cg.get("hakmem-full", (None,))[0]
    if h is not None and hf is not None:
        out.append("\nTiny pair instructions: default %.1f, full %.1f (%.1fx).\n" % (h, hf, hf / h))
    out.append("\nOnly the larson and mixed rows are judged (issue 12); the others are in brackets.")
    return out


def write_chart(path, names, peers, ratios, ref):
    """Clustered bars: each peer's speed relative to the reference, per benchmark."""
    if not shutil.which("gnuplot") or not peers:
        print("run.py: gnuplot missing or nothing to compare: no chart", file=sys.stderr)
        return False
    dat = path + ".dat"
    with open(dat, "w") as f:
        f.write("# bench " + " ".join(peers) + "\n")
        for b in names:
            # clamp to the plotted range so one outlier keeps the rest readable
            row = [("%.4f" % min(max(ratios[b][p], CHART_MIN), CHART_MAX)) if ratios[b].get(p) else "NaN"
                   for p in peers]
            f.write(b + " " + " ".join(row) + "\n")
    cols = " , ".join("'%s' using %d:xtic(1) title '%s'" % (dat, i + 2, p) for i, p in enumerate(peers))
    script = """
set terminal pngcairo size 1400,650 font ',11'
set output '%s'
set title 'Speed relative to %s (above 1 = faster than %s); medians, log scale, clamped to [1/16, 16]'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [%g:%g]   # a little beyond the clamp, so clamped bars stay visible
set ytics ('1/16' 0.0625, '1/8' 0.125, '1/4' 0.25, '1/2' 0.5, '1' 1, '2' 2, '4' 4, '8' 8, '16' 16)
set grid ytics
set xtics rotate by -35 nomirror
set key outside right top
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb 'black' front
plot %s
""" % (path, ref, ref, CHART_MIN / 1.3, CHART_MAX * 1.3, cols)
    r = subprocess.run(["gnuplot"], input=script, text=True, stderr=subprocess.PIPE)
    os.unlink(dat)
    if r.returncode != 0:
        print("run.py: gnuplot failed: " + r.stderr, file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory holding the benchmark binaries")
    ap.add_argument("--hakmem", default="build/libhakmem.so")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    ap.add_argument("--out", default=None, help="directory for latest.md and ratios.png")
    ap.add_argument("--readme", default=None,
                    help="markdown file whose <!-- latest:begin/end --> section gets the table")
    ap.add_argument("--timeout", type=int, default=120, help="seconds before a run counts as hung")
    ap.add_argument("--callgrind-only", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--guard", metavar="BOUND_FILE")
    a = ap.parse_args()

    allocs = allocators(a.hakmem)
    if a.guard:
        return guard(a, allocs)
    if not allocs:
        print("run.py: no allocator available", file=sys.stderr)
        return 1
    ref = allocs[0][0]        # hakmem when built, else the first peer
    names_all = [b[0] for b in benchmarks(a.scale)]

    cg = {}
    if not a.no_callgrind:
        if shutil.which("valgrind"):
            print("== callgrind: instructions per 16-byte malloc+free pair, ring of 1000 blocks "
                  "(N1=%d, N2=%d)" % (RING_N1, RING_N2), flush=True)
            for name, lib in allocs:
                if name in NO_CALLGRIND:
                    cg[name] = (None, [], NO_CALLGRIND[name])
                    print("  %-9s skipped: %s" % (name, NO_CALLGRIND[name]), flush=True)
                    continue
                try:
                    per, rows, problem = measure_pair_instructions(a.bin, name, lib)
                    cg[name] = (per, rows, problem)
                    print("  %-9s %7.1f instr/pair%s" % (name, per, ("   WARNING: " + problem) if problem else ""),
                          flush=True)
                except Exception as e:    # a broken allocator must not stop the table
                    cg[name] = (None, [], str(e))
                    print("  %-9s FAILED: %s" % (name, e), flush=True)
        else:
            print("run.py: valgrind missing: no instruction counts", file=sys.stderr)
    if a.callgrind_only:
        return 0

    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    benches = [b for b in benchmarks(a.scale) if not only or b[0] in only]
    results = {b[0]: {n: [] for n, _ in allocs} for b in benches}
    rss = {b[0]: {n: [] for n, _ in allocs} for b in benches}
    final_rss = {n: [] for n, _ in allocs}
    usage = {b[0]: {n: [] for n, _ in allocs} for b in benches}   # (cpu, sys, minflt) per run
    errors = []
    t_start = time.monotonic()
    for rep in range(a.runs):
        order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
        for bname, binary, bargs, metric, _ in benches:
            for name, lib in order:
                fields, maxrss, err = run_once(os.path.join(a.bin, binary), bargs, lib, a.timeout,
                                               expected_object(name, lib), name)
                if err:
                    errors.append("%s/%s run %d: %s" % (bname, name, rep + 1, err.strip()))
                    print("  %-16s %-9s FAILED: %s" % (bname, name, err.strip()[:200]), flush=True)
                    continue
                results[bname][name].append(fields[metric])
                # ru_maxrss of a child of this Python process starts at
                # Python's own RSS (Linux keeps the pre-exec high-water mark),
                # so the benchmark's VmHWM is the exact figure; ru_maxrss is
                # the fallback.
                rss[bname][name].append(fields.get("vmhwm_kib", maxrss))
                if "final_rss_kib" in fields:
                    final_rss[name].append(fields["final_rss_kib"])
                usage[bname][name].append((fields["rusage_cpu"], fields["rusage_sys"], fields["rusage_minflt"]))
                print("  run %d %-16s %-9s %14s  peak RSS %7.1f MiB" %
                      (rep + 1, bname, name, fmt_metric(fields[metric], metric),
                       rss[bname][name][-1] / 1024.0), flush=True)
    elapsed = time.monotonic() - t_start

    med = {b: {n: (statistics.median(v) if v else None) for n, v in results[b].items()} for b in results}
    mrss = {b: {n: (statistics.median(v) if v else None) for n, v in rss[b].items()} for b in rss}
    names = [n for n, _ in allocs]
    peers = [n for n in names if n != ref and n not in HAKMEM_MODES]
    ratios = {}
    for bname, _, _, metric, higher in benches:
        r = med[bname][ref]
        ratios[bname] = {n: speed_ratio(med[bname][n], r, higher) for n in names}

    # ---- tables (markdown; the console gets the same text)
    lines = []
    info = machine_info(a, allocs, a.runs, a.scale)
    lines.append("# hakmem benchmarks: latest run\n")
    for k, v in info:
        lines.append("- **%s**: %s" % (k, v))
    lines.append("- **wall time**: %.0f s for the timed benchmarks\n" % elapsed)
    lines.append("## Throughput / latency (median; in brackets: speed relative to %s, > 1 = faster than %s)\n"
                 % (ref, ref))
    lines.append("| benchmark | arguments | " + " | ".join(names) + " | best peer |")
    lines.append("|---|---|" + "---|" * len(names) + "---|")
    for bname, binary, bargs, metric, higher in benches:
        cells = []
        for n in names:
            v = med[bname][n]
            cell = fmt_metric(v, metric)
            if v is not None and n != ref and ratios[bname][n] is not None:
                cell += " (%.2f)" % ratios[bname][n]
            cells.append(cell)
        best = [(ratios[bname][p], p) for p in peers if ratios[bname][p] is not None]
        bestcell = ("%s %.2f" % (max(best)[1], max(best)[0])) if best else "-"
        lines.append("| %s | `%s %s` | %s | %s |" % (bname, binary, " ".join(bargs), " | ".join(cells), bestcell))
    lines.append("\n## Peak RSS (median of VmHWM at exit, MiB; in brackets: relative to glibc)\n")
    lines.append("| benchmark | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    rss_rows = [(b[0], mrss[b[0]]) for b in benches]
    if any(final_rss.values()):
        rss_rows.append(("memheavy final VmRSS", {n: (statistics.median(v) if v else None)
                                                   for n, v in final_rss.items()}))
    for bname, row in rss_rows:
        g = row.get("glibc")
        cells = []
        for n in names:
            v = row[n]
            if v is None:
                cells.append("FAIL")
            elif g and n != "glibc":
                cells.append("%.1f (%.2f)" % (v / 1024.0, v / g))
            else:
                cells.append("%.1f" % (v / 1024.0))
        lines.append("| %s | %s |" % (bname, " | ".join(cells)))
    lines.append("\n## CPU time (user + system), system time and minor page faults of the whole run "
                 "(medians; wait4 rusage)\n")
    lines.append("| benchmark | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for bname, _, _, _, _ in benches:
        cells = []
        for n in names:
            u = usage[bname][n]
            if not u:
                cells.append("FAIL")
                continue
            cpu = statistics.median(x[0] for x in u)
            sys_ = statistics.median(x[1] for x in u)
            flt = statistics.median(x[2] for x in u)
            cells.append("%.2f s / %.2f s / %s" % (cpu, sys_, fmt_count(flt)))
        lines.append("| %s | %s |" % (bname, " | ".join(cells)))
    if cg:
        lines.append("\n## Instructions per Tiny malloc+free pair (callgrind, ring of 1000 live 16-byte blocks)\n")
        lines.append("`valgrind --tool=callgrind --soname-synonyms=somalloc=nomatch pair ring N`: "
                     "(I(%d) - I(%d)) / %d, minus the benchmark loop's own instructions (ring_loop, "
                     "about 16 per pair), i.e. malloc + free + PLT stubs. Deterministic, unlike the timings.\n"
                     % (RING_N2, RING_N1, RING_N2 - RING_N1))
        lines.append("| allocator | instructions/pair | hottest functions (exclusive Ir, N=%d run) |" % RING_N2)
        lines.append("|---|---|---|")
        for n in names:
            per, rows, problem = cg.get(n, (None, [], "not measured"))
            hot = "; ".join("%s %s" % (fn.split(" [")[0], "{:,}".format(ir)) for ir, fn in rows[:4])
            lines.append("| %s | %s | %s |" % (n, ("%.1f" % per) if per is not None else "FAIL",
                                               (problem + "; " if problem else "") + hot))
    if ref == "hakmem":
        lines += targets_section(benches, ratios, peers, rss_rows, cg)
        lines += full_mode_section(benches, med, cg)
    if errors:
        lines.append("\n## Failed runs\n")
        for e in errors:
            lines.append("- " + e.replace("\n", " ")[:400])
    text = "\n".join(lines) + "\n"
    print()
    print(text)

    if a.out:
        os.makedirs(a.out, exist_ok=True)
        png = os.path.join(a.out, "ratios.png")
        chart_ok = write_chart(png, [b[0] for b in benches], peers, ratios, ref)
        with open(os.path.join(a.out, "latest.md"), "w") as f:
            f.write(text)
            if chart_ok:
                f.write("\n![speed relative to %s](ratios.png)\n" % ref)
        print("run.py: wrote %s/latest.md%s" % (a.out, " and ratios.png" if chart_ok else ""))
    if a.readme:
        update_readme(a.readme, text)
    # Failed runs are reported in the table; the exit status says so too, so
    # that bench-quick works as a smoke test.  Timings never fail a run.
    return 1 if errors else 0


def update_readme(path, text):
    """Replaces the text between the latest:begin/end markers with the
    table (headings demoted one level to sit under the README's own)."""
    begin, end = "<!-- latest:begin -->", "<!-- latest:end -->"
    try:
        with open(path) as f:
            doc = f.read()
    except OSError as e:
        print("run.py: cannot read %s: %s" % (path, e), file=sys.stderr)
        return
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        print("run.py: no %s ... %s markers in %s" % (begin, end, path), file=sys.stderr)
        return
    body = "\n".join(("#" + l if l.startswith("#") else l) for l in text.splitlines()
                     if not l.startswith("# "))
    with open(path, "w") as f:
        f.write(doc[:i + len(begin)] + "\n" + body.strip() + "\n" + doc[j:])
    print("run.py: updated the latest table in " + path)


def guard(a, allocs):
    """Deterministic CI check: hakmem's callgrind instructions per Tiny pair
    must not exceed the committed bound.  Peers are printed for context."""
    try:
        with open(a.guard) as f:
            nums = [l.split("#")[0].strip() for l in f]
        bound = float([x for x in nums if x][0])
    except (OSError, IndexError, ValueError) as e:
        print("bench-guard: cannot read bound from %s: %s" % (a.guard, e))
        return 1
    libs = dict(allocs)
    if "hakmem" not in libs:
        print("bench-guard: FAIL: %s not built" % a.hakmem)
        return 1
    rc = 0
    for name in ["hakmem"] + [n for n in ("mimalloc", "glibc") if n in libs]:
        try:
            per, rows, problem = measure_pair_instructions(a.bin, name, libs[name])
        except Exception as e:
            print("bench-guard: %s: callgrind failed: %s" % (name, e))
            if name == "hakmem":
                rc = 1
            continue
        note = ""
        if name == "hakmem":
            if problem:
                note, rc = "  FAIL: " + problem, 1
            elif per > bound:
                note, rc = "  FAIL: above the bound %.1f (bench/callgrind_bound.txt)" % bound, 1
            else:
                note = "  ok (bound %.1f)" % bound
        print("bench-guard: %-9s %7.1f instructions per 16-byte malloc+free pair%s" % (name, per, note))
        if name == "hakmem":
            for ir, fn in rows[:8]:
                print("    %12s  %s" % ("{:,}".format(ir), fn))
    return rc


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(main())
