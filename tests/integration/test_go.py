"""Go programs watched from outside through their own net/http/pprof
endpoint (Debian's golang-go builds the target): go.goroutines and
go.heap_inuse as metrics, goroutine dumps and profiles as actions; the
endpoint found among the sockets they listen on, or given; inside their own
network namespace too; never a SIGQUIT."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import AUTODUMP, artifacts, check_shipped_rules, wait_for, watch_until_fired

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
    d, doc = watch_until_fired(autodump, r, tmp_path / "out")
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


def metric_rule(rules, metric, when, actions, extra="", target="{comm: gopprof}", interval="200ms"):
    return rules(f"rules:\n  - name: go-metric\n    target: {target}\n    metric: {metric}\n"
                 f"    interval: {interval}\n    window: 5\n    when: {when}\n    max: 1\n"
                 f"    actions: [{actions}]\n{extra}")


def test_the_shipped_go_rules_are_valid():
    check_shipped_rules("go-service.yaml", 4)


def test_a_goroutine_spike_fires_go_goroutines_and_the_dump_shows_the_leak(tmp_path, rules, autodump, service):
    """No go: key: the endpoint is found among its sockets; the count jumps
    from a handful to 3000 on cue."""
    p = service("-after", 3, "-leak", 3000)
    r = metric_rule(rules, "go.goroutines", "{spike: 100%, min: 100}", "go.goroutines")
    d, acts = fired(autodump, r, tmp_path)
    doc = json.loads((d / "trigger.json").read_text())
    assert (doc["metric"], doc["condition"]) == ("go.goroutines", "spike")
    assert doc["value"] >= 3000 and doc["mean"] < 20, doc
    assert acts["go.goroutines"]["status"] == "ok", acts
    assert (d / "goroutines.txt").read_text().count("main.leakyWorker(") == 3000
    assert p.poll() is None


def test_heap_inuse_high_water_from_a_given_endpoint_inside_its_network_namespace(tmp_path, rules, autodump,
                                                                                  service):
    p = service("-after", 2, "-mib", 80,
                wrap=["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"])
    r = metric_rule(rules, "go.heap_inuse", "{above: 60MiB}", "go.heap",
                    f"    go: {{pprof: '127.0.0.1:{p.port}'}}\n")
    d, acts = fired(autodump, r, tmp_path)
    doc = json.loads((d / "trigger.json").read_text())
    assert doc["metric"] == "go.heap_inuse" and 80 << 20 <= doc["value"] < 200 << 20, doc
    # Before the cue the history holds the small heap it started with.
    assert doc["history"][0][1] < 20 << 20, doc["history"]
    assert "main.growHeap" in pprof_top(d / "heap.pb.gz", tmp_path)


def test_no_pprof_endpoint_is_said_once_not_every_interval(tmp_path, rules, autodump, service):
    p = service("-nopprof")
    a = autodump("watch", "-r", metric_rule(rules, "go.goroutines", "{above: 1}", "stacks"), "-o", tmp_path / "o")
    a.wait_log("no go.* metrics: no pprof endpoint: it listens on no TCP socket")
    time.sleep(3)        # 15 intervals
    a.stop()
    assert a.text().count("no pprof endpoint") == 1, a.text()
    assert not artifacts(tmp_path / "o")
    # A program that is not Go is never sent a request: said so, once.
    q = subprocess.Popen(["sleep", "30"])
    try:
        b = autodump("watch", "-r", metric_rule(rules, "go.goroutines", "{above: 1}", "stacks",
                                                target=f"{{pid: {q.pid}}}"), "-o", tmp_path / "o2")
        b.wait_log("not a Go program")
        time.sleep(2)
        b.stop()
        assert b.text().count("not a Go program") == 1, b.text()
    finally:
        q.kill()
        q.wait()


def test_a_silent_endpoint_costs_one_timeout_and_backs_off(tmp_path, rules, autodump, service):
    """An endpoint that accepts and never answers: the loop goes on (another
    rule fires meanwhile), the reason is logged once, and it is asked less
    and less often, not every interval."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(silent.accept()) for _ in iter(int, 1)], daemon=True).start()
    p = service("-after", 2, "-mib", 80)
    r = rules("rules:\n"
              f"  - name: go-silent\n    target: {{pid: {p.pid}}}\n    metric: go.goroutines\n"
              f"    interval: 200ms\n    when: {{above: 1}}\n    actions: [stacks]\n"
              f"    go: {{pprof: '127.0.0.1:{silent.getsockname()[1]}'}}\n"
              f"  - name: go-rss\n    target: {{pid: {p.pid}}}\n    metric: rss\n    interval: 200ms\n"
              f"    when: {{above: 60MiB}}\n    max: 1\n    actions: [stacks]\n")
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), 30, what=a.text())
    assert json.loads((d / "trigger.json").read_text())["rule"] == "go-rss"
    time.sleep(6)
    a.stop()
    assert a.text().count("no go.* metrics") == 1, a.text()
    assert "Timeout was reached" in a.text() or "timed out" in a.text(), a.text()
    # About 9 s at 200 ms would be 45 requests; with back-off a handful.
    assert 2 <= len(accepted) <= 8, len(accepted)


def test_sample_shows_go_metrics_only_for_go_programs(service):
    p = service("-leak", 50)
    out = subprocess.run([AUTODUMP, "sample", "-n", "2", "-i", "500ms", "--json", str(p.pid), str(os.getpid())],
                         capture_output=True, text=True, timeout=30)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    go = [r for r in rows if r["pid"] == p.pid]
    assert go and all(r["go.goroutines"] >= 50 and r["go.heap_inuse"] > 0 for r in go), rows
    assert all(r["go.goroutines"] is None for r in rows if r["pid"] != p.pid), rows
    assert "jvm.threads" not in rows[0]
