"""`autodump watch` as a service: SIGHUP reloads (a broken file keeps the
old rules, errors with positions; a fixed one brings new rules while kept
rules keep their state), and systemd is told READY, RELOADING, STOPPING
and a status line on $NOTIFY_SOCKET."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import AUTODUMP, MISBEHAVE, wait_for

KEPT = """  - name: kept
    target: {comm: misbehave}
    metric: threads
    when: {above: 10}
    actions: [stacks]
    max: 2
    cooldown: 500ms
"""
STEADY = """  - name: steady
    target: {comm: misbehave}
    metric: threads
    when: {above: 10}
    actions: [stacks]
    max: 0
    cooldown: 1s
"""
FRESH = """  - name: fresh
    target: {comm: misbehave}
    metric: threads
    when: {above: 5}
    actions: [stacks]
    max: 1
"""


def fired(a, rule):
    return a.text().count(f"rule {rule} fired on misbehave")


def test_reload_keeps_state_and_survives_errors(tmp_path, autodump, target):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    (rules_d / "a.yaml").write_text("defaults: {interval: 200ms}\nrules:\n" + KEPT + STEADY)
    conf = tmp_path / "autodump.conf"
    conf.write_text(f"[watch]\nrules = {rules_d}\ninterval = 200ms\n[collect]\nparallel = 4\n")
    t = target("threads", "count=20")
    a = autodump("watch", "-c", conf, "-o", tmp_path / "out")
    wait_for(lambda: fired(a, "kept") == 2 and fired(a, "steady") >= 2, what=f"two firings each:\n{a.text()}")

    # A broken file: every error with its position, the old rules stay.
    (rules_d / "b.yaml").write_text("rules:\n  - name: fresh\n    metric: threads\n    when: {above: lots}\n"
                                    "    actions: [stacks]\n")
    a.signal(signal.SIGHUP)
    a.wait_log("reload failed: the config and rules in force are kept")
    assert f"{rules_d}/b.yaml:4:19: above: 'lots' is not a number" in a.text()
    before = fired(a, "steady")
    wait_for(lambda: fired(a, "steady") >= before + 2, what="the old rules firing on")

    # Fixed, and `steady` removed: `fresh` fires at once; `kept` keeps its
    # count (max 2 reached before the reload) and never fires again.
    (rules_d / "a.yaml").write_text("defaults: {interval: 200ms}\nrules:\n" + KEPT)
    (rules_d / "b.yaml").write_text("rules:\n" + FRESH)
    a.signal(signal.SIGHUP)
    a.wait_log("reloaded: 2 rules; 1 of 2 bindings kept their state")
    wait_for(lambda: fired(a, "fresh") == 1, what="the new rule")
    steady_after = fired(a, "steady")
    time.sleep(2.5)
    assert fired(a, "kept") == 2
    assert fired(a, "steady") == steady_after
    assert fired(a, "fresh") == 1
    # A vanished rules directory is an error, not "no rules".
    for f in rules_d.iterdir():
        f.unlink()
    rules_d.rmdir()
    a.signal(signal.SIGHUP)
    wait_for(lambda: a.text().count("reload failed") == 2, what="the second failed reload")
    assert f"{rules_d}:1:1: cannot read: No such file or directory" in a.text()
    a.signal(signal.SIGTERM)
    assert a.wait() == 0


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    yield s, path
    s.close()


def messages_until(sock, needle, got):
    while not any(needle in m for m in got):
        got.append(sock.recv(4096).decode())
    return got


def test_sd_notify(tmp_path, autodump, target, notify_socket):
    sock, path = notify_socket
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n" + KEPT)
    t = target("threads", "count=20")
    a = autodump("watch", "-r", rules, "-o", tmp_path / "out",
                 env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    got = messages_until(sock, "READY=1", [])
    assert any(m.startswith("STATUS=watching 1 process and ") and "with 1 rule" in m for m in got), got
    messages_until(sock, "WATCHDOG=1", got)
    wait_for(lambda: fired(a, "kept") >= 1, what="a firing")
    messages_until(sock, "since start, last ", got)
    a.signal(signal.SIGHUP)
    got = messages_until(sock, "RELOADING=1", [])
    reloading = next(m for m in got if "RELOADING=1" in m)
    assert "MONOTONIC_USEC=" in reloading
    messages_until(sock, "READY=1", got)
    a.signal(signal.SIGTERM)
    messages_until(sock, "STOPPING=1", got)
    assert a.wait() == 0


def test_journal_priorities_and_timestamps(tmp_path, rules):
    # stderr is "the journal" when JOURNAL_STREAM names its device and inode.
    log = tmp_path / "stderr"
    out = tmp_path / "out"
    bad = rules("rules:\n  - name: x\n    metric: rss\n    when: {above: lots}\n    actions: [core]\n", "bad.yaml")
    with open(log, "w") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        subprocess.run([AUTODUMP, "run", "-o", str(out), "--", MISBEHAVE, "crash"], stderr=f, env=env, timeout=60)
        subprocess.run([AUTODUMP, "run", "-r", str(bad), "--", "true"], stderr=f, env=env, timeout=60)
    lines = log.read_text().splitlines()
    assert "<6>started " + MISBEHAVE in "\n".join(lines)
    assert any(l.startswith("<5>crash: fired on misbehave[") for l in lines), lines
    assert f"<3>{bad}:4:19: above: 'lots' is not a size (bytes, or KiB MiB GiB TiB / KB MB GB TB)" in lines
    # A JOURNAL_STREAM that names another stream (a wrapper redirected
    # stderr) is not the journal: timestamps, no priorities.
    r = subprocess.run([AUTODUMP, "run", "-o", str(out), "--", MISBEHAVE, "exit", "code=0"], capture_output=True,
                       text=True, env=dict(os.environ, JOURNAL_STREAM="1:2"), timeout=60)
    first = r.stderr.splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ autodump: ", first), first
