"""Names a process chooses for itself are data, never structure: a comm
that is not UTF-8 and holds a newline is written to JSON escaped (not
dropped, not a crash) and to the log on one line."""
import json
import signal
import subprocess
import time

from conftest import AUTODUMP, MISBEHAVE, trigger

HOSTILE = b"\xff\xfe\nforged<0>"


def test_a_hostile_comm(tmp_path, rules, autodump):
    # The process names itself (prctl(PR_SET_NAME)), as any process may.
    p = subprocess.Popen([MISBEHAVE.encode(), b"named", b"name=" + HOSTILE, b"count=20"], stdout=subprocess.PIPE)
    t = p
    assert p.stdout.readline().startswith(b"threads started")
    escaped = "\\xff\\xfe\nforged<0>"

    r = subprocess.run([AUTODUMP, "sample", "--json", "-n", "1", str(t.pid)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["comm"] == escaped

    r = subprocess.run([AUTODUMP, "collect", "stacks", "-o", str(tmp_path / "out"), str(t.pid)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = trigger(r.stdout.strip())
    assert doc["target"]["comm"] == escaped and doc["target"]["pid"] == t.pid
    shown = subprocess.run([AUTODUMP, "show", r.stdout.strip()], capture_output=True, timeout=30).stdout
    assert f"[{t.pid}]".encode() in shown and b"(null)" not in shown

    # In the log: one line, the newline and the 0xff as \xNN.
    rr = rules("defaults: {interval: 200ms}\nrules:\n  - {name: many, metric: threads, when: {above: 10}, "
               "actions: [stacks]}\n")
    a = autodump("watch", "-r", rr, "-o", tmp_path / "out2", "-p", t.pid)
    a.wait_log("rule many fired on")
    a.signal(signal.SIGTERM)
    a.wait()
    log = a.log_path.read_bytes()
    assert not any(line.startswith(b"forged") for line in log.splitlines()), log
    assert b"watching \\xff\\xfe\\x0aforged<0>[" in log
    p.kill()
    p.wait()
