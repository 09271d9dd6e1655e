"""Discovery and sampling at scale: a synthetic host of --processes idle
processes, --matched of them selected by a rule sampled every second;
autodump's CPU (% of a core) and RSS over --seconds, with the kernel's
process events (/proc listed every [watch] rescan) and without them
(rescan = 0: /proc listed every interval), side by side in one run.

  bench_discovery.py [--processes 10000] [--matched 1000] [--seconds 30]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from procstat import cpu_seconds, rss_mib

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))


def spawn(program, n):
    """n idle copies of `program`, started by one shell."""
    return subprocess.Popen(["sh", "-c", f'i=0; while [ $i -lt {n} ]; do "{program}" 86400 & i=$((i+1)); done; wait'])


def measure(tmp, rescan, seconds):
    conf = Path(tmp) / f"c{rescan}.conf"
    conf.write_text(f"[watch]\ninterval = 1s\nrescan = {rescan}\n")
    rules = Path(tmp) / "rules.yaml"
    rules.write_text("rules:\n  - {name: m, target: {comm: matched}, metric: rss, interval: 1s, "
                     "when: {above: 1TiB}, actions: [stacks]}\n")
    a = subprocess.Popen([AUTODUMP, "watch", "-q", "-c", conf, "-r", rules, "-o", Path(tmp) / "out"])
    time.sleep(5)       # the first scan, and the targets opened
    c0, t0 = cpu_seconds(a.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(a.pid), time.monotonic()
    rss = rss_mib(a.pid)
    a.terminate()
    a.wait()
    return (c1 - c0) / (t1 - t0) * 100, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=10000)
    ap.add_argument("--matched", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=30)
    o = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy("/bin/sleep", Path(tmp) / "matched")
        shutil.copy("/bin/sleep", Path(tmp) / "idle")
        shells = [spawn(Path(tmp) / "matched", o.matched), spawn(Path(tmp) / "idle", o.processes - o.matched)]
        try:
            while len(list(Path("/proc").glob("[0-9]*"))) < o.processes:
                time.sleep(0.5)
            total = len(list(Path("/proc").glob("[0-9]*")))
            print(f"# {total} processes on the host, {o.matched} selected by a rule sampled every 1 s (rss): "
                  f"autodump's CPU over {o.seconds} s")
            for label, rescan in (("process events, rescan 30s", "30s"), ("/proc listed every 1s", "0s")):
                cpu, rss = measure(tmp, rescan, o.seconds)
                print(f"{label:>28}: {cpu:5.2f}% of a core, RSS {rss:5.1f} MiB", flush=True)
        finally:
            subprocess.run(["pkill", "-f", f"{tmp}/(matched|idle) 86400"])
            for s in shells:
                s.kill()
                s.wait()


if __name__ == "__main__":
    main()
