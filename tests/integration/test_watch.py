"""`autodump watch`: -p PIDs, processes found by rule targets, clean exit on
SIGTERM, and identity by (pid, start time) across PID reuse."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, trigger, wait_for

THREADS_RULE = """
defaults: {interval: 200ms, max: 1}
rules:
  - name: many-threads
    metric: threads
    when: {above: 10}
    actions: [stacks]
"""


def test_watch_pid_fires_and_exits_on_sigterm(tmp_path, rules, autodump, target):
    out = tmp_path / "out"
    t = target("threads", "after=1", "count=20")
    a = autodump("watch", "-r", rules(THREADS_RULE), "-o", out, "-p", t.pid)
    a.wait_log("artifact written")
    a.signal(signal.SIGTERM)
    assert a.wait() == 0
    doc = trigger(artifacts(out)[0])
    assert doc["target"]["pid"] == t.pid
    assert t.poll() is None, "the target must live on"


def test_watch_finds_new_processes_by_comm_and_cmdline(tmp_path, rules, autodump, target):
    out = tmp_path / "out"
    r = rules("""
defaults: {interval: 200ms, max: 1}
rules:
  - name: by-cmdline
    target: {comm: misbehave, cmdline: 'threads .*count=2[0-9] tag=watch-by-cmdline'}
    metric: threads
    when: {above: 10}
    actions: [stacks]
""")
    a = autodump("watch", "-v", "-r", r, "-o", out)
    time.sleep(0.5)
    other = target("threads", "count=30", "tag=watch-by-cmdline")   # comm matches, cmdline not
    wanted = target("threads", "after=0.5", "count=25", "tag=watch-by-cmdline")
    a.wait_log("artifact written")
    a.signal(signal.SIGINT)
    assert a.wait() == 0
    found = artifacts(out)
    assert len(found) == 1
    assert trigger(found[0])["target"]["pid"] == wanted.pid
    assert f"misbehave[{other.pid}]" not in a.text()


def test_watch_exits_when_all_listed_pids_exit(tmp_path, rules, autodump, target):
    t = target("idle")
    a = autodump("watch", "-r", rules(THREADS_RULE), "-o", tmp_path / "out", "-p", t.pid)
    a.wait_log(f"watching misbehave[{t.pid}]")
    t.kill()
    assert a.wait(10) == 0
    assert f"stopped watching misbehave[{t.pid}]: exited" in a.text()


def test_watch_nonexistent_pid(tmp_path, rules, autodump):
    a = autodump("watch", "-r", rules(THREADS_RULE), "-o", tmp_path / "out", "-p", "4194303")
    assert a.wait(10) == 1
    assert "PID 4194303: no such process" in a.text()
    assert "nothing to watch" in a.text()


def spawn_with_pid(pid, args):
    """Starts a process that gets PID `pid`, through ns_last_pid."""
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        p = subprocess.Popen(args)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    pytest.skip("could not get the PID back (busy machine)")


def test_pid_reuse_is_a_new_target(tmp_path, rules, autodump, target):
    """A process that reuses a watched PID starts with fresh rings: its
    memory is never compared with the old process's mean."""
    out = tmp_path / "out"
    r = rules("""
defaults: {interval: 200ms, window: 3}
rules:
  - name: rss-spike
    target: {comm: misbehave}
    metric: rss
    when: {spike: 50%, min: 50MiB}
    actions: [stacks]
""")
    a = autodump("watch", "-v", "-r", r, "-o", out)
    old = target("idle")
    a.wait_log(f"watching misbehave[{old.pid}]")
    time.sleep(1.5)                             # the old process's window is full
    pid = old.pid
    old.kill()
    old.wait()
    a.wait_log(f"stopped watching misbehave[{pid}]")
    new = spawn_with_pid(pid, [MISBEHAVE, "leak", "rate=2000", "max=200"])
    try:
        wait_for(lambda: a.text().count(f"watching misbehave[{pid}] with") == 2, 10,
                 what="the new process to be watched")
        time.sleep(2.5)                          # a warm-up and more at 200 MiB, flat
        assert "fired" not in a.text(), a.text()
        assert artifacts(out) == []
    finally:
        new.kill()
        new.wait()


def test_watch_pid_does_not_follow_a_reused_pid(tmp_path, rules, autodump, target):
    """-p names a process, not a number: a new process on the same PID is
    not watched, though it would fire the rule at once."""
    t = target("idle")
    other = target("idle")
    a = autodump("watch", "-r", rules(THREADS_RULE), "-o", tmp_path / "out", "-p", t.pid, "-p", other.pid)
    a.wait_log(f"watching misbehave[{other.pid}]")
    pid = t.pid
    t.kill()
    t.wait()
    a.wait_log(f"stopped watching misbehave[{pid}]")
    new = spawn_with_pid(pid, [MISBEHAVE, "threads", "count=20"])
    try:
        time.sleep(1.5)
        assert a.text().count(f"watching misbehave[{pid}] with") == 1
        assert "fired" not in a.text()
    finally:
        new.kill()
        new.wait()


def test_sigterm_waits_for_the_running_collection(tmp_path, rules, autodump, target):
    out = tmp_path / "out"
    r = rules("""
defaults: {interval: 200ms, max: 1}
rules:
  - name: slow
    metric: threads
    when: {above: 0}
    actions: [{exec: {argv: [/bin/sleep, '2']}}, stacks]
""")
    t = target("idle")
    a = autodump("watch", "-r", r, "-o", out, "-p", t.pid)
    a.wait_log("rule slow fired")
    a.signal(signal.SIGTERM)
    assert a.wait(30) == 0
    assert "finishing 1 running collection(s), then exiting" in a.text()
    found = artifacts(out)
    assert len(found) == 1
    assert [x["status"] for x in trigger(found[0])["actions"]] == ["ok", "ok"]


