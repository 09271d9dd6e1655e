"""A .NET program's own dump over the runtime's diagnostics IPC (the
machine's .NET SDK builds the target, offline, with no NuGet package):
asked of the runtime, written by its createdump, moved into the artifact;
and the reasons when a process is not .NET or has its diagnostics off."""
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import AUTODUMP, artifacts, complete_trigger, wait_for

SOURCE = Path(__file__).parents[1] / "targets/dotnet"

pytestmark = pytest.mark.skipif(not shutil.which("dotnet"), reason="no dotnet: this project's machines carry the "
                                "NET SDK; install it to run these")


@pytest.fixture(scope="module")
def dll(tmp_path_factory):
    d = tmp_path_factory.mktemp("dotnet")
    for f in ("Misbehave.csproj", "Program.cs"):
        shutil.copy(SOURCE / f, d / f)
    env = dict(os.environ, DOTNET_CLI_HOME=str(d), DOTNET_NOLOGO="1", DOTNET_CLI_TELEMETRY_OPTOUT="1",
               DOTNET_SKIP_FIRST_TIME_EXPERIENCE="1")
    subprocess.run(["dotnet", "build", "-c", "Release", "-o", str(d / "out"), "--nologo"], cwd=d, env=env,
                   check=True, timeout=600, stdout=subprocess.DEVNULL)
    return d / "out/Misbehave.dll"


@pytest.fixture
def program(dll):
    started = []

    def start(*args, env=None, wrap=()):
        p = subprocess.Popen([*wrap, "dotnet", str(dll), *map(str, args)], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, **(env or {})))
        started.append(p)
        assert p.stdout.readline().startswith("ready ")
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()


def collect(pid, out):
    r = subprocess.run([AUTODUMP, "collect", "dotnet.dump", str(pid), "-o", str(out)], capture_output=True,
                       text=True, timeout=300)
    d = Path(r.stdout.strip())
    return d, json.loads((d / "trigger.json").read_text())["actions"][0]


def marker_count(dump, marker):
    with open(dump, "rb") as f:
        return f.read().count(marker.encode("utf-16-le"))


def test_a_memory_rule_takes_a_heap_dump_that_holds_what_the_program_allocated(tmp_path, rules, autodump,
                                                                               program):
    marker = f"MARK-{uuid.uuid4().hex[:12]}"
    p = program("--after", 1, "alloc", 80, marker)
    r = rules("rules:\n  - name: dotnet-mem\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 1 alloc'}\n"
              "    metric: rss\n    interval: 200ms\n    when: {above: 60MiB}\n    max: 1\n    actions: [dotnet.dump]\n")
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), 60, what=a.text())
    doc = complete_trigger(d, 120)
    assert doc["actions"][0]["status"] == "ok", doc["actions"]
    with open(d / "dotnet.dmp", "rb") as f:
        head = f.read(18)
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == 4     # ET_CORE
    # Strings of the managed heap are in a heap dump: 16 of them a MiB, more
    # than half allocated when the rule fired at 60 MiB of RSS.
    assert marker_count(d / "dotnet.dmp", marker) >= 600
    assert p.poll() is None
    # Nothing left behind in the target's /tmp.
    assert not list(Path("/tmp").glob(f".autodump-dotnet-*"))


def test_not_dotnet_and_diagnostics_disabled_are_clear_reasons(tmp_path, program):
    native = subprocess.Popen(["sleep", "60"])
    try:
        _, act = collect(native.pid, tmp_path / "a")
        assert (act["status"], act["error"]) == ("failed", "not a .NET process (no libcoreclr.so mapped)")
    finally:
        native.kill()
        native.wait()
    off = program("idle", env={"DOTNET_EnableDiagnostics": "0"})
    _, act = collect(off.pid, tmp_path / "b")
    assert act["error"] == "the .NET runtime's diagnostics are disabled (DOTNET_EnableDiagnostics=0)", act
    assert off.poll() is None


def runtime_of(marker):
    """The pid (ours) of the dotnet process whose arguments hold marker."""
    for c in Path("/proc").glob("[0-9]*"):
        try:
            argv = (c / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0] == b"dotnet" and marker.encode() in argv:
            return int(c.name)
    return None


def test_a_dotnet_program_in_its_own_pid_and_mount_namespace(tmp_path, dll):
    """As in a container: its pid is 1 there and its /tmp its own, where
    its diagnostics socket and the dump are."""
    marker = f"MARK-{uuid.uuid4().hex[:12]}"
    p = subprocess.Popen(
        ["unshare", "-pf", "--kill-child", "--mount-proc", "-m", "sh", "-c",
         'mount -t tmpfs tmpfs /dev/shm && cp -r "$0"/. /dev/shm && mount -t tmpfs tmpfs /tmp && '
         'exec dotnet /dev/shm/Misbehave.dll alloc 8 "$1"', str(dll.parent), marker],
        stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready 1"
        assert p.stdout.readline().strip() == "misbehaved"
        pid = wait_for(lambda: runtime_of(marker), 10, what="the namespaced runtime")
        d, act = collect(pid, tmp_path / "out")
        assert act["status"] == "ok", act
        assert marker_count(d / "dotnet.dmp", marker) >= 100
    finally:
        p.kill()
        p.wait()
