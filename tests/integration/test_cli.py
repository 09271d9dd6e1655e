"""check, sample, list, show and the built-in rules, as a user types them."""
import json
import re
import subprocess
import time
from pathlib import Path

from conftest import AUTODUMP, MISBEHAVE

ROOT = Path(__file__).parents[2]


def autodump(*args, **kwargs):
    return subprocess.run([AUTODUMP, *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=60, **kwargs)


def test_check_valid_directory_in_name_order(tmp_path):
    d = tmp_path / "rules.d"
    d.mkdir()
    (d / "10-a.yaml").write_text("rules:\n  - name: a\n    metric: cpu\n    when: {above: 90}\n    actions: [stacks]\n")
    (d / "20-b.yml").write_text("rules:\n  - name: b\n    metric: rss\n    when: {above: 1GiB}\n    actions: [core]\n")
    (d / "README").write_text("not a rule file")
    r = autodump("check", "-r", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "2 rules OK\n"


def test_check_reports_every_problem_with_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n"
                   "  - name: a\n"
                   "    metric: cpu\n"
                   "    whn: {above: 90}\n"
                   "    actions: [stacks]\n"
                   "  - name: b\n"
                   "    metric: threads\n"
                   "    when: {above: 10%}\n"
                   "    actions: [stacks]\n")
    r = autodump("check", "-r", bad)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"{bad}:4:5: unknown key 'whn' in a rule (did you mean 'when'?)",
        f"{bad}:2:5: rule has no 'when'",
        f"{bad}:8:19: above: a % needs a reference, and metric 'threads' has none; give a number",
    ]


def test_check_config_errors(tmp_path):
    conf = tmp_path / "autodump.conf"
    conf.write_text("[watch]\nrules = /nonexistent\n[storage]\nmax_totl = 1GiB\nmin_free = lots\n[colect]\n")
    r = autodump("check", "-c", conf, "-r", ROOT / "rules/default.yaml")
    assert r.returncode == 1
    assert f"{conf}:4:1: unknown key 'max_totl' (did you mean 'max_total'?)" in r.stderr
    assert f"{conf}:5:1: min_free: 'lots' is not a percentage, such as 10%" in r.stderr
    assert f"{conf}:6:1: unknown section [colect] (did you mean [collect]?)" in r.stderr


def test_check_usage_and_missing_file(tmp_path):
    assert autodump("check", "extra").returncode == 2
    r = autodump("check", "-r", tmp_path / "missing.yaml")
    assert r.returncode == 1
    assert f"{tmp_path}/missing.yaml:1:1: cannot read: No such file or directory" in r.stderr


def test_shipped_rules_match_the_built_in_ones():
    r = autodump("check", "-r", ROOT / "rules/default.yaml")
    assert r.returncode == 0 and r.stdout == "11 rules OK\n", r.stderr   # the crash rule counts too


def test_sample_json_shows_what_rules_see():
    t = subprocess.Popen([MISBEHAVE, "threads", "count=7"])
    try:
        time.sleep(0.3)
        r = autodump("sample", "-i", "200ms", "-n", "2", "--json", t.pid)
        assert r.returncode == 0, r.stderr
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        assert len(lines) == 2
        s = lines[-1]
        assert s["pid"] == t.pid and s["comm"] == "misbehave"
        assert s["threads"] == 8
        assert s["fds"] >= 3
        assert 0 < s["rss"] < s["vsize"]
        assert 0 <= s["cpu"] < 50
    finally:
        t.kill()
        t.wait()


def test_sample_text_and_errors():
    t = subprocess.Popen([MISBEHAVE, "spin"])
    try:
        r = autodump("sample", "-i", "500ms", "-n", "1", t.pid)
        header, row = r.stdout.splitlines()
        assert header.split() == ["time", "pid", "comm", "cpu", "rss", "vsize", "threads", "fds"]
        cpu = float(row.split()[3].rstrip("%"))
        assert cpu > 50, row            # a spinning process, measured over the interval
    finally:
        t.kill()
        t.wait()
    r = autodump("sample", "-n", "1", "4194303")
    assert r.returncode == 1 and "PID 4194303: no such process" in r.stderr
    assert autodump("sample", "-i", "soon", "1").returncode == 2