def test_title_set_after_start_is_matched(tmp_path, rules, autodump):
    """A worker that sets its title after it starts, as PostgreSQL backends
    and nginx workers do: same pid, start time and comm, a new cmdline. The
    rescan asks again and matches it."""
    r = rules("defaults: {interval: 200ms}\nrules:\n  - name: billing\n"
              "    target: {cmdline: '^billing worker'}\n    metric: threads\n    when: {above: 1000}\n"
              "    actions: [stacks]\n")
    p = subprocess.Popen([MISBEHAVE, "retitle", "after=2", "title=billing worker process"])
    try:
        a = autodump("watch", "-v", "-r", r, "-o", tmp_path / "out")
        time.sleep(1)
        assert f"[{p.pid}]" not in a.text()              # not before its title is set
        a.wait_log(f"watching misbehave[{p.pid}]", timeout=20)
    finally:
        p.kill()
        p.wait()


ZOMBIE_PARENT = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None)
libc.prctl(15, b"zomb", 0, 0, 0)        # PR_SET_NAME, inherited by the child
child = os.fork()
if child == 0:
    os._exit(0)
print(child, flush=True)
time.sleep(60)                          # never waits: the child stays a zombie
"""


def test_zombies_and_kernel_threads_are_never_targets(tmp_path, rules, autodump):
    # Both match by name; neither can be sampled, stopped or dumped, and
    # firing on them only failed with a misleading hint.
    parent = subprocess.Popen(["/usr/bin/python3", "-c", ZOMBIE_PARENT], stdout=subprocess.PIPE, text=True)
    zombie = int(parent.stdout.readline())
    wait_for(lambda: Path(f"/proc/{zombie}/stat").read_text().split(") ")[1].startswith("Z"))
    r = rules("""
defaults: {interval: 200ms, max: 1}
rules:
  - {name: zomb, target: {comm: zomb}, metric: threads, when: {above: 0}, actions: [stacks]}
  - {name: kernel, target: {comm: kthreadd}, metric: threads, when: {above: 0}, actions: [stacks]}
""")
    a = autodump("watch", "-v", "-r", r, "-o", tmp_path / "out")
    a.wait_log(f"rule zomb fired on zomb[{parent.pid}]")
    time.sleep(1)
    a.signal(signal.SIGTERM)
    a.wait()
    assert f"[{zombie}]" not in a.text() and "kthreadd" not in a.text(), a.text()

    a = autodump("watch", "-r", rules(THREADS_RULE), "-o", tmp_path / "out", "-p", "2")
    assert a.wait() != 0
    assert "PID 2 is a kernel thread" in a.text()
    parent.kill()
    parent.wait()


def test_short_lived_processes_do_not_flood_the_log(tmp_path, rules, autodump):
    # On a busy host, thousands of processes a second can match a rule:
    # each one's line is for -v; the log keeps firings and failures.
    r = rules("defaults: {interval: 100ms}\nrules:\n"
              "  - {name: busy, target: {comm: misbehave}, metric: cpu, when: {above: 1000}, actions: [stacks]}\n")
    quiet = autodump("watch", "-r", r, "-o", tmp_path / "out")
    verbose = autodump("watch", "-v", "-r", r, "-o", tmp_path / "out")
    for _ in range(30):
        procs = [subprocess.Popen([MISBEHAVE, "exit", "after=0.15"]) for _ in range(10)]
        for p in procs:
            p.wait()
    time.sleep(0.5)
    for a in (quiet, verbose):
        a.signal(signal.SIGTERM)
        a.wait()
    assert verbose.text().count("watching misbehave[") > 20, verbose.text()
    assert "misbehave[" not in quiet.text() and len(quiet.text().splitlines()) < 5, quiet.text()


def test_process_events_see_a_50ms_process_and_an_exec_that_renames(tmp_path, rules, autodump):
    """With the kernel's process events, /proc is listed every [watch]
    rescan only (here never again within the test): a process that lives
    50 ms, and one that execs into a name a rule wants, are still seen."""
    shutil.copy("/bin/sleep", tmp_path / "shortlived")
    shutil.copy("/bin/sleep", tmp_path / "renamed")
    conf = tmp_path / "autodump.conf"
    conf.write_text("[watch]\ninterval = 30s\nrescan = 60s\n")
    r = rules("defaults: {interval: 100ms}\nrules:\n"
              "  - {name: short, target: {comm: shortlived}, metric: rss, when: {above: 1TiB}, actions: [stacks]}\n"
              "  - {name: ren, target: {comm: renamed}, metric: rss, when: {above: 1TiB}, actions: [stacks]}\n")
    a = autodump("watch", "-v", "-c", conf, "-r", r, "-o", tmp_path / "out")
    a.wait_log("no process matches the rules yet; looking again as processes start")
    short = subprocess.Popen([tmp_path / "shortlived", "0.05"])
    short.wait()
    a.wait_log(f"watching shortlived[{short.pid}]", timeout=5)
    p = subprocess.Popen(["sh", "-c", f"sleep 0.3; exec {tmp_path / 'renamed'} 2"])
    a.wait_log(f"watching renamed[{p.pid}]", timeout=5)
    p.wait()
