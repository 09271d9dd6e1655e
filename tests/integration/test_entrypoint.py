"""`autodump run` as a container's PID 1, in a real PID namespace
(unshare -pf --mount-proc): signals forwarded, orphans reaped, exit codes
passed through, the command started as autodump was (limits, mask,
dispositions, no stray fds), a terminal handed to the command's group."""
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, wait_for

UNSHARE = ["unshare", "-pf", "--mount-proc"]


def in_namespace(*args, env=None, **kwargs):
    return subprocess.Popen([*UNSHARE, AUTODUMP, "run", *[str(a) for a in args]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {})), **kwargs)


def autodump_pid(unshare_pid):
    """autodump inside the namespace, seen from outside: unshare's child."""
    def child():
        try:
            kids = open(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read().split()
        except FileNotFoundError:
            return None
        return int(kids[0]) if kids else None
    return wait_for(child, what="autodump in the namespace")


@pytest.mark.parametrize("cmd,expected", [
    ([MISBEHAVE, "exit", "code=0"], 0),
    ([MISBEHAVE, "exit", "code=1"], 1),
    (["/etc/passwd"], 126),
    (["/no/such/command"], 127),
    ([MISBEHAVE, "signal", "sig=15"], 128 + 15),
    ([MISBEHAVE, "signal", "sig=9"], 128 + 9),
])
def test_exit_codes_as_pid_1(tmp_path, cmd, expected):
    p = in_namespace("-o", tmp_path / "out", "--", *cmd)
    p.communicate(timeout=60)
    assert p.returncode == expected


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_reaches_the_command_and_autodump_exits_at_once(tmp_path, sig, code):
    p = in_namespace("-o", tmp_path / "out", "--", MISBEHAVE, "idle")
    pid1 = autodump_pid(p.pid)
    wait_for(lambda: open(f"/proc/{pid1}/task/{pid1}/children").read().strip(), what="the command")
    time.sleep(0.5)
    start = time.monotonic()
    os.kill(pid1, sig)
    p.communicate(timeout=30)
    assert p.returncode == code
    assert time.monotonic() - start < 2.0


def test_every_catchable_signal_is_forwarded(tmp_path):
    p = subprocess.Popen([AUTODUMP, "run", "-o", str(tmp_path / "out"), "--", MISBEHAVE, "sigwait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    for sig in [signal.SIGWINCH, signal.SIGALRM, signal.SIGURG, signal.SIGPWR, signal.SIGTSTP,
                signal.SIGRTMIN + 3, signal.SIGUSR1]:
        p.send_signal(sig)
        assert p.stdout.readline() == f"got signal {int(sig)}\n"
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 100 + signal.SIGTERM


def test_group_flag_signals_the_whole_group(tmp_path):
    # Without -g only the shell would get SIGTERM, and its children would
    # outlive it.
    script = f"{MISBEHAVE} idle & {MISBEHAVE} idle & echo started; wait"
    p = in_namespace("-g", "-o", tmp_path / "out", "--", "/bin/sh", "-c", script)
    assert p.stdout.readline() == "started\n"
    pid1 = autodump_pid(p.pid)
    time.sleep(0.5)
    os.kill(pid1, signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 143
    # The namespace is gone with its PID 1: nothing of it is left.
    assert subprocess.run(["pgrep", "-f", f"^{MISBEHAVE} idle$"], capture_output=True).stdout == b""


def test_orphans_are_reaped(tmp_path):
    # A daemonizing child: the intermediate shell exits, its child is
    # reparented to PID 1 and exits later; no zombie may be left.
    script = ("/bin/sh -c '/bin/sleep 0.3 &'; /bin/sleep 1.5; "
              "grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l")
    p = in_namespace("-o", tmp_path / "out", "--", "/bin/sh", "-c", script)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 0, stderr
    assert stdout.strip() == "0"


def test_expected_exit_code_maps_to_0(tmp_path):
    p = in_namespace("-e", "7", "-o", tmp_path / "out", "--", MISBEHAVE, "exit", "code=7")
    p.communicate(timeout=60)
    assert p.returncode == 0
    p = in_namespace("-o", tmp_path / "out", "--", MISBEHAVE, "exit", "code=7", env={"AUTODUMP_EXPECT_EXIT": "3,7"})
    p.communicate(timeout=60)
    assert p.returncode == 0
    p = in_namespace("-o", tmp_path / "out", "--", MISBEHAVE, "exit", "code=7", env={"AUTODUMP_EXPECT_EXIT": "x"})
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "AUTODUMP_EXPECT_EXIT: 'x' is not an exit code" in err


def test_command_starts_as_autodump_was_started(tmp_path):
    # autodump raises its own fd limit and blocks the signals it forwards;
    # the command gets neither, nor any fd autodump opened.
    script = ("ulimit -Sn; grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | sort -n | tr '\\n' ' '")
    r = subprocess.run(["/bin/sh", "-c", f"ulimit -Sn 1024; trap '' USR2; exec {AUTODUMP} run -o {tmp_path / 'out'} "
                        f"-- /bin/sh -c \"{script}\""], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1024"
    assert lines[1] == "SigBlk:\t0000000000000000"
    # SIGUSR2 ignored by whoever started autodump stays ignored, as does
    # what any child of this test inherits (a shell ignores SIGINT and
    # SIGQUIT for a job it starts in the background).
    plain = subprocess.run(["/bin/sh", "-c", "grep SigIgn /proc/self/status"], capture_output=True, text=True)
    inherited = int(plain.stdout.split()[1], 16)
    assert lines[2] == f"SigIgn:\t{inherited | 1 << (signal.SIGUSR2 - 1):016x}"
    assert lines[3].split() == ["0", "1", "2", "3"]


def test_parent_death_signal(tmp_path):
    # -p TERM: when autodump's parent dies, autodump gets SIGTERM and
    # forwards it. The parent here is a shell that is killed.
    marker = tmp_path / "pid"
    parent = subprocess.Popen(["/bin/sh", "-c", f"{AUTODUMP} run -p TERM -o {tmp_path / 'out'} -- "
                               f"/bin/sh -c 'echo $$ > {marker}; exec {MISBEHAVE} idle' & wait"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: marker.exists() and marker.read_text().strip(), what="the command")
    command = int(marker.read_text())
    time.sleep(0.5)
    parent.kill()
    parent.wait()
    wait_for(lambda: not os.path.exists(f"/proc/{command}") or
             open(f"/proc/{command}/stat").read().split(") ")[1][0] == "Z", what="the command to die")


def test_terminal_goes_to_the_command(tmp_path):
    # Under a pty: the command's group is the terminal's foreground group,
    # so ^C from the terminal reaches it (once) and it exits 130.
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(AUTODUMP, [AUTODUMP, "run", "-o", str(tmp_path / "out"), "--", "/bin/sh", "-c",
                            "set -- $(cut -d' ' -f5,8 /proc/$$/stat); echo pgrp=$1 tpgid=$2; exec sleep 30"])
    buf = b""
    deadline = time.monotonic() + 20
    found = None
    while not found and time.monotonic() < deadline:
        if select.select([fd], [], [], 1)[0]:
            buf += os.read(fd, 4096)
        found = re.search(rb"pgrp=(\d+) tpgid=(\d+)\r?\n", buf)
    assert found, buf
    pgrp, tpgid = int(found[1]), int(found[2])
    assert pgrp == tpgid
    time.sleep(0.3)
    os.write(fd, b"\x03")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130
    os.close(fd)
