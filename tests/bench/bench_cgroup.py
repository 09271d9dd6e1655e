"""autodump cgroup benchmarks: figures to quote, not assertions.

1. CPU per cgroup-sample: `autodump watch` with one rule per cgroup metric
   (all eleven: memory, working set, OOM kills, cpu, pids, throttling, five
   PSI) over N cgroups made for the purpose, each with a process in it;
   CPU time of the watchdog per cgroup and sample. Beside it, in the same
   run, the floor: the bare preads of the nine files those metrics read
   (bench_cgroup_pread).
2. PSI latency: from the kernel's notification to the collector running
   its first action. A trigger of the benchmark's own on the same pressure
   file, with the same stall and window, is notified by the same kernel
   work at the same moment; the rule's first action is `exec date`.
"""
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUTODUMP = os.environ["AUTODUMP"]
MISBEHAVE = os.environ["MISBEHAVE"]
PREAD = os.environ["BENCH_CGROUP_PREAD"]
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = ["memory", "cpu", "cpuacct", "pids", "unified"]
# Each metric with a threshold it never reaches.
METRICS = {"cgroup.memory": "1000TiB", "cgroup.memory_ws": "1000TiB", "cgroup.oom_kills": "1000000",
           "cgroup.cpu": "100000", "cgroup.pids": "10000000", "cgroup.throttled": "1000",
           "psi.cpu.some": "1000", "psi.memory.some": "1000", "psi.memory.full": "1000", "psi.io.some": "1000",
           "psi.io.full": "1000"}


def cpu_ns(pid):
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def make_cgroups(parent, n):
    names = [f"{parent}/c{i}" for i in range(n)]
    kids = []
    for name in names:
        for h in HIERARCHIES:
            (ROOT / h / name).mkdir()

        def move(name=name):
            for h in HIERARCHIES:
                (ROOT / h / name / "cgroup.procs").write_text(str(os.getpid()))
        kids.append(subprocess.Popen([MISBEHAVE, "idle"], preexec_fn=move))
    return names, kids


def remove_cgroups(names, kids):
    for k in kids:
        k.kill()
        k.wait()
    for name in names:
        for h in HIERARCHIES:
            (ROOT / h / name).rmdir()


def sampling(tmp, names, interval):
    """One recursive target: the benchmark's parent cgroup and every cgroup
    below it."""
    text = f"defaults: {{interval: {interval}}}\nrules:\n"
    for m, never in METRICS.items():
        text += (f"  - name: never-{m}\n    target: {{cgroup: /autodump-bench-{os.getpid()}, recursive: true}}\n"
                 f"    metric: {m}\n    when: {{above: {never}}}\n    actions: [stacks]\n")
    rules = Path(tmp) / "cg.yaml"
    rules.write_text(text)
    a = subprocess.Popen([AUTODUMP, "watch", "-r", str(rules), "-o", f"{tmp}/out"], stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    if a.poll() is not None:
        raise SystemExit(f"autodump watch exited with {a.returncode}")
    c0, t0 = cpu_ns(a.pid), time.monotonic()
    time.sleep(SECONDS)
    c1, t1 = cpu_ns(a.pid), time.monotonic()
    a.terminate()
    a.wait()
    per_second = 1.0 / (0.1 if interval == "100ms" else 1.0)
    # The parent cgroup is a target too.
    samples = (len(names) + 1) * (t1 - t0) * per_second
    return (c1 - c0) / 1000 / samples


def psi_latency(tmp, runs=3):
    results = []
    for i in range(runs):
        rules = Path(tmp) / f"psi-{i}.yaml"
        rules.write_text("rules:\n  - name: stall\n    metric: psi.cpu.some\n    when: {stall: 200ms, per: 2s}\n"
                         "    actions: [{exec: {argv: [/bin/date, '+%s.%N']}}]\n    max: 1\n")
        out = Path(tmp) / f"psi-out-{i}"
        fd = os.open("/proc/pressure/cpu", os.O_RDWR | os.O_NONBLOCK)
        os.write(fd, b"some 200000 2000000\0")
        poller = select.poll()
        poller.register(fd, select.POLLPRI)
        spinners = os.cpu_count() * 2 + 1
        a = subprocess.Popen([AUTODUMP, "run", "-r", str(rules), "-o", str(out), "--", "sh", "-c",
                              f"sleep 1.5; for i in $(seq {spinners}); do timeout 6 {MISBEHAVE} spin & done; wait"],
                             stderr=subprocess.DEVNULL)
        notified = None
        deadline = time.monotonic() + 15
        while notified is None and time.monotonic() < deadline:
            if poller.poll(100):
                notified = time.time()
        os.close(fd)
        logs = []
        while not logs and time.monotonic() < deadline:
            logs = [l for l in out.glob("*/exec-1.log") if not l.parent.name.startswith(".")]
            time.sleep(0.05)
        a.wait()
        if notified and logs:
            results.append(float(logs[0].read_text().strip()) - notified)
        time.sleep(2.5)         # let the pressure settle between runs
    return results


def main():
    if not (ROOT / "memory").is_dir():
        print("no v1 memory hierarchy: the cgroup benchmark needs this project's hybrid host")
        return 0
    parent = f"autodump-bench-{os.getpid()}"
    for h in HIERARCHIES:
        (ROOT / h / parent).mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"# cgroup sampling: watchdog CPU per cgroup-sample of all {len(METRICS)} cgroup and PSI metrics, "
              f"{SECONDS:.0f} s per row")
        print(f"{'cgroups':>8} {'interval':>8} {'µs/cgroup-sample':>17} {'bare preads µs':>15}")
        for n in (10, 100):
            names, kids = make_cgroups(parent, n)
            try:
                floor = subprocess.run([PREAD, *[f"/{x}" for x in names]], capture_output=True, text=True)
                for interval in ("1s", "100ms"):
                    us = sampling(tmp, names, interval)
                    print(f"{n:>8} {interval:>8} {us:>17.2f} {floor.stdout.strip():>15}", flush=True)
            finally:
                remove_cgroups(names, kids)
        print()
        print("# PSI trigger latency: kernel notification -> collector running its first action")
        lat = psi_latency(tmp)
        if lat:
            print(f"runs {len(lat)}: min {min(lat)*1000:.1f} ms, mean {sum(lat)/len(lat)*1000:.1f} ms, "
                  f"max {max(lat)*1000:.1f} ms")
        else:
            print("no notification measured")
    for h in reversed(HIERARCHIES):
        (ROOT / h / parent).rmdir()


if __name__ == "__main__":
    sys.exit(main())
