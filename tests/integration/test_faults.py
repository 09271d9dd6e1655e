"""Bad situations: each gives a clear reason in trigger.json (or on stderr),
the target is never left stopped, and the watchdog keeps watching."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from pathlib import Path

from conftest import (AUTODUMP, MISBEHAVE, action, artifacts, children_of, proc_state, run_leak, trigger,
                      wait_for)


def collect(*args, env=None, **kwargs):
    return subprocess.run([AUTODUMP, "collect", *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **(env or {})), **kwargs)


def test_manual_collect_writes_the_same_layout(tmp_path, target):
    t = target("threads", "count=5")
    time.sleep(0.3)
    r = collect("stacks,core", "-o", tmp_path / "out", t.pid)
    assert r.returncode == 0, r.stderr
    art = Path(r.stdout.strip())
    assert art.parent == tmp_path / "out" and art.name.endswith(f"-manual-misbehave-{t.pid}")
    doc = trigger(art)
    assert doc["manual"] is True and doc["rule"] == "manual"
    assert [a["status"] for a in doc["actions"]] == ["ok", "ok"]
    assert len([l for l in (art / "stacks.txt").read_text().splitlines() if l.startswith("thread ")]) == 6
    assert proc_state(t.pid) in ("S", "R")


def test_collect_nonexistent_pid(tmp_path):
    r = collect("stacks", "-o", tmp_path / "out", 4194303)
    assert r.returncode == 1
    assert "PID 4194303: no such process" in r.stderr
    assert not (tmp_path / "out").exists()


def test_gdb_missing_fails_the_gcore_only(tmp_path, rules, autodump):
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: t\n    metric: threads\n    when: {above: 0}\n"
              "    actions: [{core: {via: gcore}}, stacks]\n")
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, "idle", env={"PATH": "/nonexistent"})
    a.wait_log("artifact written")
    doc = trigger(artifacts(out)[0])
    gcore, stacks = doc["actions"]
    assert gcore["status"] == "failed"
    assert gcore["error"] == "gdb not found in PATH; install it (apt-get install gdb)"
    assert stacks["status"] == "ok"


def test_already_traced_is_skipped(tmp_path, target):
    t = target("idle")
    time.sleep(0.2)
    gdb = subprocess.Popen(["gdb", "--nx", "--batch", "-p", str(t.pid), "-ex", "shell sleep 30"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: "TracerPid:\t0" not in Path(f"/proc/{t.pid}/status").read_text(),
                 what="gdb to attach")
        r = collect("stacks,core", "-o", tmp_path / "out", t.pid)
        doc = trigger(Path(r.stdout.strip()))
        for name in ("stacks", "core"):
            a = action(doc, name)
            assert a["status"] == "skipped", a
            assert a["error"].startswith("process is already traced by PID "), a
    finally:
        gdb.kill()
        gdb.wait()


def test_ptrace_refused_without_privilege(target):
    t = target("idle")
    # pytest's own tmp_path is private to root: the unprivileged run needs
    # a directory it can reach and write, and it must be its own.
    out = Path(tempfile.mkdtemp(prefix="autodump-nobody-"))
    os.chown(out, 65534, 65534)
    time.sleep(0.2)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        AUTODUMP, "collect", "stacks", "-o", str(out), str(t.pid)],
                       capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 1, r.stderr
        doc = trigger(Path(r.stdout.strip()))
        stacks = action(doc, "stacks")
        assert stacks["status"] == "failed"
        assert stacks["error"].startswith("ptrace refused: not permitted"), stacks
    finally:
        shutil.rmtree(out)


def test_unwritable_output_keeps_watching(tmp_path, rules, autodump):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = rules("defaults: {interval: 200ms, cooldown: 500ms, max: 3}\nrules:\n"
              "  - name: many-threads\n    metric: threads\n    when: {above: 10}\n    actions: [stacks]\n")
    a = autodump("run", "-r", r, "-o", blocker / "out", "--", MISBEHAVE, "threads", "count=20")
    wait_for(lambda: a.text().count("cannot create artifact directory") >= 2, 20, what=a.text())
    assert f"refusing output directory {blocker}/out: {blocker} is not a directory" in a.text()
    assert a.proc.poll() is None, "the watchdog must keep running"


def partial_target_pid(out):
    """The target of the artifact being built, once its trigger.json is."""
    partial = wait_for(lambda: next((p for p in out.glob(".*.partial") if (p / "trigger.json").exists()), None),
                       what="a partial artifact")
    return trigger(partial)["target"]["pid"]


def collector_of(a):
    """The collector: the child of autodump that is autodump too."""
    return next((c for c in children_of(a.proc.pid)
                 if Path(f"/proc/{c}/comm").read_text().strip() == "autodump"), None)


def gcore_of(collector_pid):
    kids = children_of(collector_pid)
    return next((k for k in kids if "gdb" in Path(f"/proc/{k}/comm").read_text()), None)


def test_killed_collector_leaves_target_running_gcore(tmp_path, rules, autodump, target):
    """SIGKILL the collector while gdb holds the target: the watchdog records
    the failure and makes sure the target is not left in state T."""
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, "{core: {via: gcore}}", "400MiB", 4000, 1024)
    a.wait_log("rule big fired")
    collector = wait_for(lambda: collector_of(a), what="the collector")
    wait_for(lambda: gcore_of(collector), what="gdb to start")
    target_pid = partial_target_pid(out)
    wait_for(lambda: proc_state(target_pid) in ("t", "T"), what="gdb to stop the target")
    os.kill(collector, signal.SIGKILL)
    a.wait_log("collector died of signal 9")
    wait_for(lambda: proc_state(target_pid) in ("S", "R"), 5, what="the target to run again")
    time.sleep(0.5)
    assert proc_state(target_pid) in ("S", "R")
    found = artifacts(out)
    assert len(found) == 1
    doc = trigger(found[0])
    core = action(doc, "core")
    assert core["status"] == "failed"
    assert core["error"] == "collector died of signal 9 (Killed)"
    assert doc["complete"] is False
    assert not list(out.glob(".*"))
    assert a.proc.poll() is None


def test_killed_collector_leaves_target_running_native(tmp_path, rules, autodump):
    """The stop writer holds the target with PTRACE_SEIZE: when its
    collector is killed, the kernel lets every thread run on."""
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, "{core: {via: stop}}", "1500MiB", 8000, 3072)
    a.wait_log("rule big fired")
    collector = wait_for(lambda: collector_of(a), what="the collector")
    target_pid = partial_target_pid(out)
    wait_for(lambda: proc_state(target_pid) == "t", interval=0.005, what="the writer to stop the target")
    os.kill(collector, signal.SIGKILL)
    a.wait_log("collector died of signal 9")
    assert proc_state(target_pid) in ("S", "R")
    art = artifacts(out)[0]
    core = action(trigger(art), "core")
    assert core["status"] == "failed" and core["error"] == "collector died of signal 9 (Killed)"
    assert sorted(f.name for f in art.iterdir()) == ["proc", "trigger.json"]   # no half core


def test_killed_collector_mid_snapshot_leaves_no_snapshot_behind(tmp_path, rules, autodump):
    """Killed while it writes from a snapshot: the kernel kills the
    snapshot with it (PTRACE_O_EXITKILL), and the watchdog has the target
    reap its zombie."""
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, "core", "1500MiB", 8000, 3072)
    a.wait_log("rule big fired")
    collector = wait_for(lambda: collector_of(a), what="the collector")
    target_pid = partial_target_pid(out)
    note = wait_for(lambda: next(iter(out.glob(".*.partial/.snapshot")), None), interval=0.002,
                    what="the core being written from a snapshot")
    snapshot = int(note.read_text().split()[2])
    assert children_of(target_pid) == [snapshot]
    os.kill(collector, signal.SIGKILL)
    a.wait_log("collector died of signal 9")
    assert proc_state(target_pid) in ("S", "R")
    wait_for(lambda: children_of(target_pid) == [] and proc_state(snapshot) is None, what="the snapshot reaped")
    core = action(trigger(artifacts(out)[0]), "core")
    assert core["status"] == "failed" and core["error"] == "collector died of signal 9 (Killed)"


@pytest.mark.parametrize("core", ["{core: {via: gcore}}", "{core: {via: stop}}"])
def test_target_exiting_mid_capture(tmp_path, rules, autodump, core):
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, f"{core}, stacks", "1500MiB", 8000, 3072)
    a.wait_log("rule big fired")
    target_pid = partial_target_pid(out)
    wait_for(lambda: proc_state(target_pid) in ("t", "T"), interval=0.005, what="the target to be stopped")
    if "stop" in core:
        # For the native writer stopped is not enough: the first thread
        # shows 't' while the others are still being stopped, and a kill
        # then comes before the capture. Its partial core exists only once
        # it is past stopping. (gdb holds the target stopped throughout.)
        wait_for(lambda: list(out.glob(".*.partial/.core.partial")), interval=0.002, what="the core being written")
    os.kill(target_pid, signal.SIGKILL)
    a.wait_log("artifact written")
    assert a.wait(30) == 128 + 9
    art = artifacts(out)[0]
    doc = trigger(art)
    c, stacks = doc["actions"]
    assert c["status"] == "failed" and c["error"] == "process exited during the capture", c
    assert not [f for f in art.iterdir() if f.name.startswith("core") and f.name != "core.gdb.log"]
    assert stacks["status"] == "failed", stacks
    assert doc["complete"] is True


def test_collection_timeout_is_recorded(tmp_path, rules, autodump):
    out = tmp_path / "out"
    conf = tmp_path / "autodump.conf"
    conf.write_text("[collect]\ntimeout = 1s\n")
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: slow\n    metric: threads\n    when: {above: 0}\n"
              "    actions: [stacks, {exec: {argv: [/bin/sleep, '60']}}]\n")
    a = autodump("run", "-c", conf, "-r", r, "-o", out, "--", MISBEHAVE, "idle")
    a.wait_log("collection timed out after 1s and was killed", timeout=15)
    doc = trigger(artifacts(out)[0])
    assert action(doc, "stacks")["status"] == "ok"
    ex = action(doc, "exec")
    assert ex["status"] == "failed" and ex["error"] == "collection timed out after 1s and was killed"
    assert not [p for p in Path("/proc").glob("[0-9]*")
                if p.joinpath("cmdline").exists() and b"/bin/sleep\x0060" in p.joinpath("cmdline").read_bytes()]


def test_min_free_skips_captures(tmp_path, rules, autodump):
    out = tmp_path / "out"
    conf = tmp_path / "autodump.conf"
    conf.write_text("[storage]\nmin_free = 100%\n")
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: t\n    metric: threads\n    when: {above: 0}\n    actions: [core]\n")
    a = autodump("run", "-c", conf, "-r", r, "-o", out, "--", MISBEHAVE, "idle")
    a.wait_log("artifact written")
    core = action(trigger(artifacts(out)[0]), "core")
    assert core["status"] == "skipped"
    assert "below min_free 100%" in core["error"]
