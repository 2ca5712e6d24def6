#!/usr/bin/python3
"""What issue 12's default checks cost: hakmem as built against the same
sources built with -DHAK_LEAN=1 (`make lean`: the overflow check at free and
its end marks, the link cleared at pop and the faulting malloc(0) compiled
out; src/types.h).  `make bench-hardencost` runs it; it is not part of
`make check`, because timings on a shared machine are noisy.

    hardencost.py --bin DIR --default LIB --lean LIB [--runs N] [--scale S] [--only ROWS]

The larson and mixed rows of run.py (same binaries, same arguments) run
under both libraries, interleaved: each round runs every row under both, in
an order that alternates from round to round.  Printed per row: medians of
throughput per CPU second (operations / (user + system time) of the whole
run, from wait4), CPU time and peak RSS (VmHWM), and lean / default.  Then
callgrind's instructions per Tiny malloc+free pair of both libraries
(run.py's measurement).  Issue 12's figure: the default build at most 3 %
slower than lean on every row, at most 4 instructions more per pair.
"""
import argparse
import os
import shutil
import statistics
import sys

import run

ROWS = ("larson-1T", "larson-2T", "larson-small-8T", "mixed-1T", "mixed-2T")
SLOWER_MAX, INSTR_MAX = 3.0, 4.0      # issue 12: % slower per row, instructions per pair


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory holding the benchmark binaries")
    ap.add_argument("--default", required=True, help="libhakmem.so as built")
    ap.add_argument("--lean", required=True, help="libhakmem.so built with -DHAK_LEAN=1")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--only", default=",".join(ROWS), help="comma list of rows (default: all five)")
    a = ap.parse_args()

    libs = [("default", os.path.abspath(a.default)), ("lean", os.path.abspath(a.lean))]
    benches = [b for b in run.benchmarks(a.scale) if b[0] in a.only.split(",")]
    # per row, per build: (ops per CPU second, CPU seconds, peak RSS KiB) of each run
    res = {b[0]: {n: [] for n, _ in libs} for b in benches}
    failed = 0
    print("== %d interleaved rounds, load average %s" % (a.runs, run.loadavg()), flush=True)
    for rep in range(a.runs):
        order = libs if rep % 2 == 0 else libs[::-1]
        for bname, binary, bargs, _, _ in benches:
            for name, lib in order:
                f, maxrss, err = run.run_once(os.path.join(a.bin, binary), bargs, lib, a.timeout,
                                              "libhakmem", "hakmem")
                if err or "ops" not in f:
                    failed += 1
                    print("  run %d %-16s %-7s FAILED: %s" % (rep + 1, bname, name,
                                                             (err or "no ops= field").strip()[:200]), flush=True)
                    continue
                cpu = f["rusage_cpu"]
                res[bname][name].append((f["ops"] / cpu, cpu, f.get("vmhwm_kib", maxrss)))
                print("  run %d %-16s %-7s %8.2f M/cpu-s  CPU %6.2f s  peak RSS %6.1f MiB"
                      % (rep + 1, bname, name, f["ops"] / cpu / 1e6, cpu, res[bname][name][-1][2] / 1024.0),
                      flush=True)

    cg = {}
    if not a.no_callgrind and shutil.which("valgrind"):
        for name, lib in libs:
            try:
                per, _, problem = run.measure_pair_instructions(a.bin, "hakmem", lib)
                cg[name] = per if not problem else None
                if problem:
                    print("callgrind %s: %s" % (name, problem))
            except Exception as e:       # the timings still print
                print("callgrind %s failed: %s" % (name, e))

    lines = ["", "Default vs lean (`-DHAK_LEAN=1`), %d interleaved rounds, medians; load average %s at the end."
             % (a.runs, run.loadavg()), "",
             "| benchmark | default M ops/CPU-s | lean M ops/CPU-s | default slower by | default CPU s | "
             "lean CPU s | default peak RSS MiB | lean peak RSS MiB | within 3 % |",
             "|---|---|---|---|---|---|---|---|---|"]
    worst = None
    for bname, _, _, _, _ in benches:
        d, l = res[bname]["default"], res[bname]["lean"]
        if not d or not l:
            lines.append("| %s | FAIL |  |  |  |  |  |  |  |" % bname)
            continue
        md = [statistics.median(x[i] for x in d) for i in range(3)]
        ml = [statistics.median(x[i] for x in l) for i in range(3)]
        slower = (ml[0] / md[0] - 1) * 100     # % more work per CPU second without the checks
        worst = slower if worst is None else max(worst, slower)
        lines.append("| %s | %.2f | %.2f | %+.1f %% | %.2f | %.2f | %.1f | %.1f | %s |"
                     % (bname, md[0] / 1e6, ml[0] / 1e6, slower, md[1], ml[1], md[2] / 1024.0,
                        ml[2] / 1024.0, "yes" if slower <= SLOWER_MAX else "**no**"))
    if cg.get("default") is not None and cg.get("lean") is not None:
        diff = cg["default"] - cg["lean"]
        lines.append("")
        lines.append("Instructions per Tiny malloc+free pair (callgrind): default %.1f, lean %.1f, "
                     "difference %.1f (figure: <= %g): %s."
                     % (cg["default"], cg["lean"], diff, INSTR_MAX, "met" if diff <= INSTR_MAX + 0.05 else "**not met**"))
    if worst is not None:
        lines.append("Worst row: default %.1f %% slower than lean (figure: <= %g %%): %s."
                     % (worst, SLOWER_MAX, "met" if worst <= SLOWER_MAX else "**not met**"))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
