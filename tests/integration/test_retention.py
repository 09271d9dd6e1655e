"""Retention on a small tmpfs: [storage] max_count, max_total and keep
enforced after every artifact and at start, oldest first, the newest kept,
nothing that is not an autodump artifact touched; partial artifacts an
interrupted autodump left removed."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts


@pytest.fixture
def tmpfs(tmp_path):
    d = tmp_path / "tmpfs"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)])


def fake_artifact(out, when, name="old-rule-misbehave-1", size=0):
    d = out / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when)) + "-" + name)
    d.mkdir(mode=0o700)
    (d / "trigger.json").write_text('{"schema": 1, "rule": "old", "complete": true}')
    if size:
        (d / "core").write_bytes(b"\x01" * size)
    return d


def collect(out, conf, pid):
    r = subprocess.run([AUTODUMP, "collect", "stacks", "-c", str(conf), "-o", str(out), str(pid)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return Path(r.stdout.strip()), r.stderr


def test_max_count_keep_and_what_is_not_ours(tmpfs, tmp_path, target):
    now = time.time()
    oldest = fake_artifact(tmpfs, now - 3 * 86400, "ancient-x-1")        # past keep
    a = fake_artifact(tmpfs, now - 3600, "a-x-2")
    b = fake_artifact(tmpfs, now - 1800, "b-x-3")
    c = fake_artifact(tmpfs, now - 900, "c-x-4")
    # Not autodump's: never touched, whatever they are called.
    (tmpfs / "notes").mkdir()
    (tmpfs / "README").write_text("mine")
    no_record = tmpfs / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 7200)) + "-looks-like-1")
    no_record.mkdir()
    link = tmpfs / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 5000)) + "-link-1")
    link.symlink_to(a)
    conf = tmp_path / "autodump.conf"
    conf.write_text("[storage]\nmax_count = 3\nkeep = 2d\nmax_total = 0\nmin_free = 0%\n")
    p = target("idle")
    new, log = collect(tmpfs, conf, p.pid)
    left = {d.name for d in artifacts(tmpfs)}
    # ancient: age; a: count (c, b and the new one are 3).
    assert not oldest.exists() and not a.exists()
    assert b.exists() and c.exists() and new.exists()
    assert {"notes", "README", no_record.name} <= left | {"README"}
    assert (tmpfs / "README").read_text() == "mine"
    assert no_record.exists() and (tmpfs / "notes").exists() and link.is_symlink()
    assert f"retention: removed {tmpfs}/{oldest.name}: older than keep (2d)" in log
    assert f"retention: removed {tmpfs}/{a.name}: more than max_count (3) artifacts" in log


def test_max_total_removes_oldest_and_keeps_the_newest(tmpfs, tmp_path, target):
    now = time.time()
    big = [fake_artifact(tmpfs, now - 600 + i, f"big-x-{i}", size=4 << 20) for i in range(4)]
    conf = tmp_path / "autodump.conf"
    conf.write_text("[storage]\nmax_total = 10MiB\nmax_count = 0\nmin_free = 0%\n")
    p = target("idle")
    new, log = collect(tmpfs, conf, p.pid)
    # 4 x 4 MiB + the new one: the two oldest go, 8 MiB and the new stay.
    assert [d.exists() for d in big] == [False, False, True, True]
    assert new.exists()
    assert log.count("artifacts over max_total (10.0MiB)") == 2


def test_partial_artifacts_left_behind_are_removed_at_start(tmpfs, tmp_path):
    now = time.time()
    stale = tmpfs / (time.strftime(".%Y%m%dT%H%M%SZ", time.gmtime(now - 7200)) + "-r-x-1.partial")
    stale.mkdir()
    (stale / "trigger.json").write_text("{}")
    os.utime(stale, (now - 7200, now - 7200))
    # One being written right now (by another autodump sharing the
    # directory) is younger than any collection may run: kept.
    fresh = tmpfs / (time.strftime(".%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-r-x-2.partial")
    fresh.mkdir()
    conf = tmp_path / "autodump.conf"
    conf.write_text("[collect]\ntimeout = 1m\n")
    r = subprocess.run([AUTODUMP, "run", "-c", str(conf), "-o", str(tmpfs), "--", MISBEHAVE, "exit", "code=0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and fresh.exists()
    assert f"removed {tmpfs}/{stale.name}: a partial artifact an interrupted capture left" in r.stderr
