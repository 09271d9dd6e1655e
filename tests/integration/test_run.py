"""`autodump run`: the command's exit code passed through, signals
forwarded, descendants watched, --dry-run writing nothing."""
import json
import os
import pwd
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, trigger, wait_for


def run(*args, timeout=60, **kwargs):
    return subprocess.run([AUTODUMP, *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


@pytest.mark.parametrize("mode,expected", [
    (["exit", "code=0"], 0),
    (["exit", "code=7"], 7),
    (["signal", "sig=9"], 128 + 9),
    (["signal", "sig=11"], 128 + 11),
])
def test_exit_code_passes_through(tmp_path, mode, expected):
    r = run("run", "-o", tmp_path / "out", "--", MISBEHAVE, *mode)
    assert r.returncode == expected, r.stderr


def test_command_not_found_is_127(tmp_path):
    r = run("run", "-o", tmp_path / "out", "--", "/nonexistent/command")
    assert r.returncode == 127
    assert "cannot execute /nonexistent/command: No such file or directory" in r.stderr


def test_command_not_executable_is_126(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    r = run("run", "-o", tmp_path / "out", "--", script)
    assert r.returncode == 126
    assert "Permission denied" in r.stderr


def test_rules_error_is_2_and_nothing_starts(tmp_path, rules):
    marker = tmp_path / "started"
    bad = rules("rules:\n  - name: x\n    metric: rss\n    when: {above: 1 GiB}\n    actions: [core]\n")
    r = run("run", "-r", bad, "-o", tmp_path / "out", "--", "/usr/bin/touch", marker)
    assert r.returncode == 2
    assert f"{bad}:4:19: above: '1 GiB' is not a size" in r.stderr
    assert not marker.exists()


def test_usage_errors_are_2(tmp_path):
    assert run("run").returncode == 2
    assert run("run", "--bogus", "--", "true").returncode == 2
    assert run("frobnicate").returncode == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                                 signal.SIGUSR1, signal.SIGUSR2])
def test_signals_are_forwarded(tmp_path, sig):
    p = subprocess.Popen([AUTODUMP, "run", "-o", str(tmp_path / "out"), "--", MISBEHAVE, "sigwait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(sig)
    assert p.stdout.readline() == f"got signal {int(sig)}\n"
    if sig != signal.SIGTERM:
        p.send_signal(signal.SIGTERM)
        assert p.stdout.readline() == f"got signal {int(signal.SIGTERM)}\n"
    assert p.wait(10) == 100 + signal.SIGTERM


def test_dry_run_logs_and_writes_nothing(tmp_path, rules, autodump):
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms}\nrules:\n"
              "  - name: many-threads\n    metric: threads\n    when: {above: 10}\n    actions: [core, stacks]\n")
    a = autodump("run", "--dry-run", "-r", r, "-o", out, "--", MISBEHAVE, "threads", "count=20")
    a.wait_log("rule many-threads fired on misbehave")
    assert "[dry run: nothing collected]" in a.text()
    a.signal(signal.SIGTERM)
    assert a.wait() == 128 + signal.SIGTERM
    assert not out.exists()


def test_descendants_are_watched(tmp_path, rules, autodump):
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: many-threads\n    metric: threads\n    when: {above: 10}\n    actions: [stacks]\n")
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, "child", "mode=threads", "count=20", "after=1")
    a.wait_log("artifact written")
    parent = a.proc.pid
    a.signal(signal.SIGTERM)
    a.wait()
    found = artifacts(out)
    assert len(found) == 1
    doc = trigger(found[0])
    # The command's child is the one with threads. The SIGTERM went to the
    # command only, so its child is an orphan now: end it.
    os.kill(doc["target"]["pid"], signal.SIGKILL)
    assert doc["target"]["pid"] != parent
    assert "mode=threads" in doc["target"]["cmdline"]
    assert "spawn_threads" in (found[0] / "stacks.txt").read_text()


def test_exec_and_signal_actions(tmp_path, rules, autodump):
    out = tmp_path / "out"
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\necho \"args: $*\"\necho \"env: $AUTODUMP_RULE $AUTODUMP_PID $AUTODUMP_METRIC\"\n"
                      "ls \"$AUTODUMP_BUILD_DIR\"\n")
    script.chmod(0o755)
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: notify\n    metric: threads\n    when: {above: 0}\n"
              "    actions:\n"
              f"      - exec: {{argv: [{script}, '{{rule}}', 'pid={{pid}}', '{{comm}}', '{{dir}}']}}\n"
              "      - signal: SIGUSR1\n")
    p = subprocess.Popen([AUTODUMP, "run", "-r", str(r), "-o", str(out), "--", MISBEHAVE, "sigwait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    assert p.stdout.readline() == f"got signal {int(signal.SIGUSR1)}\n"
    wait_for(lambda: artifacts(out), what="artifact")
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 100 + signal.SIGTERM
    art = artifacts(out)[0]
    doc = trigger(art)
    pid = doc["target"]["pid"]
    log = (art / "exec-1.log").read_text()
    assert f"args: notify pid={pid} misbehave {art}\n" in log
    assert f"env: notify {pid} threads\n" in log
    assert "trigger.json" in log            # the files are there while it runs
    assert [a["status"] for a in doc["actions"]] == ["ok", "ok"]


def test_failing_exec_is_recorded(tmp_path, rules, autodump):
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: notify\n    metric: threads\n    when: {above: 0}\n"
              "    actions:\n"
              "      - exec: {argv: [/bin/sh, -c, 'exit 3']}\n"
              "      - exec: {argv: [/bin/sleep, '30'], timeout: 500ms}\n"
              "      - exec: {argv: [/nonexistent/notify]}\n")
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, "idle")
    a.wait_log("artifact written")
    doc = trigger(artifacts(out)[0])
    errors = [(x["status"], x["error"]) for x in doc["actions"]]
    assert errors[0] == ("failed", "/bin/sh exited with status 3")
    assert errors[1] == ("failed", "/bin/sleep killed after its timeout of 500ms")
    # The child's exec error comes back through a pipe, not printed by it.
    assert errors[2] == ("failed", "cannot run /nonexistent/notify: No such file or directory")
    assert doc["actions"][1]["seconds"] < 5



