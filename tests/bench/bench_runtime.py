"""What a runtime sample costs: watchdog CPU per target-sample for a /proc
metric (threads) beside a JVM's hsperfdata metrics, a Go program's pprof
metrics and a .NET runtime's EventCounters, on the same targets in one run
(the machine is noisy: the rows are side by side), and what it costs the
targets.

  bench_runtime.py [--targets 10] [--seconds 15] [--only jvm|go|dotnet]

The JVMs are tests/targets/java/Misbehave idle, sampled every 10 ms (a
pread each); the Go programs tests/targets/gopprof (50 goroutines, 20 MiB
kept), sampled every 100 ms (an HTTP request each, through the loop); the
.NET programs tests/targets/dotnet idle, 1 and --targets of them, every
1 s (the runtime's counter interval is whole seconds; one EventPipe session
each). Needs javac (default-jdk-headless), go (golang-go), dotnet and root."""
import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import procstat

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))


def cpu_seconds(pid):
    """The watchdog's time on CPU (one thread), to the nanosecond (schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def run(tmp, pids, metrics, interval, seconds):
    """µs of watchdog CPU per target-sample, and of the targets' CPU."""
    rules = tmp / "rules.yaml"
    rules.write_text(f"defaults: {{interval: {interval}ms}}\nrules:\n" + "".join(
        f"  - name: never-{i}\n    metric: {m}\n    when: {{above: 1000000000000000}}\n"
        "    actions: [stacks]\n" for i, m in enumerate(metrics)))
    a = subprocess.Popen([AUTODUMP, "watch", "-q", "-r", rules, "-o", tmp / "out",
                          *sum((["-p", str(p)] for p in pids), [])], stderr=subprocess.DEVNULL)
    time.sleep(2)
    c0, w0, t0 = cpu_seconds(a.pid), sum(map(procstat.cpu_seconds, pids)), time.monotonic()
    time.sleep(seconds)
    c1, w1, t1 = cpu_seconds(a.pid), sum(map(procstat.cpu_seconds, pids)), time.monotonic()
    a.terminate()
    a.wait()
    samples = len(pids) * (t1 - t0) * 1000 / interval
    return (c1 - c0) / samples * 1e6, (w1 - w0) / samples * 1e6


def rows(tmp, pids, interval, metric_sets, seconds, what):
    print(f"# {len(pids)} {what} every {interval} ms, {seconds:.0f} s a row: CPU per target-sample")
    print(f"{'metrics':>52}  {'watchdog':>9}  {'targets':>9}")
    for metrics in metric_sets:
        ours, theirs = run(tmp, pids, metrics, interval, seconds)
        print(f"{' + '.join(metrics):>52}  {ours:6.2f} µs  {theirs:6.2f} µs")


def latency(tmp, runs=5):
    """From a .NET heap crossing a rule's threshold (the program says when
    it has allocated) to the dump's capture starting (trigger.json), at a
    1 s interval: the runtime sends its counters once an interval, and a
    sample hands out what came since the one before."""
    import datetime
    import json
    waits = []
    for i in range(runs):
        rules = tmp / "latency.yaml"
        rules.write_text("rules:\n  - name: heap\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 2'}\n"
                         "    metric: dotnet.gc_heap_size\n    interval: 1s\n    when: {above: 40MiB}\n"
                         "    max: 1\n    actions: [stacks]\n")
        out = tmp / f"latency-{i}"
        p = subprocess.Popen(["dotnet", tmp / "dn/Misbehave.dll", "--after", "2", "alloc", "60", "L"],
                             stdout=subprocess.PIPE, text=True)
        a = subprocess.Popen([AUTODUMP, "watch", "-q", "-r", rules, "-o", out], stderr=subprocess.DEVNULL)
        try:
            p.stdout.readline()
            crossed = int(p.stdout.readline().split()[1]) / 1000
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list(out.glob("*/trigger.json")):
                time.sleep(0.05)
            (trigger,) = out.glob("*/trigger.json")
            started = json.loads(trigger.read_text())["capture_started"]
            waits.append(datetime.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() - crossed)
        finally:
            a.terminate()
            a.wait()
            p.kill()
            p.wait()
    waits.sort()
    print(f"# .NET heap past a 1 s rule's threshold to its capture starting, {runs} runs: "
          f"min {waits[0]:.2f} s, median {waits[len(waits) // 2]:.2f} s, max {waits[-1]:.2f} s")


def start(argv, n):
    ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    for p in ps:
        p.stdout.readline()
    return ps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--only", choices=["jvm", "go", "dotnet"])
    o = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if o.only in (None, "jvm"):
            subprocess.run(["javac", "-d", tmp, ROOT / "tests/targets/java/Misbehave.java"], check=True)
            jvms = start(["java", "-Xmx64m", "-cp", tmp, "Misbehave", "idle"], o.targets)
            try:
                rows(tmp, [j.pid for j in jvms], 10,
                     (["threads"], ["jvm.threads"], ["threads", "jvm.threads"],
                      ["jvm.threads", "jvm.heap_used", "jvm.gc_time", "jvm.classes"]), o.seconds, "JVMs")
            finally:
                for j in jvms:
                    j.kill()
                    j.wait()
        if o.only in (None, "go"):
            shutil.copy(ROOT / "tests/targets/gopprof/main.go", tmp / "main.go")
            env = dict(os.environ, HOME=str(tmp), GOCACHE=str(tmp / "cache"), GO111MODULE="off")
            subprocess.run(["go", "build", "-o", tmp / "gopprof", "main.go"], cwd=tmp, env=env, check=True)
            gos = start([tmp / "gopprof", "-leak", "50", "-mib", "20"], o.targets)
            try:
                rows(tmp, [g.pid for g in gos], 100,
                     (["threads"], ["go.goroutines"], ["go.heap_inuse"], ["threads", "go.goroutines", "go.heap_inuse"]),
                     o.seconds, "Go programs")
            finally:
                for g in gos:
                    g.kill()
                    g.wait()

        if o.only in (None, "dotnet"):
            for f in ("Misbehave.csproj", "Program.cs"):
                shutil.copy(ROOT / "tests/targets/dotnet" / f, tmp / f)
            env = dict(os.environ, DOTNET_CLI_HOME=str(tmp), DOTNET_NOLOGO="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
            subprocess.run(["dotnet", "build", "-c", "Release", "-o", tmp / "dn", "--nologo"], cwd=tmp, env=env,
                           check=True, stdout=subprocess.DEVNULL)
            latency(tmp)
            for n in (1, o.targets):
                nets = start(["dotnet", tmp / "dn/Misbehave.dll", "idle"], n)
                try:
                    rows(tmp, [p.pid for p in nets], 1000,
                         (["threads"], ["dotnet.gc_heap_size"],
                          ["dotnet.gc_heap_size", "dotnet.gc_time", "dotnet.threadpool_queue", "dotnet.exceptions"],
                          # A counter named by the rule: the same session, one more provider.
                          ["{dotnet: System.Runtime/cpu-usage}"]),
                         o.seconds, ".NET programs")
                finally:
                    for p in nets:
                        p.kill()
                        p.wait()


if __name__ == "__main__":
    main()
