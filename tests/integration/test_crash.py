"""`autodump run` captures crashes: the command's or any descendant's, held
in the fatal signal, then let die exactly as it would have. Read back with
gdb, as a user would."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, trigger

GO_SOURCE = Path(__file__).parents[1] / "targets/gopanic/main.go"


def run(*args, env=None, timeout=60):
    return subprocess.run([AUTODUMP, *[str(a) for a in args]], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def gdb_backtrace(binary, core):
    r = subprocess.run(["gdb", "-q", "-batch", "-ex", "bt", str(binary), str(core)], capture_output=True,
                       text=True, timeout=120)
    return r.stdout + r.stderr


def only_artifact(out):
    found = artifacts(out)
    assert len(found) == 1, found
    return found[0]


def test_segfault_of_the_command(tmp_path):
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", MISBEHAVE, "crash", "kind=segv")
    # Dies as it would have: the same signal, so the same status.
    assert r.returncode == 139, r.stderr
    art = only_artifact(out)
    t = trigger(art)
    assert t["rule"] == "crash" and t["event"] == "crash" and not t["manual"]
    c = t["crash"]
    assert (c["signal"], c["code_name"], c["address"]) == ("SIGSEGV", "SEGV_MAPERR", "0x10")
    pid = t["target"]["pid"]
    assert c["thread"] != pid, "the fault is on the worker thread"
    assert [a["status"] for a in t["actions"]] == ["ok", "ok"], t["actions"]
    assert f"crashed: SIGSEGV (SEGV_MAPERR) at 0x10 in thread {c['thread']}" in r.stderr
    # stacks.txt leads with the thread that crashed, in the function.
    stacks = (art / "stacks.txt").read_text()
    first = stacks.split("\nthread ")[1]
    assert first.startswith(f"{c['thread']} (misbehave) [crashed: SIGSEGV]"), stacks
    assert "crash_in_worker" in first.splitlines()[1]
    show = run("show", art).stdout
    assert f"crash:  SIGSEGV (SEGV_MAPERR) at 0x10 in thread {c['thread']}" in show
    # gdb opens the core at the faulting function, on the faulting thread.
    bt = gdb_backtrace(MISBEHAVE, art / "core")
    assert "Program terminated with signal SIGSEGV" in bt, bt
    assert "#0  crash_in_worker" in bt, bt
    assert f"LWP {c['thread']}" in bt


def test_abort_is_captured(tmp_path):
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", MISBEHAVE, "crash", "kind=abort")
    assert r.returncode == 134, r.stderr
    t = trigger(only_artifact(out))
    assert t["crash"]["signal"] == "SIGABRT"
    assert t["crash"]["code_name"] == "SI_TKILL"
    assert t["crash"]["address"] == "0x0"
    bt = gdb_backtrace(MISBEHAVE, only_artifact(out) / "core")
    assert "Program terminated with signal SIGABRT" in bt
    assert "crash_in_worker" in bt


def test_crash_of_a_grandchild(tmp_path):
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", "/bin/sh", "-c", f"{MISBEHAVE} child mode=crash kind=fpe; echo shell saw $?; exit 3")
    assert r.returncode == 3, r.stderr
    # The shell saw its child die of SIGFPE, as without autodump.
    assert "shell saw 136" in r.stdout
    t = trigger(only_artifact(out))
    assert t["crash"]["signal"] == "SIGFPE" and t["crash"]["code_name"] == "FPE_INTDIV"
    assert "child" in t["target"]["cmdline"]
    assert "crash_in_worker" in gdb_backtrace(MISBEHAVE, only_artifact(out) / "core")


def test_a_program_handling_sigsegv_is_left_alone(tmp_path):
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", MISBEHAVE, "handled")
    assert r.returncode == 0, r.stderr
    assert "recovered" in r.stdout
    assert artifacts(out) == []
    assert "crashed" not in r.stderr


def test_crash_rule_max_and_target(tmp_path, rules):
    out = tmp_path / "out"
    r = rules("rules:\n"
              "  - name: crash-misbehave\n    event: crash\n    target: {comm: misbehave}\n"
              "    actions: [stacks]\n    max: 1\n")
    loop = "; ".join([f"{MISBEHAVE} crash"] * 3)
    res = run("run", "-r", r, "-o", out, "--", "/bin/sh", "-c", f"{loop}; exit 0")
    assert res.returncode == 0, res.stderr
    assert len(artifacts(out)) == 1
    assert res.stderr.count("not captured: max or cooldown") == 2


@pytest.fixture(scope="module")
def gopanic(tmp_path_factory):
    go = shutil.which("go")
    if not go:
        pytest.skip("no go toolchain (golang-go)")
    d = tmp_path_factory.mktemp("go")
    env = dict(os.environ, GOCACHE=str(d / "cache"), GOPATH=str(d / "path"), GO111MODULE="off", CGO_ENABLED="0")
    subprocess.run([go, "build", "-o", str(d / "gopanic"), str(GO_SOURCE)], check=True, env=env, timeout=300)
    return d / "gopanic"


def test_go_nil_pointer_panic_is_the_runtimes(tmp_path, gopanic):
    # The Go runtime handles SIGSEGV and panics: not a crash event.
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", gopanic)
    assert r.returncode == 2, r.stderr
    assert "invalid memory address or nil pointer dereference" in r.stderr
    assert artifacts(out) == []


def test_go_traceback_crash_aborts_and_is_captured(tmp_path, gopanic):
    out = tmp_path / "out"
    r = run("run", "-o", out, "--", gopanic, env={"GOTRACEBACK": "crash"})
    assert r.returncode == 134, r.stderr
    t = trigger(only_artifact(out))
    assert t["crash"]["signal"] == "SIGABRT"
    stacks = (only_artifact(out) / "stacks.txt").read_text()
    assert "[crashed: SIGABRT]" in stacks


def test_sampled_capture_of_a_traced_process_then_its_crash(tmp_path, rules):
    # A sampled rule's core needs the process the crash tracer holds: the
    # tracer lends it, takes it back, and still catches the crash after.
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms}\nrules:\n"
              "  - name: big\n    metric: rss\n    when: {above: 1MiB}\n    actions: [core]\n    max: 1\n"
              "  - name: crash\n    event: crash\n    actions: [stacks]\n")
    res = run("run", "-r", r, "-o", out, "--", MISBEHAVE, "crash", "after=3")
    assert res.returncode == 139, res.stderr
    by_rule = {trigger(a)["rule"]: a for a in artifacts(out)}
    assert set(by_rule) == {"big", "crash"}, res.stderr
    core = trigger(by_rule["big"])["actions"][0]
    assert core["status"] == "ok", core
    assert "crash_in_worker" in (by_rule["crash"] / "stacks.txt").read_text()


def test_already_traced_is_left_alone(tmp_path):
    # Under strace -f every process is strace's: autodump warns, leaves the
    # command alone, and it still runs and exits as it would.
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("no strace")
    out = tmp_path / "out"
    r = subprocess.run([strace, "-f", "-o", "/dev/null", "-e", "trace=none", AUTODUMP, "run", "-o", str(out), "--",
                        MISBEHAVE, "exit", "code=5"], capture_output=True, text=True, timeout=60,
                       # LeakSanitizer cannot work under a tracer.
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 5, r.stderr
    assert "is traced already (a debugger?): left alone" in r.stderr
    assert "its crashes are captured" not in r.stderr


def test_a_capture_past_the_timeout_ends_the_tracer_and_the_crash_goes_on(tmp_path, rules):
    # The capture hangs (an exec hook that takes too long): at [collect]
    # timeout the tracer is ended, the kernel lets the threads go, and the
    # signal kills the process as it would have; the artifact says why.
    out = tmp_path / "out"
    r = rules("rules:\n  - name: crash\n    event: crash\n"
              "    actions: [stacks, {exec: {argv: [/bin/sleep, '30'], timeout: 60s}}]\n")
    conf = tmp_path / "autodump.conf"
    conf.write_text("[collect]\ntimeout = 2s\n")
    res = run("run", "-c", conf, "-r", r, "-o", out, "--", MISBEHAVE, "crash", timeout=30)
    assert res.returncode == 139, res.stderr
    t = trigger(only_artifact(out))
    assert [a["status"] for a in t["actions"]] == ["ok", "failed"]
    assert t["actions"][1]["error"] == "the crash tracer ended: a crash capture ran past [collect] timeout"
    assert "crashes are no longer captured" in res.stderr
