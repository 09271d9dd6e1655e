"""Go programs' own dumps from their net/http/pprof endpoint (Debian's
golang-go builds the target): found among the sockets they listen on, or
given; inside their own network namespace too; never a SIGQUIT."""
import json
import os
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import AUTODUMP, artifacts, wait_for

SOURCE = Path(__file__).parents[1] / "targets/gopprof/main.go"

pytestmark = pytest.mark.skipif(not shutil.which("go"), reason="no go: scripts/install-deps.sh installs golang-go")


@pytest.fixture(scope="module")
def gopprof(tmp_path_factory):
    d = tmp_path_factory.mktemp("gopprof")
    shutil.copy(SOURCE, d / "main.go")
    env = dict(os.environ, HOME=str(d), GOCACHE=str(d / "cache"), GOPATH=str(d / "path"), GO111MODULE="off")
    subprocess.run(["go", "build", "-o", str(d / "gopprof"), "main.go"], cwd=d, env=env, check=True, timeout=300)
    return d / "gopprof"


@pytest.fixture
def service(gopprof):
    started = []

    def start(*args, wrap=()):
        p = subprocess.Popen([*wrap, gopprof, *map(str, args)], stdout=subprocess.PIPE, text=True)
        started.append(p)
        line = p.stdout.readline().split()
        p.port = int(line[1]) if line[1:] != ["none"] else None
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()


def rule(rules, actions, extra=""):
    return rules("rules:\n  - name: go-mem\n    target: {comm: gopprof}\n    metric: rss\n    interval: 200ms\n"
                 f"    when: {{above: 60MiB}}\n    max: 1\n    actions: [{actions}]\n{extra}")


def fired(autodump, r, tmp_path):
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), 30, what=a.text())
    doc = wait_for(lambda: (lambda doc: doc.get("complete") and doc)(json.loads((d / "trigger.json").read_text())),
                   60)
    return d, {x["action"]: x for x in doc["actions"]}


def pprof_top(path, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(["go", "tool", "pprof", "-top", str(path)], capture_output=True, text=True, env=env,
                          timeout=120).stdout


def test_a_discovered_endpoint_gives_goroutines_heap_and_profile(tmp_path, rules, autodump, service):
    p = service("-after", 1, "-leak", 2000, "-mib", 100)
    d, acts = fired(autodump, rule(rules, "go.goroutines, go.heap, {go.profile: {seconds: 1}}"), tmp_path)
    assert {k: v["status"] for k, v in acts.items()} == {"go.goroutines": "ok", "go.heap": "ok", "go.profile": "ok"}
    goroutines = (d / "goroutines.txt").read_text()
    assert goroutines.count("main.leakyWorker(") == 2000
    assert "main.growHeap" in pprof_top(d / "heap.pb.gz", tmp_path)
    assert "Type: cpu" in pprof_top(d / "cpu.pb.gz", tmp_path)
    assert p.poll() is None


def test_a_given_endpoint_and_a_wrong_one(tmp_path, rules, autodump, service):
    p = service("-after", 1, "-mib", 100)
    d, acts = fired(autodump, rule(rules, "go.goroutines", f"    go: {{pprof: 127.0.0.1:{p.port}}}\n"), tmp_path)
    assert acts["go.goroutines"]["status"] == "ok"
    assert "goroutine 1 [" in (d / "goroutines.txt").read_text()
    # A port nothing listens on: connection refused, said as such.
    out2 = tmp_path / "second"
    out2.mkdir()
    d, acts = fired(autodump, rule(rules, "go.heap", "    go: {pprof: '127.0.0.1:1'}\n"), out2)
    assert acts["go.heap"]["status"] == "failed"
    assert "http://127.0.0.1:1/debug/pprof/heap:" in acts["go.heap"]["error"]
    assert "Couldn't connect to server" in acts["go.heap"]["error"], acts
    assert not (d / "heap.pb.gz").exists()


def test_no_pprof_endpoint_is_a_clear_reason_and_no_signal(tmp_path, rules, autodump, service):
    p = service("-after", 1, "-mib", 100, "-nopprof")
    d, acts = fired(autodump, rule(rules, "go.goroutines"), tmp_path)
    assert acts["go.goroutines"]["error"].startswith("no pprof endpoint: it listens on no TCP socket")
    assert p.poll() is None             # a SIGQUIT would have killed it


def test_profiling_already_in_use_is_the_reason(tmp_path, rules, autodump, service):
    p = service("-after", 2, "-mib", 100)
    busy = threading.Thread(target=lambda: urllib.request.urlopen(
        f"http://127.0.0.1:{p.port}/debug/pprof/profile?seconds=8", timeout=30).read())
    busy.start()
    d, acts = fired(autodump, rule(rules, "{go.profile: {seconds: 1}}"), tmp_path)
    busy.join()
    assert acts["go.profile"]["status"] == "failed"
    assert "cpu profiling already in use" in acts["go.profile"]["error"], acts


def test_a_service_in_its_own_network_namespace(tmp_path, rules, autodump, service):
    """Its 127.0.0.1 is not ours: the request is made from inside."""
    p = service("-after", 1, "-leak", 10, "-mib", 100,
                wrap=["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"])
    # Not reachable from here.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{p.port}/debug/pprof/", timeout=2)
    d, acts = fired(autodump, rule(rules, "go.goroutines"), tmp_path)
    assert acts["go.goroutines"]["status"] == "ok", acts
    assert (d / "goroutines.txt").read_text().count("main.leakyWorker(") == 10
