"""cgroups and PSI on real kernel cgroups: groups this test makes in the v1
memory, cpu, cpuacct and pids hierarchies (and the v2 one beside them),
real processes moved in, real limits, a real OOM kill, real CPU pressure."""
import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, wait_for

ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = ["memory", "cpu", "cpuacct", "pids", "unified"]

pytestmark = pytest.mark.skipif(not (ROOT / "memory/memory.limit_in_bytes").exists(),
                                reason="needs v1 memory cgroups, as this project's machines have")


@contextlib.contextmanager
def cgroup(path, memory=None, cpu_quota_us=None):
    """Makes PATH in every hierarchy (with the limits given); removes it,
    killing what is left in it, afterwards."""
    made = []
    try:
        for h in HIERARCHIES:
            if (ROOT / h).is_dir():
                d = ROOT / h / path.lstrip("/")
                d.mkdir(parents=True, exist_ok=True)
                made.append(d)
        if memory:
            (ROOT / "memory" / path.lstrip("/") / "memory.limit_in_bytes").write_text(str(memory))
        if cpu_quota_us:
            (ROOT / "cpu" / path.lstrip("/") / "cpu.cfs_quota_us").write_text(str(cpu_quota_us))
        yield made
    finally:
        for d in reversed(made):
            for pid in (d / "cgroup.procs").read_text().split() if d.exists() else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
        for d in reversed(made):
            wait_for(lambda: not d.exists() or not (d / "cgroup.procs").read_text().strip(), 10, what=f"{d} empty")
            with contextlib.suppress(FileNotFoundError, OSError):
                d.rmdir()


def moving_into(cg_dirs):
    """A preexec_fn: the new process moves itself into the cgroup before
    it execs, so it is in there from its first instruction."""
    def move():
        for d in cg_dirs:
            (d / "cgroup.procs").write_text(str(os.getpid()))
    return move


def start_in(cg_dirs, *args):
    return subprocess.Popen([MISBEHAVE, *args], preexec_fn=moving_into(cg_dirs))


def one_trigger(out):
    dirs = artifacts(out)
    assert dirs, f"no artifact in {out}"
    return dirs[0], json.loads((dirs[0] / "trigger.json").read_text())


def test_leak_in_a_limited_cgroup_captures_the_leaking_process(tmp_path, rules, autodump):
    name = f"/autodump-test-leak-{os.getpid()}"
    with cgroup(name, memory=256 << 20) as dirs:
        quiet = start_in(dirs, "leak", "rate=8", "max=8")      # a small sibling
        leaker = start_in(dirs, "leak", "after=1", "rate=40", "max=200")
        r = rules("rules:\n  - name: cg-mem\n"
                  f"    target: {{cgroup: {name}}}\n"
                  "    metric: cgroup.memory\n    when: {above: 50%}\n    actions: [stacks]\n    max: 1\n")
        out = tmp_path / "out"
        a = autodump("watch", "-r", r, "-o", out)
        a.wait_log(f"watching cgroup {name} (memory limit 256.0MiB)")
        a.wait_log("artifact written", timeout=30)
        d, t = one_trigger(out)
        assert t["metric"] == "cgroup.memory" and t["value"] > 128 << 20
        assert t["reference"] == {"value": float(256 << 20), "of": "the cgroup's memory limit"}
        assert t["cgroup"]["path"] == name and t["cgroup"]["memory_limit"] == 256 << 20
        assert t["cgroup"]["picked_by"] == "largest RSS in the cgroup"
        assert [p["pid"] for p in t["cgroup"]["picked"]] == [leaker.pid]
        assert t["target"]["pid"] == leaker.pid
        assert "leak_memory" in (d / "stacks.txt").read_text()
        assert quiet.poll() is None and leaker.poll() is None


def test_throttling_by_a_cpu_quota(tmp_path, rules, autodump):
    name = f"/autodump-test-quota-{os.getpid()}"
    with cgroup(name, cpu_quota_us=20000) as dirs:          # 0.2 of a core
        spinner = start_in(dirs, "spin")
        r = rules("rules:\n  - name: throttled\n"
                  f"    target: {{cgroup: {name}}}\n"
                  "    metric: cgroup.throttled\n    interval: 500ms\n"
                  "    when: {above: 50, for: 2}\n    actions: [stacks]\n    max: 1\n")
        out = tmp_path / "out"
        a = autodump("watch", "-r", r, "-o", out)
        a.wait_log("artifact written", timeout=30)
        d, t = one_trigger(out)
        assert t["value"] > 50
        assert t["cgroup"]["cpu_quota"] == pytest.approx(20.0)
        assert t["cgroup"]["picked_by"] == "most CPU in the cgroup since the last sample"
        assert t["target"]["pid"] == spinner.pid
        assert "spin_hot" in (d / "stacks.txt").read_text()