def test_list_and_show(tmp_path):
    t = subprocess.Popen([MISBEHAVE, "idle"])
    try:
        time.sleep(0.2)
        r = autodump("collect", "stacks", "-o", tmp_path, t.pid)
        assert r.returncode == 0, r.stderr
    finally:
        t.kill()
        t.wait()
    art = Path(r.stdout.strip())
    listed = json.loads(autodump("list", "-o", tmp_path, "--json").stdout)
    assert [(x["id"], x["rule"], x["pid"], x["status"]) for x in listed] == [(art.name, "manual", t.pid, "ok")]
    assert listed[0]["disk_bytes"] > 0
    header, row, summary = autodump("list", "-o", tmp_path).stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "SIZE", "RULE", "ON", "TARGET"]
    assert row.split()[0] == art.name and row.split()[2][-1] in "BiB"
    assert row.endswith(f"manual on misbehave[{t.pid}]")
    assert re.fullmatch(r"1 artifact, [0-9.]+(B|KiB|MiB) on disk, oldest \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", summary)
    shown = autodump("show", art).stdout
    assert f"target: misbehave[{t.pid}]" in shown and "stacks   ok" in shown
    assert re.search(r"\n    stacks.txt +[0-9.]+(B|KiB)\n", shown) and "    proc/status " in shown


def test_list_filters(tmp_path):
    # Three artifacts: two rules, two targets, two days.
    for name, rule, comm, pid in [("20261120T010000Z-a-redis-server-10", "a", "redis-server", 10),
                                  ("20261122T010000Z-a-postgres-20", "a", "postgres", 20),
                                  ("20261122T020000Z-b-postgres-21", "b", "postgres", 21)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "trigger.json").write_text(json.dumps(
            {"rule": rule, "time": "x", "target": {"comm": comm, "pid": pid}, "actions": []}))

    def ids(*args):
        return [x["id"].split("-")[1] + x["id"][-2:] for x in
                json.loads(autodump("list", "-o", tmp_path, "--json", *args).stdout)]
    assert ids() == ["a10", "a20", "b21"]
    assert ids("--rule", "a") == ["a10", "a20"]
    assert ids("--target", "postgres") == ["a20", "b21"]
    assert ids("--target", "21") == ["b21"]
    assert ids("--since", "2026-11-21T00:00Z") == ["a20", "b21"]
    assert ids("--since", "2026-11-22T01:30:00Z", "--rule", "b") == ["b21"]
    assert ids("--since", "1h") == []
    r = autodump("list", "-o", tmp_path, "--rule", "a")
    assert r.stdout.splitlines()[-1].startswith("2 artifacts, ") and "oldest 2026-11-20T01:00:00Z" in r.stdout
    assert autodump("list", "-o", tmp_path, "--since", "yesterday").returncode == 2


def test_show_draws_the_history_against_the_threshold(tmp_path):
    art = tmp_path / "20261122T020000Z-big-misbehave-7"
    art.mkdir()
    history = [["2026-11-22T01:59:5%d.000Z" % i, v] for i, v in enumerate([10, 20, 40, 80, 160, 320])]
    (art / "trigger.json").write_text(json.dumps({
        "rule": "big", "time": "2026-11-22T02:00:00.000Z", "metric": "rss", "value": 320 * 2**20,
        "threshold": 100 * 2**20, "mean": 62 * 2**20, "condition": "above",
        "target": {"comm": "misbehave", "pid": 7}, "actions": [],
        "history": [[t, v * 2**20] for t, v in history]}))
    shown = autodump("show", art).stdout
    assert "history: 6 samples, 10.0MiB to 320.0MiB; ^ above the threshold 100.0MiB" in shown
    lines = shown.splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith("  history:"))
    assert lines[i + 1] == "    ▁▁▂▃▄█"
    assert lines[i + 2] == "        ^^"


def test_help_and_version():
    r = autodump("--help")
    assert r.returncode == 0 and "autodump run" in r.stdout and "autodump watch" in r.stdout
    r = autodump("--version")
    assert r.returncode == 0 and r.stdout.startswith("autodump ")


