"""The pause a core costs, measured from outside: tests/targets/snapshotee
stamps CLOCK_MONOTONIC every ms in a thread of its own, and the largest
gap between two stamps is what a client would have felt. Side by side in
one run (the machine is noisy), for dense targets of 256 MiB, 1 GiB and
4 GiB, with 4 KiB pages and with transparent huge pages: a bare fork() of
the target (the floor of the technique), `core: {via: snapshot}`,
`core: {via: stop}` and gdb's gcore; with the whole time of each core and
what the snapshot cost in memory.

  bench_snapshot.py [--sizes 256,1024,4096] [--repeat 3] [--no-gcore]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))
SNAPSHOTEE = os.environ.get("SNAPSHOTEE", str(ROOT / "build/tests/targets/snapshotee"))


class Target:
    def __init__(self, mib, thp):
        self.p = subprocess.Popen([SNAPSHOTEE, f"mib={mib}", f"thp={int(thp)}"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self.pid = int(self.p.stdout.readline().split()[1])

    def ask(self, command):
        self.p.stdin.write(command + "\n")
        return float(self.p.stdout.readline().split()[1])

    def close(self):
        self.p.kill()
        self.p.wait()


def core(target, tmp, via):
    """(pause ms, whole seconds, extra MiB) of one core."""
    target.ask("gap")
    out = Path(tmp) / "out"
    t = time.monotonic()
    if via == "gcore":
        subprocess.run(["gdb", "--nx", "--batch", "-p", str(target.pid), "-ex", f"gcore {tmp}/gcore"],
                       capture_output=True, check=True)
        extra = None
    else:
        r = subprocess.run([AUTODUMP, "collect", "core", str(target.pid), "-o", out, "--via", via],
                           capture_output=True, text=True, check=True)
        act = json.loads((Path(r.stdout.strip()) / "trigger.json").read_text())["actions"][0]
        assert act["via"] == via, act
        extra = act.get("snapshot_extra_bytes", 0) / 2**20
    whole = time.monotonic() - t
    time.sleep(0.05)
    pause = target.ask("gap")
    shutil.rmtree(out, ignore_errors=True)
    Path(f"{tmp}/gcore").unlink(missing_ok=True)
    subprocess.run(["sync"])
    return pause, whole, extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,1024,4096")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-gcore", action="store_true")
    o = ap.parse_args()
    methods = ["snapshot", "stop"] + ([] if o.no_gcore or not shutil.which("gdb") else ["gcore"])
    print("# pause = the target's largest gap between 1 ms clock stamps (ms); best of", o.repeat)
    print(f"{'size':>6} {'pages':>5} {'fork()':>8} " + " ".join(f"{m + ' pause':>15} {'whole s':>8}" for m in methods)
          + f" {'snapshot/fork':>13} {'extra MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for mib in map(int, o.sizes.split(",")):
            for thp in (False, True):
                t = Target(mib, thp)
                try:
                    fork = min(t.ask("fork") for _ in range(o.repeat))
                    rows = {m: min((core(t, tmp, m) for _ in range(o.repeat)), key=lambda r: r[0]) for m in methods}
                finally:
                    t.close()
                cells = " ".join(f"{rows[m][0]:12.1f} ms {rows[m][1]:8.2f}" for m in methods)
                print(f"{mib:>4}Mi {'THP' if thp else '4K':>5} {fork:6.1f}ms {cells} "
                      f"{rows['snapshot'][0] / fork:12.1f}x {rows['snapshot'][2]:9.1f}", flush=True)


if __name__ == "__main__":
    main()
