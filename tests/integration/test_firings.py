"""No firing is lost: firings that find every collection slot busy wait
for one, a firing dropped uses up neither max nor cooldown, and many
targets firing at once are all captured in turn."""
import json
import subprocess

from conftest import MISBEHAVE, artifacts, wait_for


def threads_rule(rules, extra=""):
    return rules("defaults: {interval: 200ms}\nrules:\n  - name: storm\n    metric: threads\n"
                 f"    when: {{above: 50}}\n    actions: [stacks]\n    max: 1\n{extra}")


# `run` leaves the command's background children running when it exits:
# each ends by itself, so no test leaves processes behind for the next.
STORM = f"timeout 20 {MISBEHAVE} threads after=1"


def two_storms():
    """Two processes that start 100 threads at the same moment."""
    return ["sh", "-c", f"{STORM} count=100 & {STORM} count=100 & wait"]


def test_two_firings_with_one_slot_give_two_artifacts(tmp_path, rules, autodump):
    out = tmp_path / "out"
    a = autodump("run", "-r", threads_rule(rules), "-o", out, "--", *two_storms())
    a.wait_log("waits for a collection slot")
    dirs = wait_for(lambda: len(artifacts(out)) == 2 and artifacts(out), 30, what=a.text())
    triggers = [json.loads((d / "trigger.json").read_text()) for d in dirs]
    assert len({t["target"]["pid"] for t in triggers}) == 2
    # The one that waited says when it fired and when its capture began.
    waited = max(triggers, key=lambda t: t["capture_started"])
    assert waited["capture_started"] > waited["time"]
    for d in dirs:
        assert "spawn_threads" in (d / "stacks.txt").read_text()
    a.signal(15)
    a.wait()
    assert "dropped" not in a.text()


def test_dropped_firing_uses_up_neither_max_nor_cooldown(tmp_path, rules, autodump):
    """No queue at all: the second firing is dropped, taken back from the
    engine, and the rule (max: 1) fires again for that process later."""
    conf = tmp_path / "autodump.conf"
    conf.write_text("[collect]\nqueue = 0\n")
    out = tmp_path / "out"
    a = autodump("run", "-c", conf, "-r", threads_rule(rules), "-o", out, "--", *two_storms())
    a.wait_log("dropped: the queue of firings waiting for a slot is full")
    dirs = wait_for(lambda: len(artifacts(out)) == 2 and artifacts(out), 30, what=a.text())
    assert len({json.loads((d / "trigger.json").read_text())["target"]["pid"] for d in dirs}) == 2
    a.signal(15)
    a.wait()
    dropped = a.text().count("dropped: ")
    summary = a.text().strip().splitlines()[-1]
    assert f"2 firings ({dropped} more dropped)" in summary, summary


def test_many_targets_are_all_captured(tmp_path, rules, autodump):
    """20 processes over the threshold together, 2 slots: every one gets its
    artifact, none starved by the others' firings."""
    conf = tmp_path / "autodump.conf"
    conf.write_text("[collect]\nparallel = 2\n")
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms}\nrules:\n  - name: storm\n    metric: threads\n"
              "    when: {above: 50}\n    actions: [stacks]\n    cooldown: 1s\n    max: 0\n")
    script = " ".join(f"{STORM} count=60 &" for _ in range(20)) + " wait"
    a = autodump("run", "-c", conf, "-r", r, "-o", out, "--", "sh", "-c", script)
    pids = lambda: {json.loads((d / "trigger.json").read_text())["target"]["pid"] for d in artifacts(out)}
    wait_for(lambda: len(pids()) == 20, 60, what=f"20 processes captured; got {len(pids())}")
    a.signal(15)
    a.wait()
