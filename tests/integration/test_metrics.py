"""Each metric fires its rule against a real misbehaving process, and the
evidence shows the function that misbehaved."""
import json
import os
import stat
import subprocess
import time

import pytest

from conftest import MISBEHAVE, action, artifacts, stack_threads, trigger, wait_for

RULE = """
defaults: {{interval: 200ms, window: 5, cooldown: 1h, max: 1}}
rules:
  - name: {name}
    metric: {metric}
    when: {when}
    actions: [{actions}]
"""


def run_until_fired(autodump, rules, tmp_path, metric, when, mode_args, actions="stacks"):
    out = tmp_path / "out"
    r = rules(RULE.format(name=f"{metric}-rule", metric=metric, when=when, actions=actions))
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, *mode_args)
    a.wait_log("artifact written", timeout=40)
    a.signal(15)
    assert a.wait() == 128 + 15  # SIGTERM forwarded to the command, its death passed through
    found = artifacts(out)
    assert len(found) == 1, a.text()
    return found[0], a.text()


@pytest.mark.parametrize("metric,when,mode_args,function", [
    ("rss", "{above: 100MiB}", ["leak", "after=0.5", "rate=200", "max=300"], "leak_memory"),
    ("vsize", "{spike: 50%, min: 100MiB}", ["leak", "after=2", "rate=200", "max=300"], "leak_memory"),
    ("cpu", "{above: 80, for: 3}", ["spin", "after=0.5"], "spin_hot"),
    ("threads", "{spike: 100%}", ["threads", "after=2", "count=40"], "spawn_threads"),
    ("fds", "{above: 300}", ["fds", "after=0.5", "count=500"], "open_fds"),
])
def test_metric_fires_and_stacks_show_the_culprit(autodump, rules, tmp_path, metric, when, mode_args, function):
    art, log = run_until_fired(autodump, rules, tmp_path, metric, when, mode_args)
    doc = trigger(art)
    assert doc["rule"] == f"{metric}-rule"
    assert doc["metric"] == metric
    assert doc["value"] > doc["threshold"], doc
    assert doc["condition"] in ("above", "spike")
    if doc["condition"] == "spike":
        assert doc["mean"] is not None and doc["threshold"] > doc["mean"]
    assert doc["history"] and doc["history"][-1][1] == doc["value"]
    assert doc["target"]["comm"] == "misbehave"
    assert doc["complete"] is True
    stacks = action(doc, "stacks")
    assert stacks["status"] == "ok", stacks
    assert stacks["target_stopped_seconds"] is not None and stacks["target_stopped_seconds"] < 5
    text = (art / "stacks.txt").read_text()
    main = stack_threads(text)[doc["target"]["pid"]]
    assert function in main, text


def test_artifact_layout_and_modes(autodump, rules, tmp_path):
    art, _ = run_until_fired(autodump, rules, tmp_path, "threads", "{above: 10}",
                             ["threads", "after=0.5", "count=20"])
    name = art.name
    doc = trigger(art)
    # <UTC YYYYmmddTHHMMSSZ>-<rule>-<comm>-<pid>
    stamp, rest = name.split("-", 1)
    assert len(stamp) == 16 and stamp.endswith("Z") and stamp[8] == "T"
    assert rest == f"threads-rule-misbehave-{doc['target']['pid']}"
    assert stat.S_IMODE(os.stat(art).st_mode) == 0o700
    for path in art.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    snapshot = art / "proc"
    for f in ("status", "limits", "maps", "smaps_rollup", "cgroup", "fds"):
        assert (snapshot / f).exists(), f
    assert not (snapshot / "environ").exists()
    assert "misbehave" in (snapshot / "status").read_text()
    assert not [p for p in art.parent.iterdir() if p.name.startswith(".")]


def test_stacks_list_every_thread(autodump, rules, tmp_path):
    art, _ = run_until_fired(autodump, rules, tmp_path, "threads", "{above: 60}",
                             ["threads", "after=0.5", "count=64"])
    doc = trigger(art)
    threads = stack_threads((art / "stacks.txt").read_text())
    assert len(threads) == 65
    idle = [frames for tid, frames in threads.items() if tid != doc["target"]["pid"]]
    assert all("thread_idle" in frames for frames in idle), idle[:2]


def test_core_loads_in_gdb_with_the_leak(autodump, rules, tmp_path):
    art, _ = run_until_fired(autodump, rules, tmp_path, "rss", "{above: 64MiB}",
                             ["leak", "after=0.5", "rate=100", "max=128"], actions="core")
    doc = trigger(art)
    core = action(doc, "core")
    assert core["status"] == "ok", core
    assert core["files"] == ["core"] and core["bytes"] > 64 << 20
    assert stat.S_IMODE(os.stat(art / "core").st_mode) == 0o600
    gdb = subprocess.run(["gdb", "--nx", "--batch", "-ex", "bt", "-ex", "print/x leak_marker",
                          MISBEHAVE, str(art / "core")], capture_output=True, text=True, timeout=120)
    assert "leak_memory" in gdb.stdout, gdb.stdout + gdb.stderr
    assert "0xfeedfacecafebeef" in gdb.stdout, gdb.stdout


def test_builtin_rules_catch_a_slow_leak(autodump, tmp_path):
    """8 MiB/s, far too slow for memory-spike: the built-in memory-growth
    rule (no rule file) catches it within 90 s, with the leak on the stack
    and the measured growth in trigger.json."""
    out = tmp_path / "out"
    started = time.monotonic()
    a = autodump("run", "-o", out, "--", MISBEHAVE, "leak", "rate=8", "max=1500")
    dirs = wait_for(lambda: [d for d in artifacts(out) if "-memory-growth-" in d.name], 100,
                    what="a memory-growth artifact")
    assert time.monotonic() - started < 95
    t = json.loads((dirs[0] / "trigger.json").read_text())
    assert t["condition"] == "growth"
    assert 6 << 20 < t["growth_per_second"] < 10 << 20, t["growth_per_second"]
    assert "leak_memory" in (dirs[0] / "stacks.txt").read_text()
    assert not [d for d in artifacts(out) if "-memory-spike-" in d.name]
    a.stop()