def test_every_subcommand_has_help():
    for cmd in ("run", "watch", "check", "sample", "collect", "list", "show"):
        r = autodump(cmd, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage:\n  autodump {cmd} "), (cmd, r.stdout, r.stderr)
    # After --, --help is the command's own.
    r = autodump("run", "-r", "/nonexistent", "--", "true", "--help")
    assert r.returncode == 2 and "usage:" not in r.stdout


def test_unknown_keys_list_the_valid_ones_and_bare_programs_are_found(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: a, metric: rss, when: {above: 1GiB, xyzzy: 3}, actions: [stacks]}\n")
    r = autodump("check", "-r", bad)
    assert r.returncode == 1
    assert "bad.yaml:2:48: unknown key 'xyzzy' in when (valid: above, spike, min, for, growth, over" in r.stderr
    ok = tmp_path / "ok.yaml"
    ok.write_text("rules:\n  - {name: a, metric: rss, when: {above: 1GiB}, actions: [{exec: {argv: [date]}}]}\n")
    assert autodump("check", "-r", ok).returncode == 0
    ok.write_text("rules:\n  - {name: a, metric: rss, when: {above: 1GiB}, "
                  "actions: [{exec: {argv: [no-such-program-here]}}]}\n")
    r = autodump("check", "-r", ok)
    assert r.returncode == 1 and "is neither an absolute path nor a program on PATH" in r.stderr
    ok.write_text("rules:\n  - {name: a, metric: rss, when: {above: 1GiB}, actions: [{signal: SIGQIT}]}\n")
    r = autodump("check", "-r", ok)
    assert r.returncode == 1 and "unknown signal 'SIGQIT' (did you mean 'SIGQUIT'?)" in r.stderr


def test_collect_takes_the_actions_options(tmp_path):
    t = subprocess.Popen([MISBEHAVE, "idle"])
    try:
        time.sleep(0.2)
        r = autodump("collect", "core", t.pid, "--compress", "zstd", "-o", tmp_path)
        assert r.returncode == 0, r.stderr
        assert [f.name for f in Path(r.stdout.strip()).iterdir() if f.name.startswith("core")] == ["core.zst"]
        r = autodump("collect", "profile", "--duration", "300ms", "--frequency", "49", "-o", tmp_path, t.pid)
        assert r.returncode == 0, r.stderr
        profile = [a for a in json.loads((Path(r.stdout.strip()) / "trigger.json").read_text())["actions"]][0]
        assert profile["status"] == "ok" and profile["seconds"] < 3
        r = autodump("collect", "cor", t.pid)
        assert r.returncode == 2 and "unknown action 'cor' (did you mean 'core'?)" in r.stderr
        r = autodump("collect", "stacks", "--compress", "zstd", t.pid)
        assert r.returncode == 2 and "--compress goes with an action that takes it" in r.stderr
    finally:
        t.kill()
        t.wait()


def test_sample_what_a_rule_would_watch(tmp_path):
    t = subprocess.Popen([MISBEHAVE, "idle", "tag=sample-by-rule"])
    try:
        time.sleep(0.2)
        rules = tmp_path / "r.yaml"
        rules.write_text("rules:\n"
                         "  - {name: tagged, target: {cmdline: 'tag=sample-by-rule'}, metric: rss,"
                         " when: {above: 1TiB}, actions: [stacks]}\n"
                         "  - {name: no-target, metric: rss, when: {above: 1TiB}, actions: [stacks]}\n")
        r = autodump("sample", "-n", "1", "--json", "-r", rules, "--rule", "tagged")
        assert r.returncode == 0, r.stderr
        assert [json.loads(l)["pid"] for l in r.stdout.splitlines()] == [t.pid]
        r = autodump("sample", "-n", "1", "--json", "--comm", "misbehave")
        assert t.pid in [json.loads(l)["pid"] for l in r.stdout.splitlines()]
        r = autodump("sample", "-r", rules, "--rule", "no-target")
        assert r.returncode == 2 and "selects no process by itself" in r.stderr
        r = autodump("sample", "-r", rules, "--rule", "nope")
        assert r.returncode == 2 and "no rule 'nope'" in r.stderr
    finally:
        t.kill()
        t.wait()


def test_numbers_out_of_range_are_usage_errors():
    # 4294967295 once became PID -1.
    r = autodump("watch", "-p", "4294967295")
    assert r.returncode == 2 and "-p: '4294967295' is not a PID" in r.stderr
    r = autodump("run", "-e", "256", "--", "true")
    assert r.returncode == 2 and "-e: '256' is not an exit code (0-255)" in r.stderr
