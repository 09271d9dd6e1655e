"""What recording costs, and how fast a recording replays.

  bench_record.py [--targets 200] [--seconds 20] [--rounds 2]

`autodump watch` samples TARGETS idle processes (misbehave) on four
metrics every 100 ms, with rules that never fire, once without and once
with --record, alternated ROUNDS times (the machine is noisy: the two
are compared side by side). From outside: the watchdog's CPU time
(/proc/PID/stat utime + stime) over the same wall time. Prints:

- µs of CPU per sample, without and with recording, and the difference:
  what recording adds per sample;
- bytes the database grows per sample, and so per target-hour at 1 s
  (four metrics);
- replay speed in samples per second (`autodump replay` on the last
  recording, the same rules) and what that makes of an 8 h night, and
  report generation time.
Needs root (watch reads other processes)."""
import argparse
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from procstat import cpu_seconds

ROOT = Path(__file__).parents[2]
AUTODUMP = os.environ.get("AUTODUMP", str(ROOT / "build/src/autodump"))
MISBEHAVE = os.environ.get("MISBEHAVE", str(ROOT / "build/tests/targets/misbehave"))
METRICS = (("rss", "1TiB"), ("vsize", "1TiB"), ("threads", 100000), ("cpu", 10000))


def rules_text():
    return "defaults: {interval: 100ms}\nrules:\n" + "".join(
        f"  - name: quiet-{m}\n    target: {{comm: misbehave}}\n    metric: {m}\n    when: {{above: {v}}}\n"
        "    actions: [stacks]\n" for m, v in METRICS)


def one_run(tmp, rules, seconds, record):
    args = [AUTODUMP, "watch", "-q", "-r", rules, "-o", tmp / "out", "--dry-run"]
    if record:
        args += ["--record", record]
    a = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    time.sleep(2)                       # discovery done, rings warm
    start = cpu_seconds(a.pid)
    started = time.monotonic()
    time.sleep(seconds)
    used = cpu_seconds(a.pid) - start
    wall = time.monotonic() - started
    a.send_signal(signal.SIGTERM)
    a.wait(30)
    return used, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    o = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rules = tmp / "rules.yaml"
        rules.write_text(rules_text())
        idle = [subprocess.Popen([MISBEHAVE, "idle"], stdout=subprocess.DEVNULL) for _ in range(o.targets)]
        try:
            rate = o.targets * len(METRICS) * 10        # samples a second
            plain, recorded = [], []
            for r in range(o.rounds):
                used, wall = one_run(tmp, rules, o.seconds, None)
                plain.append(used / (wall * rate) * 1e6)
                db = tmp / f"bench-{r}.db"
                used, wall = one_run(tmp, rules, o.seconds, db)
                con = sqlite3.connect(db)
                n = con.execute("SELECT count(*) FROM samples").fetchone()[0]
                con.close()
                # The samples of the whole run (the first 2 s too), the CPU
                # of the measured part: per sample at the measured rate.
                recorded.append(used / (wall * rate) * 1e6)
                print(f"round {r + 1}: without {plain[-1]:.2f} µs/sample, with --record {recorded[-1]:.2f} "
                      f"µs/sample ({n} samples recorded)")
            best_plain, best_rec = min(plain), min(recorded)
            print(f"\nrecording adds {best_rec - best_plain:.2f} µs of CPU per sample "
                  f"({best_plain:.2f} -> {best_rec:.2f}, best of {o.rounds}; {rate} samples/s)")
            db = tmp / f"bench-{o.rounds - 1}.db"
            con = sqlite3.connect(db)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            n = con.execute("SELECT count(*) FROM samples").fetchone()[0]
            pages, page = (con.execute("PRAGMA page_count").fetchone()[0],
                           con.execute("PRAGMA page_size").fetchone()[0])
            con.close()
            per_sample = pages * page / n
            print(f"database: {pages * page / 1048576:.1f} MiB for {n} samples = {per_sample:.1f} bytes/sample; "
                  f"per target-hour at 1 s with {len(METRICS)} metrics: "
                  f"{per_sample * 3600 * len(METRICS) / 1024:.0f} KiB")
            started = time.monotonic()
            out = subprocess.run([AUTODUMP, "replay", "-r", rules, db], capture_output=True, text=True)
            took = time.monotonic() - started
            night = 8 * 3600 * 50 * len(METRICS)        # 8 h of 50 targets at 1 s
            print(f"replay: {n} samples in {took:.2f} s = {n / took:,.0f} samples/s; an 8 h night of 50 targets "
                  f"at 1 s ({night:,} samples) in {night / (n / took):.1f} s, "
                  f"{8 * 3600 / (night / (n / took)):,.0f}x real time ({out.stderr.strip()})")
            started = time.monotonic()
            subprocess.run([AUTODUMP, "report", db, "-o", tmp / "r.html"], check=True, capture_output=True)
            print(f"report: {time.monotonic() - started:.2f} s, {(tmp / 'r.html').stat().st_size / 1024:.0f} KiB "
                  f"of HTML for {o.targets} targets")
        finally:
            for p in idle:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
