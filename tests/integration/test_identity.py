"""Never the wrong process: a target that exits between its firing and
the capture, its PID given to a newcomer, is not touched — the newcomer is
neither stopped, dumped nor handed to an exec hook. Deterministic: in a
PID namespace the first action kills the target, waits until it is
reaped, and sets ns_last_pid so that the next process gets its PID."""
import subprocess
import time
from pathlib import Path

from conftest import AUTODUMP, MISBEHAVE, artifacts, trigger

RECYCLE = """#!/bin/sh
# $1: the target's PID (in autodump's namespace). Kill it, wait until it is
# reaped, give its PID to a newcomer that records its own PID. Others in
# the namespace fork too (the command's loop runs sleep) and may take the
# PID first: a candidate that did not get it leaves, and another is tried.
# Nothing forks between setting ns_last_pid and the candidate's fork.
kill -KILL "$1"
while [ -e "/proc/$1" ]; do sleep 0.01; done
i=0
while [ $i -lt 100 ]; do
    i=$((i + 1))
    rm -f {out}/try
    echo $(( $1 - 1 )) > /proc/sys/kernel/ns_last_pid
    setsid sh -c 'echo $$ > {out}/try; [ $$ = "$0" ] || exit 0; echo $$ > {out}/newcomer; exec {misbehave} idle' \
        "$1" </dev/null >/dev/null 2>&1 &
    while [ ! -s {out}/try ]; do :; done
    read got < {out}/try
    [ "$got" = "$1" ] && break
done
while [ ! -s {out}/newcomer ]; do sleep 0.01; done
"""


def test_a_recycled_pid_is_never_touched(tmp_path, rules):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "recycle.sh"
    script.write_text(RECYCLE.replace("{out}", str(tmp_path)).replace("{misbehave}", MISBEHAVE))
    script.chmod(0o755)
    r = rules("defaults: {interval: 200ms}\nrules:\n  - name: many\n"
              "    metric: threads\n    when: {above: 10}\n    max: 1\n"
              f"    actions: [{{exec: {{argv: [{script}, '{{pid}}']}}}}, stacks, core, "
              f"{{exec: {{argv: [/bin/sh, -c, 'echo hook saw $0 > {tmp_path}/hook', '{{pid}}']}}}}]\n")
    # The newcomer's state is read from inside the namespace, before it ends.
    check = (f"sleep 1; while [ ! -s {tmp_path}/newcomer ]; do sleep 0.1; done; sleep 2; "
             f"p=\\$(cat {tmp_path}/newcomer); grep -E '^(State|TracerPid)' /proc/\\$p/status > {tmp_path}/state; "
             f"kill \\$p")
    p = subprocess.Popen(["unshare", "-pf", "--mount-proc", "/bin/sh", "-c",
                          f"{AUTODUMP} run -r {r} -o {out} -- /bin/sh -c "
                          f"\"{MISBEHAVE} threads count=20 & {check}\""],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = p.communicate(timeout=60)
    [art] = artifacts(out)
    t = trigger(art)
    statuses = [(a["action"], a["status"], a.get("error")) for a in t["actions"]]
    assert statuses[0][:2] == ("exec", "ok"), statuses
    for action, status, error in statuses[1:]:
        assert (status, error) == ("failed", "process exited before the capture"), statuses
    assert not (art / "core").exists() and not (art / "stacks.txt").exists()
    assert not (tmp_path / "hook").exists()
    # The newcomer holds the old PID, and was never stopped or traced.
    state = (tmp_path / "state").read_text()
    assert "TracerPid:\t0" in state and "State:\tS" in state, state
    assert (tmp_path / "newcomer").read_text().strip() == str(t["target"]["pid"])
