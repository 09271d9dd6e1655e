"""What a JVM sample costs: watchdog CPU per target-sample for a /proc
metric (threads), a hsperfdata metric (jvm.threads) and both, on the same
JVMs in one run (the machine is noisy: the rows are side by side).

  bench_jvm.py [--jvms 10] [--seconds 15]

Each JVM is tests/targets/java/Misbehave idle; `autodump watch -p` samples
it every 10 ms. Needs javac (default-jdk-headless) and root."""
import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))


def cpu_seconds(pid):
    """Time on CPU, to the nanosecond (schedstat), not in clock ticks."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def run(tmp, pids, metrics, seconds):
    rules = tmp / f"rules-{'-'.join(metrics)}.yaml"
    rules.write_text("defaults: {interval: 10ms}\nrules:\n" + "".join(
        f"  - name: never-{m.replace('.', '-')}\n    metric: {m}\n    when: {{above: 10000000}}\n"
        "    actions: [stacks]\n" for m in metrics))
    a = subprocess.Popen([AUTODUMP, "watch", "-q", "-r", rules, "-o", tmp / "out",
                          *sum((["-p", str(p)] for p in pids), [])], stderr=subprocess.DEVNULL)
    time.sleep(2)
    c0, t0 = cpu_seconds(a.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(a.pid), time.monotonic()
    a.terminate()
    a.wait()
    return (c1 - c0) / (len(pids) * (t1 - t0) * 100) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jvms", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=15)
    o = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run(["javac", "-d", tmp, ROOT / "tests/targets/java/Misbehave.java"], check=True)
        jvms = [subprocess.Popen(["java", "-Xmx64m", "-cp", tmp, "Misbehave", "idle"], stdout=subprocess.PIPE,
                                 text=True) for _ in range(o.jvms)]
        try:
            for j in jvms:
                j.stdout.readline()
            pids = [j.pid for j in jvms]
            print(f"# watchdog CPU per target-sample, {o.jvms} JVMs every 10 ms, {o.seconds:.0f} s a row")
            for metrics in (["threads"], ["jvm.threads"], ["threads", "jvm.threads"],
                            ["jvm.threads", "jvm.heap_used", "jvm.gc_time", "jvm.classes"]):
                print(f"{' + '.join(metrics):>52}: {run(tmp, pids, metrics, o.seconds):6.2f} µs")
        finally:
            for j in jvms:
                j.kill()
                j.wait()


if __name__ == "__main__":
    main()