def hook(tmp_path):
    """An on_complete hook that records the path it is given and what is
    there, as one that uploads the artifact would see it."""
    seen = tmp_path / "seen"
    seen.mkdir()
    script = tmp_path / "ship.sh"
    script.write_text(f"#!/bin/sh\necho \"$1 $AUTODUMP_DIR\" > {seen}/path\nls \"$1\" > {seen}/listing\n"
                      f"cp \"$1/trigger.json\" {seen}/trigger.json\n")
    script.chmod(0o755)
    return script, seen


def test_on_complete_sees_the_final_artifact(tmp_path, rules, autodump):
    script, seen = hook(tmp_path)
    r = rules("rules:\n  - name: t\n    metric: threads\n    when: {above: 0}\n    actions: [stacks]\n"
              f"    max: 1\n    on_complete: {{argv: [{script}, '{{dir}}'], timeout: 30s}}\n")
    out = tmp_path / "out"
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, "idle")
    a.wait_log(f"on_complete {script} for")
    a.signal(signal.SIGTERM)
    a.wait()
    final = artifacts(out)[0]
    # The final directory, not the hidden one it was built in; complete.
    assert (seen / "path").read_text().split() == [str(final), str(final)]
    assert "stacks.txt" in (seen / "listing").read_text().split()
    assert json.loads((seen / "trigger.json").read_text())["complete"] is True
    assert "done" in a.text()


def test_config_on_complete_for_collect(tmp_path):
    script, seen = hook(tmp_path)
    conf = tmp_path / "autodump.conf"
    conf.write_text(f"[collect]\non_complete = {script} {{dir}}\non_complete_timeout = 30s\n")
    t = subprocess.Popen([MISBEHAVE, "idle"])
    try:
        r = run("collect", "stacks", "-c", conf, "-o", tmp_path / "out", t.pid)
    finally:
        t.kill()
        t.wait()
    assert r.returncode == 0, r.stderr
    assert (seen / "path").read_text().split()[0] == r.stdout.strip()
    bad = tmp_path / "bad.conf"
    bad.write_text("[collect]\non_complete = ship {dir}\n")
    r = run("check", "-c", bad, "-r", tmp_path / "none.yaml")
    assert f"{bad}:2:1:" in r.stderr and "absolute path" in r.stderr, r.stderr


def test_hooks_run_as_the_configured_user(rules, autodump):
    # The hooks run as nobody and read the artifact through nobody's
    # group; nothing else of it changes. Under /tmp: the hook user must
    # reach the output directory, and pytest's directories are root's only.
    base = Path(tempfile.mkdtemp(prefix="autodump-hookuser-"))
    try:
        base.chmod(0o755)
        seen = base / "seen"
        seen.mkdir()
        seen.chmod(0o1777)
        script = base / "hook.sh"
        # Mid-collection the files are in the build directory.
        script.write_text("#!/bin/sh\nd=${AUTODUMP_BUILD_DIR:-$1}\nid -u\nhead -c 1 \"$d/trigger.json\"; echo\n"
                          f"{{ id -u; ls \"$d\"; }} > {seen}/$2\n")
        script.chmod(0o755)
        conf = base / "autodump.conf"
        conf.write_text(f"[collect]\nhook_user = nobody\non_complete = {script} {{dir}} on_complete\n")
        r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
                  "  - name: hooked\n    metric: threads\n    when: {above: 0}\n"
                  f"    actions: [stacks, {{exec: {{argv: [{script}, '{{dir}}', exec]}}}}]\n")
        out = base / "out"
        a = autodump("run", "-c", conf, "-r", r, "-o", out, "--", MISBEHAVE, "idle")
        wait_for(lambda: (seen / "on_complete").exists(), what="on_complete")
        a.signal(signal.SIGTERM)
        a.wait()
        art = artifacts(out)[0]
        nobody = str(pwd.getpwnam("nobody").pw_uid)
        # The exec action, mid-collection: what there was so far.
        assert (art / "exec-1.log").read_text() == f"{nobody}\n{{\n"
        assert (seen / "exec").read_text().splitlines()[0] == nobody
        lines = (seen / "on_complete").read_text().splitlines()
        assert lines[0] == nobody and "stacks.txt" in lines and "trigger.json" in lines
        st = art.stat()
        assert st.st_uid == 0 and st.st_gid == pwd.getpwnam("nobody").pw_gid and st.st_mode & 0o777 == 0o750
        assert (art / "stacks.txt").stat().st_mode & 0o777 == 0o640
        assert out.stat().st_mode & 0o777 == 0o710
    finally:
        subprocess.run(["rm", "-rf", str(base)])
