"""The soak test, outside CI's time budget: `autodump watch` under churn for
a long time, its own resources sampled from outside.

  soak.py [--minutes 30] [--rate 200] [--asan] [--record]

- `rate` short-lived processes a second (misbehave, 300 ms each) match a
  cpu rule sampled every 100 ms: discovery, targets and bindings come and
  go all the time;
- a long-lived target fires a rule every ~5 s with stacks, a core and an
  exec hook;
- the output is a small tmpfs (24 MiB) that fills up: [storage] limits
  (8 MiB, 30 artifacts, 10% free) prune it.

Every 10 s the watchdog's RSS, open fds and CPU are printed; at the end,
start against end. Growth under a steady load is a leak. With --asan the
watchdog is the AddressSanitizer build (build-asan, as scripts/test.sh
makes it; collectors too: they are forks of it) and whatever it reports,
leaks at exit included, is printed. (Not valgrind: Debian 12's 3.19 does
not know pidfd_open, so nothing could be watched.) With --record
everything is also recorded (max_size 16 MiB): the database's size, what
it kept and how often it was pruned are printed at the end. Needs root."""
import argparse
import os
import sqlite3
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))
MISBEHAVE = os.environ.get("MISBEHAVE", str(Path(__file__).parents[2] / "build/tests/targets/misbehave"))

RULES = """
rules:
  - name: churn
    target: {comm: misbehave, cmdline: 'exit after=0.3'}
    metric: cpu
    interval: 100ms
    when: {above: 1000}
    actions: [stacks]
  - name: steady
    target: {comm: misbehave, cmdline: 'wide threads=20 .* soak'}
    metric: threads
    interval: 500ms
    cooldown: 5s
    max: 0
    when: {above: 10}
    actions: [stacks, {core: {filter: 0x01}}, {exec: {argv: [/bin/true, '{dir}']}}]
"""


def resources(pid, clk=os.sysconf("SC_CLK_TCK")):
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / clk
    return rss, fds, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("--record", action="store_true", help="also record to SQLite, max_size 16MiB")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="autodump-soak-"))
    out = work / "out"
    out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "soak", str(out)], check=True)
    (work / "rules.yaml").write_text(RULES)
    (work / "autodump.conf").write_text(f"[watch]\nrules = {work}/rules.yaml\ninterval = 100ms\n"
                                        "[storage]\nmax_total = 8MiB\nmax_count = 30\nmin_free = 10%\n"
                                        "[collect]\ntimeout = 60s\n"
                                        + (f"[record]\npath = {work}/soak.db\nmax_size = 16MiB\n" if args.record
                                           else ""))
    binary = str(ROOT / "build-asan/src/autodump") if args.asan else AUTODUMP
    cmd = [binary, "watch", "-c", str(work / "autodump.conf"), "-o", str(out)]
    env = dict(os.environ, ASAN_OPTIONS=f"detect_leaks=1:log_path={work}/asan",
               LSAN_OPTIONS=f"suppressions={ROOT}/tests/lsan.supp")
    log = open(work / "autodump.log", "w")
    # 4 MiB written: each core takes that much of the tmpfs.
    steady = subprocess.Popen([MISBEHAVE, "wide", "threads=20", "reserve=64", "touch=4", "soak"],
                              stdout=subprocess.DEVNULL)
    watchdog = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    time.sleep(1)

    samples = []
    spawned = 0
    end = time.monotonic() + args.minutes * 60
    next_sample = time.monotonic()
    gap = 1.0 / args.rate
    try:
        print(f"{'minute':>6} {'rss KiB':>9} {'fds':>5} {'cpu s':>8} {'cpu %':>6} {'artifacts':>9} {'spawned':>8}")
        while time.monotonic() < end:
            t0 = time.monotonic()
            os.posix_spawn(MISBEHAVE, [MISBEHAVE, "exit", "after=0.3"], os.environ)
            spawned += 1
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            if t0 >= next_sample:
                rss, fds, cpu = resources(watchdog.pid)
                pct = 100 * (cpu - samples[-1][3]) / (t0 - samples[-1][0]) if samples else 0
                samples.append((t0, rss, fds, cpu))
                n = len([p for p in out.iterdir() if not p.name.startswith(".")])
                minute = (t0 - samples[0][0]) / 60
                print(f"{minute:6.1f} {rss:9d} {fds:5d} {cpu:8.1f} {pct:6.1f} {n:9d} {spawned:8d}", flush=True)
                next_sample = t0 + 10
            time.sleep(max(0.0, gap - (time.monotonic() - t0)))
    finally:
        watchdog.send_signal(signal.SIGTERM)
        watchdog.wait(120)
        steady.kill()
        log.close()
        fired = (work / "autodump.log").read_text().count("fired on")
        subprocess.run(["umount", str(out)])
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    print(f"after the first 10 s: rss {first[1]} KiB, {first[2]} fds; at the end: rss {last[1]} KiB, {last[2]} fds")
    print(f"{spawned} processes spawned, {fired} firings, watchdog CPU {last[3]:.1f} s in {args.minutes:g} min "
          f"({100 * last[3] / (last[0] - samples[0][0]):.1f}% of a core); log {work}/autodump.log")
    if args.asan:
        reports = sorted(work.glob("asan.*"))
        print(f"ASan: {len(reports)} report(s), watchdog exit status {watchdog.returncode}")
        for f in reports:
            print(f.name, f.read_text(), sep="\n")
    if args.record:
        db = work / "soak.db"
        con = sqlite3.connect(db)
        targets, samples, firings = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                     for t in ("targets", "samples", "firings"))
        print(f"recording: {db.stat().st_size / 1048576:.1f} MiB, {targets} targets, {samples} samples kept, "
              f"{firings} firings; pruned {(work / 'autodump.log').read_text().count('pruned the oldest')} times")


if __name__ == "__main__":
    sys.exit(main())
