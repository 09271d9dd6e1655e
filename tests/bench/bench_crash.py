"""What crash tracing costs the traced: a fork-heavy workload (a shell loop
starting 10 000 processes) and a signal-heavy one (a program handling
100 000 SIGUSR1s), each run plain, under `autodump run` without a crash
rule, and under `autodump run` with one (the tree traced). Interleaved in
one run (the machine is noisy); medians of BENCH_REPEAT runs, wall
seconds of the whole command. Figures to quote, not assertions."""
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

AUTODUMP = os.environ["AUTODUMP"]
MISBEHAVE = os.environ["MISBEHAVE"]
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))

# The same sampled rule in both: only the crash rule differs.
SAMPLED = "  - name: threads\n    metric: threads\n    when: {above: 100000}\n    actions: [stacks]\n"
CRASH = "  - name: crash\n    event: crash\n    actions: [stacks, core]\n"

WORKLOADS = {
    "fork-heavy (10 000 processes)": ["/bin/sh", "-c", "i=0; while [ $i -lt 10000 ]; do /bin/true; i=$((i+1)); done"],
    "signal-heavy (100 000 SIGUSR1)": [MISBEHAVE, "sigusr", "count=100000"],
}


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        without = d / "without.yaml"
        without.write_text("rules:\n" + SAMPLED)
        with_crash = d / "with.yaml"
        with_crash.write_text("rules:\n" + SAMPLED + CRASH)
        variants = {
            "plain": [],
            "run, no crash rule": [AUTODUMP, "run", "-r", str(without), "-o", str(d / "out"), "--"],
            "run, crash traced": [AUTODUMP, "run", "-r", str(with_crash), "-o", str(d / "out"), "--"],
        }
        for name, workload in WORKLOADS.items():
            times = {v: [] for v in variants}
            for _ in range(REPEAT):
                for v, prefix in variants.items():
                    times[v].append(timed(prefix + workload))
            med = {v: statistics.median(t) for v, t in times.items()}
            print(f"{name}:")
            for v in variants:
                print(f"  {v:20s} {med[v]:7.3f} s  (x{med[v] / med['plain']:.2f} of plain)")
            print(f"  crash tracing costs x{med['run, crash traced'] / med['run, no crash rule']:.2f} "
                  f"against run without it")


main()