def test_oom_kill_is_counted_and_the_survivor_captured(tmp_path, rules, autodump):
    name = f"/autodump-test-oom-{os.getpid()}"
    with cgroup(name, memory=64 << 20) as dirs:
        survivor = start_in(dirs, "idle")
        r = rules("rules:\n  - name: oom\n"
                  f"    target: {{cgroup: {name}}}\n"
                  "    metric: cgroup.oom_kills\n    interval: 500ms\n"
                  "    when: {above: 0}\n    actions: [stacks]\n    max: 1\n")
        out = tmp_path / "out"
        a = autodump("watch", "-r", r, "-o", out)
        a.wait_log(f"watching cgroup {name}")
        victim = start_in(dirs, "leak", "rate=100", "max=400")
        assert victim.wait(30) == -9                           # the OOM killer's SIGKILL
        a.wait_log("artifact written", timeout=30)
        d, t = one_trigger(out)
        assert t["metric"] == "cgroup.oom_kills" and t["value"] >= 1
        assert t["target"]["pid"] == survivor.pid
        assert survivor.poll() is None


def test_psi_stall_trigger_under_cpu_pressure(tmp_path, rules, autodump):
    """More spinners than cores: the kernel's PSI trigger on the host's
    /proc/pressure/cpu (the tree's v2 cgroup is the root here) fires the
    rule, which acts on a process of the command's tree."""
    r = rules("rules:\n  - name: cpu-stall\n    metric: psi.cpu.some\n"
              "    when: {stall: 200ms, per: 2s}\n"
              "    actions: [{exec: {argv: [/bin/true]}}]\n    max: 1\n")
    out = tmp_path / "out"
    spinners = os.cpu_count() * 2 + 1
    script = f"sleep 1; for i in $(seq {spinners}); do timeout 8 {MISBEHAVE} spin & done; wait"
    a = autodump("run", "-r", r, "-o", out, "--", "sh", "-c", script)
    a.wait_log("rule cpu-stall fired", timeout=20)
    a.wait_log("artifact written", timeout=20)
    _, t = one_trigger(out)
    assert t["condition"] == "stall" and t["threshold"] == pytest.approx(10.0)
    assert t["target"] is not None
    assert a.wait(30) == 0


def test_cgroup_that_comes_later_and_goes(tmp_path, rules, autodump):
    name = f"/autodump-test-late-{os.getpid()}"
    r = rules("rules:\n  - name: late\n"
              f"    target: {{cgroup: {name}}}\n"
              "    metric: cgroup.memory\n    when: {above: 1TiB}\n    actions: [stacks]\n")
    a = autodump("watch", "-r", r, "-o", tmp_path / "out")
    a.wait_log(f"cgroup {name} does not exist (yet); the rule waits for it")
    with cgroup(name):
        a.wait_log(f"watching cgroup {name}")
    a.wait_log(f"stopped watching cgroup {name}: removed")
    time.sleep(3)                       # three scans while it is absent
    # Said when it was missing at start and when it went: not at every scan.
    assert a.text().count("does not exist (yet)") == 2
    # Made again: a new identity, watched afresh.
    with cgroup(name):
        wait_for(lambda: a.text().count(f"watching cgroup {name}") >= 2, 10, what=a.text())
    assert a.proc.poll() is None


def test_unit_target_through_its_cgroup(tmp_path, rules, autodump):
    unit = f"autodump-test-{os.getpid()}.service"
    with cgroup(f"/system.slice/{unit}") as dirs:
        member = start_in(dirs, "leak", "rate=20", "max=20")
        r = rules("rules:\n  - name: by-unit\n"
                  f"    target: {{unit: {unit}}}\n"
                  "    metric: cgroup.memory\n    when: {above: 10MiB}\n    actions: [stacks]\n    max: 1\n")
        out = tmp_path / "out"
        a = autodump("watch", "-r", r, "-o", out)
        a.wait_log(f"watching cgroup /system.slice/{unit}")
        a.wait_log("artifact written", timeout=20)
        _, t = one_trigger(out)
        assert t["cgroup"]["path"] == f"/system.slice/{unit}"
        assert t["target"]["pid"] == member.pid


def test_builtin_memory_high_in_a_container(tmp_path, autodump):
    """`autodump run` with no rule file, as a container's PID 1 in a
    256 MiB cgroup: rss 80% is of the cgroup's limit, not the host's RAM."""
    name = f"/autodump-test-ctr-{os.getpid()}"
    with cgroup(name, memory=256 << 20) as dirs:
        out = tmp_path / "out"
        a = subprocess.Popen([AUTODUMP, "run", "-o", str(out), "--", MISBEHAVE, "leak", "rate=60", "max=215"],
                             preexec_fn=moving_into(dirs), stderr=subprocess.PIPE, text=True)
        try:
            dirs_ = wait_for(lambda: [d for d in artifacts(out) if "memory-high" in d.name], 60,
                             what="a memory-high artifact")
        finally:
            a.terminate()
            _, err = a.communicate(30)
        t = json.loads((dirs_[0] / "trigger.json").read_text())
        assert t["reference"] == {"value": float(256 << 20), "of": "the memory limit of its cgroup"}, err
        assert 0.8 * (256 << 20) < t["value"] < 256 << 20
