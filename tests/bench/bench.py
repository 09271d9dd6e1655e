"""autodump benchmarks: figures to quote, not assertions.

1. Sampling cost: `autodump watch -p …` over N idle processes for a few
   seconds; CPU time of the watchdog (from /proc/PID/schedstat, in ns) per
   process-sample, for cpu+rss+threads, with fds, and rss+threads alone,
   at 1 s and 100 ms;
   watchdog RSS at the end. Beside it, in the same run, the floor: a bare
   pread of stat (and stat+statm) per process.
2. Discovery cost: `autodump watch` with a rule whose target matches none
   of the N idle processes: CPU per rescan of /proc (every 1 s).
   With BENCH_BASELINE=/path/to/another/autodump, every sampling row is
   measured with that binary too, on the same processes, in the order
   A B B A: a before/after comparison in one run on a noisy machine.
3. Detection latency: a process crosses a threshold (starts 100 threads and
   prints when); the rule's first action is `exec date`: latency is the
   time between the two.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUTODUMP = os.environ["AUTODUMP"]
MISBEHAVE = os.environ["MISBEHAVE"]
PREAD = os.environ["BENCH_PREAD"]
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
BASELINE = os.environ.get("BENCH_BASELINE")


def cpu_ns(pid):
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rules_file(tmp, interval, metrics, extra=""):
    text = f"defaults: {{interval: {interval}}}\nrules:\n"
    never = {"cpu": "100000", "rss": "1000TiB", "threads": "10000000", "fds": "10000000"}
    for m in metrics:
        text += f"  - name: never-{m}\n    metric: {m}\n    when: {{above: {never[m]}}}\n    actions: [stacks]\n"
    path = Path(tmp) / f"rules-{interval}-{'-'.join(metrics)}.yaml"
    path.write_text(text + extra)
    return path


def sampling(tmp, pids, interval, metrics, autodump=AUTODUMP):
    a = subprocess.Popen([autodump, "watch", "-r", str(rules_file(tmp, interval, metrics)), "-o", f"{tmp}/out",
                          *sum((["-p", str(p)] for p in pids), [])],
                         stderr=subprocess.DEVNULL)
    time.sleep(1.5)                             # start-up: opening every target
    if a.poll() is not None:
        raise SystemExit(f"autodump watch exited with {a.returncode}")
    c0, t0 = cpu_ns(a.pid), time.monotonic()
    time.sleep(SECONDS)
    c1, t1 = cpu_ns(a.pid), time.monotonic()
    rss = rss_kib(a.pid)
    a.terminate()
    a.wait()
    per_second = 1.0 / (0.1 if interval == "100ms" else 1.0)
    samples = len(pids) * (t1 - t0) * per_second
    return (c1 - c0) / 1000 / samples, rss, (c1 - c0) / 1e9 / (t1 - t0) * 100


def discovery(tmp, n_procs):
    rules = Path(tmp) / "scan.yaml"
    rules.write_text("rules:\n  - name: nobody\n    target: {comm: no-such-comm}\n    metric: rss\n"
                     "    when: {above: 1TiB}\n    actions: [stacks]\n")
    a = subprocess.Popen([AUTODUMP, "watch", "-r", str(rules), "-o", f"{tmp}/out"], stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    c0, t0 = cpu_ns(a.pid), time.monotonic()
    time.sleep(SECONDS)
    c1, t1 = cpu_ns(a.pid), time.monotonic()
    a.terminate()
    a.wait()
    scans = t1 - t0                             # one a second
    total = len(list(Path("/proc").glob("[0-9]*")))
    return (c1 - c0) / 1000 / scans, total


def latency(tmp, interval, runs=5):
    rules = Path(tmp) / f"latency-{interval}.yaml"
    rules.write_text(f"defaults: {{interval: {interval}, max: 1}}\nrules:\n"
                     "  - name: thread-storm\n    metric: threads\n    when: {above: 50}\n"
                     "    actions: [{exec: {argv: [/bin/date, '+%s.%N']}}]\n")
    results = []
    for i in range(runs):
        out = Path(tmp) / f"lat-{interval}-{i}"
        p = subprocess.Popen([AUTODUMP, "run", "-r", str(rules), "-o", str(out), "--", MISBEHAVE,
                              "threads", "count=100", f"after={1.0 + 0.13 * i}"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline()              # "threads started at S.N"
        crossed = float(line.split()[-1])
        deadline = time.monotonic() + 10
        logs = []
        while not logs and time.monotonic() < deadline:
            logs = [l for l in out.glob("*/exec-1.log") if not l.parent.name.startswith(".")]
            time.sleep(0.05)
        p.terminate()
        p.wait()
        if logs:
            results.append(float(logs[0].read_text().strip()) - crossed)
    return results


def main():
    with tempfile.TemporaryDirectory() as tmp:
        print(f"# sampling: watchdog CPU per process-sample, {SECONDS:.0f} s per row")
        print(f"{'targets':>8} {'interval':>8} {'metrics':>22} {'µs/sample':>10} {'cpu%':>7} {'RSS MiB':>8} {'pread stat µs':>14} {'stat+statm µs':>14}")
        for n in (1, 100, 1000):
            kids = [subprocess.Popen([MISBEHAVE, "idle"]) for _ in range(n)]
            try:
                time.sleep(0.5)
                pids = [k.pid for k in kids]
                floor = subprocess.run([PREAD, *map(str, pids)], capture_output=True, text=True).stdout.split()
                us, total = discovery(tmp, n)
                print(f"{'':>8} discovery: {us:.0f} µs of CPU per /proc rescan ({total} processes on the host)",
                      flush=True)
                for interval in ("1s", "100ms"):
                    # Without cpu a sample reads statm, task and comm, not stat.
                    for metrics in (["cpu", "rss", "threads"], ["cpu", "rss", "threads", "fds"], ["rss", "threads"]):
                        label = "+".join(metrics)
                        # With a baseline: A B B A, each the mean of its two
                        # runs, so neither gains from going first.
                        order = [AUTODUMP, BASELINE, BASELINE, AUTODUMP] if BASELINE else [AUTODUMP]
                        runs = {b: [] for b in order}
                        for binary in order:
                            runs[binary].append(sampling(tmp, pids, interval, metrics, binary))
                        for name, binary in (("", AUTODUMP), (" baseline", BASELINE)):
                            if binary:
                                us, rss, pct = (sum(x) / len(x) for x in zip(*runs[binary]))
                                print(f"{n:>8} {interval:>8} {label + name:>22} {us:>10.2f} {pct:>7.2f} "
                                      f"{rss / 1024:>8.1f} {float(floor[0]):>14.2f} {float(floor[1]):>14.2f}",
                                      flush=True)
            finally:
                for k in kids:
                    k.kill()
                for k in kids:
                    k.wait()
        print()
        print("# detection latency: threshold crossed -> collector running its first action")
        for interval in ("1s", "100ms"):
            lat = latency(tmp, interval)
            if lat:
                print(f"interval {interval:>5}: runs {len(lat)}, min {min(lat)*1000:.0f} ms, "
                      f"mean {sum(lat)/len(lat)*1000:.0f} ms, max {max(lat)*1000:.0f} ms")
            else:
                print(f"interval {interval:>5}: no firing measured")


if __name__ == "__main__":
    sys.exit(main())
