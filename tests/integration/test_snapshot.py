"""Fork-snapshot cores: the target stopped only for an injected fork, the
core written from the copy-on-write child while it runs on. Real threads
(one in read(), one in waitpid(-1), one rewriting a large array, one
stamping the clock), read back with gdb."""
import json
import os
import shutil
import signal
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import AUTODUMP, children_of, proc_state, wait_for

SNAPSHOTEE = os.environ.get("SNAPSHOTEE", str(Path(__file__).parents[2] / "build/tests/targets/snapshotee"))


class Snapshotee:
    """The target, its stdin and stdout kept for commands."""

    def __init__(self, *args, wrap=()):
        self.proc = subprocess.Popen([*wrap, SNAPSHOTEE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        assert line.startswith("ready "), line
        self.pid = int(line.split()[1])

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def snapshotee():
    started = []

    def start(*args, wrap=()):
        s = Snapshotee(*args, wrap=wrap)
        started.append(s)
        return s

    yield start
    for s in started:
        for child in children_of(s.pid):
            os.kill(child, 9)
        s.close()


def collect_core(pid, out, *extra):
    r = subprocess.run([AUTODUMP, "collect", "core", str(pid), "-o", str(out), *extra], capture_output=True,
                       text=True, timeout=300)
    d = Path(r.stdout.strip())
    assert r.returncode == 0, r.stderr
    return d, json.loads((d / "trigger.json").read_text())["actions"][0]


def gdb(core, *commands):
    args = ["gdb", "--nx", "--batch", SNAPSHOTEE, str(core)]
    for c in commands:
        args += ["-ex", c]
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120).stdout


@pytest.mark.skipif(not shutil.which("gdb"), reason="gdb is not installed")
def test_a_snapshot_core_is_one_instant_of_every_thread_and_leaves_no_trace(tmp_path, snapshotee):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    s = snapshotee("mib=64", "writer=1", f"fifo={fifo}", "child=1", "dontfork=4")
    d, act = collect_core(s.pid, tmp_path / "out")
    assert act["status"] == "ok" and act["via"] == "snapshot", act
    # Stopped for the fork alone; the writer's pages copied while the core
    # was written; the DONTFORK region said, and a hole in the core.
    assert act["target_stopped_seconds"] < 0.5, act
    assert act["not_in_snapshot_bytes"] == 4 << 20, act
    assert act["snapshot_extra_bytes"] > 0, act
    slots = tmp_path / "slots.bin"
    text = gdb(d / "core", "thread apply all bt", "p/x snapshot_marker", "p/x *(unsigned char *) dontfork_area",
               f"dump binary memory {slots} slots slots+n_slots")
    for fn in ("stamp_clock", "bump_generations", "read_fifo", "wait_children", "serve_commands"):
        assert f" {fn} (" in text, text
    assert "= 0x5ca1ab1edeadbeef" in text and "= 0x0" in text, text       # dontfork_area: zeros
    # One instant: generation g in a prefix of the array, g-1 after it.
    data = slots.read_bytes()
    values = struct.unpack(f"<{len(data) // 8}Q", data)
    g = values[0]
    boundary = next((i for i, v in enumerate(values) if v != g), len(values))
    assert g > 0 and all(v == g - 1 for v in values[boundary:]), (g, boundary, sorted(set(values))[:5])
    # Nothing of it in the target: no SIGCHLD, no zombie, its read() gets
    # what comes after, its waitpid(-1) the child that is its own.
    assert s.ask("sigchld") == ["sigchld", "0"]
    assert children_of(s.pid) == [int(s.ask("child")[1])]
    with open(fifo, "w") as f:
        f.write("after-snapshot")
    assert s.proc.stdout.readline().split() == ["read", "14", "after-snapshot"]
    sleeper = children_of(s.pid)[0]
    os.kill(sleeper, 9)
    assert s.proc.stdout.readline().split() == ["reaped", str(sleeper)]
    assert proc_state(s.pid) in ("S", "R")


def test_a_fork_the_kernel_refuses_falls_back_to_the_stop_writer(tmp_path, snapshotee):
    """RLIMIT_NPROC: nobody may have no more tasks than the target's two
    threads; the injected clone gets EAGAIN."""
    s = snapshotee("mib=8", wrap=("prlimit", "--nproc=2:2", "setpriv", "--reuid=65534", "--regid=65534",
                                  "--clear-groups"))
    d, act = collect_core(s.pid, tmp_path / "out")
    assert act["status"] == "ok" and act["via"] == "stop", act
    assert "refused the fork: Resource temporarily unavailable" in act["snapshot_refused"], act
    assert s.ask("sigchld") == ["sigchld", "0"] and children_of(s.pid) == []
    gap = float(s.ask("gap")[1])
    assert gap > 0


def test_a_thread_under_seccomp_is_never_injected_into(tmp_path, snapshotee):
    """Its filter kills the process on a fork: the stop writer instead."""
    s = snapshotee("mib=8", "seccomp=1")
    d, act = collect_core(s.pid, tmp_path / "out")
    assert act["status"] == "ok" and act["via"] == "stop", act
    assert "seccomp filter" in act["snapshot_refused"], act
    assert s.ask("sigchld") == ["sigchld", "0"] and proc_state(s.pid) in ("S", "R")


def test_via_stop_still_holds_the_target_for_the_whole_write(tmp_path, snapshotee):
    s = snapshotee("mib=64")
    d, act = collect_core(s.pid, tmp_path / "out", "--via", "stop")
    assert act["status"] == "ok" and act["via"] == "stop" and "snapshot_refused" not in act, act


def test_the_init_of_a_pid_namespace(tmp_path, snapshotee):
    """A namespace's PID 1 (a container's entrypoint) may not clone with
    CLONE_PARENT; the snapshot's plain clone works, and is reaped alike."""
    s = snapshotee("mib=8", "child=1", wrap=("unshare", "-pf", "--mount-proc"))
    assert s.pid == 1
    [host] = children_of(s.proc.pid)
    d, act = collect_core(host, tmp_path / "out")
    assert act["status"] == "ok" and act["via"] == "snapshot", act
    assert s.ask("sigchld") == ["sigchld", "0"]
    assert len(children_of(host)) == 1      # its sleep, and no zombie


def test_too_little_room_in_the_memory_cgroup_falls_back(tmp_path, snapshotee):
    """Copies of the pages it writes meanwhile are charged to its cgroup:
    with less room than its anonymous memory, no snapshot (the OOM killer
    would take the snapshot, then the target)."""
    cg = Path("/sys/fs/cgroup/memory") / f"autodump-test-{os.getpid()}"
    if not cg.parent.is_dir():
        pytest.skip("no cgroup v1 memory controller here")
    cg.mkdir()
    try:
        (cg / "memory.limit_in_bytes").write_text(str(200 << 20))
        s = snapshotee("mib=128", wrap=("sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$0" "$@"'))
        d, act = collect_core(s.pid, tmp_path / "out")
        assert act["status"] == "ok" and act["via"] == "stop", act
        assert "its memory cgroup has" in act["snapshot_refused"], act
        s.close()
    finally:
        wait_for(lambda: not (cg / "cgroup.procs").read_text().strip(), what="the cgroup emptied")
        cg.rmdir()


def test_a_stopped_process_stays_stopped(tmp_path, snapshotee):
    """SIGSTOPped: the injection would have to run it; the stop writer
    takes it as it is, and it is left stopped."""
    s = snapshotee("mib=8")
    os.kill(s.pid, signal.SIGSTOP)
    wait_for(lambda: proc_state(s.pid) == "T", what="the target stopped")
    d, act = collect_core(s.pid, tmp_path / "out")
    assert act["status"] == "ok" and act["via"] == "stop", act
    assert "stopped already" in act["snapshot_refused"], act
    assert proc_state(s.pid) == "T"
    os.kill(s.pid, signal.SIGCONT)
    assert s.ask("sigchld") == ["sigchld", "0"]


I386_SLEEPER = """
struct ts { long s, ns; };
void _start(void) {
        static struct ts t = { 1, 0 };
        for (;;)
                __asm__ volatile("int $0x80" : : "a"(162), "b"(&t), "c"(0) : "memory");
}
"""


def test_a_32_bit_process_is_never_injected_into(tmp_path):
    """`syscall` is no instruction in a 32-bit thread: injected, it would
    die of SIGILL. A static i386 program with no libc (no multilib here)."""
    src = tmp_path / "i386.c"
    src.write_text(I386_SLEEPER)
    exe = tmp_path / "i386"
    if subprocess.run(["gcc", "-m32", "-nostdlib", "-static", "-fno-pie", "-no-pie", "-O1", src, "-o", exe],
                      capture_output=True).returncode != 0:
        pytest.skip("gcc cannot build an i386 program here")
    p = subprocess.Popen([exe])
    try:
        d, act = collect_core(p.pid, tmp_path / "out")
        assert act["via"] == "stop" and "32-bit" in act["snapshot_refused"], act
        assert proc_state(p.pid) in ("S", "R")
    finally:
        p.kill()
        p.wait()
