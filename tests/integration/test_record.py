"""The morning after: a recording of every sample, firing and capture in
SQLite, read back with SQL, by `replay` and by `report` (in a real
headless chromium)."""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, Autodump, artifacts, wait_for

# `self`: the command's tree only, whatever other misbehave processes run.
RULES = """\
defaults: {interval: 200ms, window: 5}
rules:
  - name: leak-spike
    target: {self: true, comm: misbehave}
    metric: rss
    when: {spike: 50%, min: 20MiB}
    actions: [stacks]
    max: 2
    cooldown: 1s
  - name: many-threads
    target: {self: true, comm: misbehave}
    metric: threads
    when: {above: 100}
    actions: [stacks]
"""


def db(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One recorded `run` of a leaking process: 2 s idle, then 50 MiB/s to
    300 MiB, then idle until `timeout` ends it at 7 s."""
    tmp = tmp_path_factory.mktemp("night")
    (tmp / "rules.yaml").write_text(RULES)
    a = Autodump(["run", "-r", tmp / "rules.yaml", "-o", tmp / "out", "--record", tmp / "night.db", "--",
                  "timeout", "7", MISBEHAVE, "leak", "after=2", "rate=50", "max=300"], tmp)
    assert a.wait(30) == 124, a.text()
    return tmp


def test_recording_holds_every_tick_firing_and_artifact(night):
    con = db(night / "night.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
    (target, pid, comm, cmdline), = con.execute(
        "SELECT id, pid, comm, cmdline FROM targets WHERE comm = 'misbehave'").fetchall()
    assert "leak after=2" in cmdline
    series = dict(con.execute("SELECT metric, id FROM series WHERE target = ?", (target,)).fetchall())
    assert set(series) == {"rss", "threads"}
    counts = {m: con.execute("SELECT count(*) FROM samples WHERE series = ?", (s,)).fetchone()[0]
              for m, s in series.items()}
    # Both rules are due on the same ticks: a sample each per tick, about
    # 7 s / 200 ms of them, never a gap of two ticks.
    assert counts["rss"] == counts["threads"] and 30 <= counts["rss"] <= 37, counts
    times = [t for t, in con.execute("SELECT t FROM samples WHERE series = ? ORDER BY rowid", (series["rss"],))]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < 300_000 and min(gaps) > 100_000, gaps
    # The rule that read each series is listed.
    assert con.execute("SELECT r.name FROM series_rules sr JOIN rules r ON r.id = sr.rule WHERE sr.series = ?",
                       (series["rss"],)).fetchall() == [("leak-spike",)]
    firings = con.execute("SELECT id, time, value, threshold, condition, status FROM firings_named "
                          "WHERE rule = 'leak-spike' ORDER BY id").fetchall()
    dirs = artifacts(night / "out")
    assert len(firings) == 2 == len(dirs)
    for (fid, t, value, threshold, condition, status), d in zip(firings, dirs):
        assert condition == "spike" and status == "collected" and value > threshold
        path, size = con.execute("SELECT path, bytes FROM artifacts WHERE firing = ?", (fid,)).fetchone()
        assert path == str(d.resolve())
        doc = json.loads((d / "trigger.json").read_text())
        assert doc["value"] == value and doc["time"] == t
        assert con.execute("SELECT action, status, bytes FROM actions WHERE artifact = "
                           "(SELECT id FROM artifacts WHERE firing = ?)", (fid,)).fetchall() == \
            [("stacks", "ok", size)]
    # The rules as written, for the report's legend.
    assert con.execute("SELECT name, condition FROM rules ORDER BY id").fetchall() == [
        ("leak-spike", "spike 50%, min 20.0MiB"), ("many-threads", "above 100")]
    # The run and its command.
    mode, command = con.execute("SELECT mode, command FROM runs").fetchone()
    assert mode == "run" and command.startswith("timeout 7 ")


def test_replay_reproduces_the_live_firings(night):
    out = subprocess.run([AUTODUMP, "replay", "-r", night / "rules.yaml", "--json", night / "night.db"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    replayed = [json.loads(line) for line in out.stdout.splitlines()]
    con = db(night / "night.db")
    live = con.execute("SELECT time, rule, pid, value FROM firings_named ORDER BY id").fetchall()
    assert [(f["time"], f["rule"], f["target"]["pid"], f["value"]) for f in replayed] == live


def test_replay_of_other_rules_fires_where_their_thresholds_are_crossed(night, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("rules:\n  - name: over-100m\n    target: {self: true, comm: misbehave}\n    metric: rss\n"
                     "    interval: 200ms\n    when: {above: 100MiB}\n    actions: [core]\n")
    out = subprocess.run([AUTODUMP, "replay", "-r", other, night / "night.db"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    con = db(night / "night.db")
    first_over = con.execute("SELECT time FROM samples_named WHERE comm = 'misbehave' AND metric = 'rss' "
                             "AND value > 100 * 1048576 ORDER BY time LIMIT 1").fetchone()[0]
    assert line.startswith(f"{first_over} over-100m misbehave[") and "(above;" in line, line
    assert "1 firing (the recording holds" in out.stderr


def test_replay_of_a_metric_not_recorded_names_those_that_were(night, tmp_path):
    other = tmp_path / "fds.yaml"
    other.write_text("rules:\n  - name: fds\n    metric: fds\n    when: {above: 10}\n    actions: [stacks]\n")
    out = subprocess.run([AUTODUMP, "replay", "-r", other, night / "night.db"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1
    assert f"{other}:2:5: rule fds reads fds, which was not recorded (recorded: rss, threads)" in out.stderr


def chromium(html, tmp_path):
    """Loads a copy of `html` in headless chromium with a probe in front of
    it: what the page logged as errors, how long it took to load, and the
    size of its first chart. Returns (probe results, screenshot path)."""
    probe = ("<script>window.__errors=[];window.addEventListener('error',function(e){"
             "window.__errors.push(String(e.message))});window.addEventListener('load',function(){"
             "setTimeout(function(){var s=document.querySelector('svg.chart').getBoundingClientRect();"
             "var n=performance.getEntriesByType('navigation')[0];var p=document.createElement('pre');"
             "p.id='probe';p.textContent=JSON.stringify({errors:window.__errors,w:s.width,h:s.height,"
             "load:n.loadEventStart,charts:document.querySelectorAll('svg.chart').length});"
             "document.body.appendChild(p)},0)});</script>")
    text = Path(html).read_text()
    copy = tmp_path / "probed.html"
    copy.write_text(text.replace("<head>", "<head>" + probe, 1))
    browser = shutil.which("chromium")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*flags, "--virtual-time-budget=5000", "--dump-dom", f"file://{copy}"],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout)
    assert found, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1000,1600", f"--screenshot={shot}", f"file://{html}"],
                   capture_output=True, text=True, timeout=120)
    consoles = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    return json.loads(found.group(1).replace("&quot;", '"')), shot, consoles


def test_report_shows_the_night_and_links_the_artifacts(night, tmp_path):
    html = tmp_path / "report.html"
    out = subprocess.run([AUTODUMP, "report", night / "night.db", "-o", html], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    page = html.read_text()
    # Self-contained: nothing fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<h2>Firings by rule</h2>" in page and ">leak-spike<" in page
    # A chart per recorded series, each with its values' path.
    assert page.count('<svg class="chart"') == 2 and page.count('<path class="v"') == 2
    # The spike threshold is drawn where the rule compared.
    assert '<path class="spike"' in page and '<path class="above"' in page
    for d in artifacts(night / "out"):
        assert f'href="file://{d.resolve()}"' in page
    # The run says where its artifacts went.
    assert f'artifacts in <a href="file://{(night / "out").resolve()}">' in page
    probe, shot, consoles = chromium(html, tmp_path)
    assert probe["errors"] == [] and consoles == [], (probe, consoles)
    assert probe["charts"] == 2 and probe["w"] > 500 and probe["h"] > 100, probe
    assert shot.stat().st_size > 20000


def test_report_draws_a_replay_beside_the_live_firings(night, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("rules:\n  - name: over-100m\n    target: {self: true, comm: misbehave}\n    metric: rss\n"
                     "    interval: 200ms\n    when: {above: 100MiB}\n    actions: [core]\n")
    html = tmp_path / "replay.html"
    subprocess.run([AUTODUMP, "report", night / "night.db", "--replay", other, "-o", html], check=True, timeout=60)
    page = html.read_text()
    assert "1 would-be firing" in page
    assert page.count('class="mark replay"') == 2      # on the chart and on the timeline
    assert "replay: over-100m would fire at" in page


def test_a_long_series_keeps_its_one_sample_spike_and_renders_fast(night, tmp_path):
    """30 000 samples in one series (the recording's own, extended with
    SQL), one of them a spike: the chart keeps it, the browser loads the
    page in under a second."""
    big = tmp_path / "big.db"
    shutil.copy(night / "night.db", big)
    con = sqlite3.connect(big)
    series, t0, mono0 = con.execute("SELECT series, max(t), max(mono) FROM samples WHERE series = "
                                    "(SELECT id FROM series WHERE metric = 'threads')").fetchone()
    con.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
                "INSERT INTO samples SELECT ?, ? + i * 1000000, ? + i * 1000000, "
                "CASE WHEN i = 17123 THEN 5000 ELSE 10 + i % 7 END, NULL FROM n", (series, t0, mono0))
    con.commit()
    con.close()
    html = tmp_path / "big.html"
    started = time.monotonic()
    subprocess.run([AUTODUMP, "report", big, "-o", html], check=True, timeout=60)
    generated = time.monotonic() - started
    page = html.read_text()
    threads_chart = [s for s in page.split('<svg class="chart"') if 'data-kind="count"' in s][0]
    cols = [c.split(",") for c in re.search(r'data-cols="([^"]*)"', threads_chart).group(1).split(";") if c]
    assert max(float(c[2]) for c in cols) == 5000
    assert len(cols) <= 720
    probe, _, consoles = chromium(html, tmp_path)
    assert probe["errors"] == [] and consoles == []
    assert probe["load"] < 1000, probe
    assert generated < 5, generated


def test_sigkilled_recorder_leaves_every_committed_tick(tmp_path, rules, target):
    victim = target("idle")
    r = rules("rules:\n  - name: t\n    metric: threads\n    interval: 100ms\n    when: {above: 1000}\n"
              "    actions: [stacks]\n")
    rec = tmp_path / "killed.db"
    a = Autodump(["watch", "-r", r, "-o", tmp_path / "out", "--record", rec, "-p", str(victim.pid)], tmp_path)
    a.wait_log("recording to")
    time.sleep(3)
    a.proc.send_signal(signal.SIGKILL)
    killed = time.time()
    a.wait()
    con = db(rec)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    times = [t / 1e6 for t, in con.execute("SELECT t FROM samples ORDER BY rowid")]
    assert len(times) >= 25
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < 0.2, gaps
    # Every tick was committed as it ended: the last is from just before
    # the kill.
    assert killed - times[-1] < 0.3


def test_max_size_prunes_the_oldest_samples_and_keeps_firings(tmp_path, rules, target):
    victim = target("idle")
    conf = tmp_path / "autodump.conf"
    rec = tmp_path / "small.db"
    conf.write_text(f"[record]\npath = {rec}\nmax_size = 160KiB\n")
    r = rules("defaults: {interval: 10ms}\nrules:\n"
              + "".join(f"  - name: {m}\n    metric: {m}\n    when: {{above: {v}}}\n    actions: [stacks]\n"
                        for m, v in (("rss", "1TiB"), ("vsize", "1TiB"), ("fds", 1000000)))
              + "  - name: always\n    metric: threads\n    when: {above: 0}\n    cooldown: 300ms\n"
                "    max: 0\n    actions: [stacks]\n")
    a = Autodump(["watch", "-c", conf, "-r", r, "--dry-run", "-o", tmp_path / "out", "-p", str(victim.pid)], tmp_path)
    a.wait_log("pruned the oldest tenth of the samples", timeout=60)
    time.sleep(1)
    a.stop()
    con = db(rec)
    first_sample = con.execute("SELECT min(t) FROM samples").fetchone()[0]
    first_seen = con.execute("SELECT first_seen FROM targets").fetchone()[0]
    firings = con.execute("SELECT count(*), min(t) FROM firings WHERE status = 'dry-run'").fetchone()
    assert first_sample > first_seen + 1_000_000      # the oldest second is gone
    assert firings[1] < first_sample and firings[0] >= 5   # its firings are not
    assert os.path.getsize(rec) <= 200 * 1024


def test_sample_records_without_rules(tmp_path, target):
    victim = target("idle")
    rec = tmp_path / "baseline.db"
    subprocess.run([AUTODUMP, "sample", "-i", "100ms", "-n", "5", "--record", rec, str(victim.pid)], check=True,
                   capture_output=True, timeout=30)
    con = db(rec)
    per_metric = dict(con.execute("SELECT metric, count(*) FROM samples_named GROUP BY metric").fetchall())
    assert set(per_metric) >= {"cpu", "rss", "threads", "fds"}
    assert set(per_metric.values()) == {5}
    assert con.execute("SELECT mode FROM runs").fetchone()[0] == "sample"


def test_a_recording_path_that_is_a_link_is_refused(tmp_path, rules, target):
    victim = target("idle")
    (tmp_path / "victim").write_text("keep me\n")
    (tmp_path / "rec.db").symlink_to(tmp_path / "victim")
    r = rules("rules:\n  - name: t\n    metric: threads\n    when: {above: 1000}\n    actions: [stacks]\n")
    out = subprocess.run([AUTODUMP, "watch", "-r", r, "-o", tmp_path / "out", "--record", tmp_path / "rec.db",
                          "-p", str(victim.pid)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert f"cannot record to {tmp_path / 'rec.db'}: is a symbolic link" in out.stderr
    assert (tmp_path / "victim").read_text() == "keep me\n"


def test_report_lists_a_failed_capture_with_its_reason(tmp_path, rules):
    r = rules("defaults: {interval: 200ms}\nrules:\n  - name: grows\n    target: {self: true, comm: misbehave}\n"
              "    metric: rss\n    when: {above: 30MiB}\n    max: 1\n"
              "    actions: [stacks, {exec: {argv: [/nonexistent/notify, '{pid}']}}]\n")
    rec = tmp_path / "failed.db"
    a = Autodump(["run", "-r", r, "-o", tmp_path / "out", "--record", rec, "--", "timeout", "4", MISBEHAVE, "leak",
                  "rate=50", "max=100"], tmp_path)
    assert a.wait(30) == 124, a.text()
    con = db(rec)
    assert con.execute("SELECT action, status, error FROM actions ORDER BY rowid").fetchall() == [
        ("stacks", "ok", None), ("exec", "failed", "cannot run /nonexistent/notify: No such file or directory")]
    subprocess.run([AUTODUMP, "report", rec], check=True, capture_output=True, timeout=60)
    page = (tmp_path / "failed.html").read_text()
    failures = page.split("<h2>Failed or skipped captures</h2>")[1].split("<h2>")[0]
    assert "grows: exec" in failures and "cannot run /nonexistent/notify: No such file or directory" in failures
