"""Collector benchmarks, side by side in one run with gdb's gcore and
eu-stack: figures to quote, not assertions.

- wide sparse target (300 threads, 1 GiB mapped untouched, 16 MiB touched)
- dense target (1 GiB touched): plain and zstd
- stacks of a 500-thread target, against eu-stack
Times are wall seconds of the whole command; "stopped" is how long the
target was held (autodump measures it from first interrupt to last detach;
for gcore and eu-stack it is their whole run, during which they hold it).
Every run starts after a sync and its output is deleted right after it is
measured, so neither tool pays for the other's dirty pages.
"""
import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

AUTODUMP = os.environ["AUTODUMP"]
MISBEHAVE = os.environ["MISBEHAVE"]
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


@contextlib.contextmanager
def running(*args):
    """A misbehave process, started and waited for, killed afterwards."""
    p = subprocess.Popen([MISBEHAVE, *args], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    try:
        yield p
    finally:
        p.kill()
        p.wait()


def timed(cmd):
    subprocess.run(["sync"])
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {r.stderr}")
    return time.monotonic() - t0


def on_disk(path):
    return path.stat().st_blocks * 512


def autodump_collect(what, pid, tmp):
    out = Path(tempfile.mkdtemp(dir=tmp))
    t = timed([AUTODUMP, "collect", what, "-o", str(out), str(pid)])
    art = next(out.iterdir())
    doc = json.loads((art / "trigger.json").read_text())
    files = {f.name: (f.stat().st_size, on_disk(f)) for f in art.iterdir() if f.is_file()}
    subprocess.run(["rm", "-rf", str(out)])
    return t, doc["actions"][0], files


def run_rule(rules_text, tmp, args):
    """A core through a rule (for options such as compress), timed by
    trigger.json's own figures."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    rules = out / "rules.yaml"
    rules.write_text(rules_text)
    p = subprocess.Popen([AUTODUMP, "run", "-r", str(rules), "-o", str(out / "a"), "--", MISBEHAVE, *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "artifact written" in line:
            break
    p.terminate()
    p.wait()
    art = next(d for d in (out / "a").iterdir() if not d.name.startswith("."))
    return json.loads((art / "trigger.json").read_text())["actions"][0], art


def gcore(pid, tmp):
    path = Path(tmp) / f"gcore.{time.monotonic_ns()}"
    t = timed(["gdb", "--nx", "--batch", "-p", str(pid), "-ex", f"gcore {path}"])
    size, disk = path.stat().st_size, on_disk(path)
    path.unlink()
    return t, size, disk


def best(runs):
    return min(runs, key=lambda r: r[0])


def core_row(label, pid, tmp):
    nat = best([autodump_collect("core", pid, tmp) for _ in range(REPEAT)])
    gc = best([gcore(pid, tmp) for _ in range(REPEAT)])
    t, act, files = nat
    print(f"{label}: autodump {t:.3f} s (stopped {act['target_stopped_seconds']:.3f} s), "
          f"{act['bytes'] / 2**20:.0f} MiB written, {files['core'][1] / 2**20:.1f} MiB on disk | "
          f"gcore {gc[0]:.3f} s, {gc[1] / 2**20:.0f} MiB written, {gc[2] / 2**20:.1f} MiB on disk | "
          f"gcore/autodump time {gc[0] / t:.1f}", flush=True)


def main():
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        print(f"# core dumps (best of {REPEAT})")
        with running("wide", "threads=300", "reserve=1024", "touch=16") as p:
            core_row("wide sparse (300 threads, 1 GiB untouched, 16 MiB touched)", p.pid, tmp)
        with running("wide", "threads=1", "reserve=0", "touch=1024") as p:
            core_row("dense (1 GiB touched)", p.pid, tmp)

        for fill in ("pattern", "random"):
            act, art = run_rule("defaults: {interval: 200ms, max: 1}\nrules:\n"
                                "  - {name: z, metric: rss, when: {above: 1000MiB}, actions: [{core: {compress: zstd}}]}\n",
                                tmp, ["wide", "threads=1", "reserve=0", "touch=1024", f"fill={fill}"])
            logical = 1024 * 2**20
            print(f"dense 1 GiB ({fill} fill) with zstd: {act['seconds']:.3f} s (stopped "
                  f"{act['target_stopped_seconds']:.3f} s), {act['bytes'] / 2**20:.1f} MiB compressed, "
                  f"{logical / 2**20 / act['seconds']:.0f} MiB/s, ratio {logical / act['bytes']:.1f}", flush=True)
        print()
        print(f"# stacks of a 500-thread process (best of {REPEAT})")
        with running("threads", "count=499") as p:
            runs = [autodump_collect("stacks", p.pid, tmp) for _ in range(REPEAT)]
            t, act, _ = best(runs)
            eu = min(timed(["eu-stack", "-p", str(p.pid)]) for _ in range(REPEAT))
            print(f"autodump stacks {t:.3f} s (stopped {act['target_stopped_seconds']:.3f} s) | eu-stack {eu:.3f} s")


if __name__ == "__main__":
    main()
