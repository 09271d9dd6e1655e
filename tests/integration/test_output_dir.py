"""A safe output directory: autodump runs as root and writes cores there,
so a directory someone else owns or can write (or any directory on its
path) is refused with the reason; names planted in it are never followed."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts

NOBODY = 65534


@pytest.fixture
def idle(target):
    p = target("idle")
    time.sleep(0.2)
    return p


def collect(out, pid):
    return subprocess.run([AUTODUMP, "collect", "stacks", "-o", str(out), str(pid)], capture_output=True, text=True,
                          timeout=60)


def test_someone_elses_directory_is_refused(tmp_path, idle, rules):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    r = collect(theirs / "out", idle.pid)
    assert r.returncode == 1
    assert f"refusing output directory {theirs}/out: {theirs} is owned by user {NOBODY}" in r.stderr
    assert not (theirs / "out").exists()
    # watch does not start on it.
    rr = rules("rules:\n  - {name: t, metric: threads, when: {above: 1000}, actions: [stacks]}\n")
    w = subprocess.run([AUTODUMP, "watch", "-r", str(rr), "-o", str(theirs), "-p", str(idle.pid)],
                       capture_output=True, text=True, timeout=30)
    assert w.returncode == 1 and "refusing output directory" in w.stderr


def test_a_parent_writable_by_others_is_refused(tmp_path, idle):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)         # root's, but not sticky: anyone may rename what is in it
    r = collect(shared / "out", idle.pid)
    assert r.returncode == 1
    assert f"{shared} is writable by others (mode 0777)" in r.stderr
    # Root's and sticky, as /tmp is: fine.
    shared.chmod(0o1777)
    assert collect(shared / "out", idle.pid).returncode == 0


def test_our_own_open_directory_is_tightened(tmp_path, idle):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)            # a Kubernetes emptyDir
    assert collect(out, idle.pid).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o700


def test_a_link_is_followed_only_to_a_safe_place(tmp_path, idle):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    (tmp_path / "to-theirs").symlink_to(theirs)
    r = collect(tmp_path / "to-theirs" / "out", idle.pid)
    assert r.returncode == 1 and f"{theirs} is owned by user {NOBODY}" in r.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (tmp_path / "to-mine").symlink_to(mine)
    assert collect(tmp_path / "to-mine", idle.pid).returncode == 0
    assert len(artifacts(mine)) == 1


def names_for_the_next_seconds(pid, seconds=6):
    now = time.time()
    return [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + s)) + f"-manual-misbehave-{pid}"
            for s in range(seconds)]


def plant(out, victim, pid, partial):
    """Links to `victim` where the next seconds' artifacts of `pid` will
    be made (with `partial`) and renamed to (every -N suffix)."""
    for name in names_for_the_next_seconds(pid):
        if partial:
            (out / f".{name}.partial").symlink_to(victim)
        for n in ["", *[f"-{i}" for i in range(2, 100)]]:
            (out / f"{name}{n}").symlink_to(victim)


def test_planted_names_are_never_followed(tmp_path, idle):
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir(mode=0o700)
    victim.mkdir()
    (victim / ".profile").write_text("keep me")
    # The capture fails; nothing is followed.
    plant(out, victim, idle.pid, partial=True)
    r = collect(out, idle.pid)
    assert r.returncode == 1
    assert sorted(p.name for p in victim.iterdir()) == [".profile"]
    assert (victim / ".profile").read_text() == "keep me"


def test_when_the_final_name_is_taken_the_abandon_path_stays_inside(tmp_path, idle):
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir(mode=0o700)
    victim.mkdir()
    (victim / ".bashrc").write_text("keep me")
    # Only the final names are taken (links to the victim): the partial
    # artifact is made, cannot be renamed into place, and is removed —
    # its own dot-files, never the victim's.
    plant(out, victim, idle.pid, partial=False)
    r = collect(out, idle.pid)
    assert r.returncode == 1
    assert (victim / ".bashrc").read_text() == "keep me"
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
