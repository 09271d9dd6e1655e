""".NET programs watched from outside over the runtime's diagnostics IPC
(the machine's .NET SDK builds the target, offline, with no NuGet package):
the dotnet.* metrics from its EventCounters through one EventPipe session,
its own dump asked of the runtime, written by its createdump, moved into
the artifact; and the reasons when a process is not .NET or has its
diagnostics off."""
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import AUTODUMP, artifacts, check_shipped_rules, complete_trigger, wait_for, watch_until_fired

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


def test_a_gc_heap_rule_takes_a_heap_dump_that_holds_what_the_program_allocated(tmp_path, rules, autodump,
                                                                                program):
    marker = f"MARK-{uuid.uuid4().hex[:12]}"
    p = program("--after", 2, "alloc", 80, marker)
    r = rules("rules:\n  - name: dotnet-heap\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 2 alloc'}\n"
              "    metric: dotnet.gc_heap_size\n    interval: 1s\n    when: {above: 60MiB}\n    max: 1\n"
              "    actions: [dotnet.dump]\n")
    d, doc = watch_until_fired(autodump, r, tmp_path / "out", 60)
    assert doc["actions"][0]["status"] == "ok", doc["actions"]
    # The runtime's own figure: 80 MiB of strings, not the process's RSS.
    assert doc["metric"] == "dotnet.gc_heap_size" and 60 << 20 < doc["value"] < 100 << 20, doc
    assert doc["history"][0][1] < 10 << 20, doc["history"]
    with open(d / "dotnet.dmp", "rb") as f:
        head = f.read(18)
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == 4     # ET_CORE
    # Strings of the managed heap are in a heap dump: 16 of them a MiB.
    assert marker_count(d / "dotnet.dmp", marker) >= 16 * 60
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
        assert p.stdout.readline().startswith("misbehaved ")
        pid = wait_for(lambda: runtime_of(marker), 10, what="the namespaced runtime")
        d, act = collect(pid, tmp_path / "out")
        assert act["status"] == "ok", act
        assert marker_count(d / "dotnet.dmp", marker) >= 100
    finally:
        p.kill()
        p.wait()


def test_a_blocked_thread_pool_fires_a_queue_rule(tmp_path, rules, autodump, program):
    """200 work items that each block: the queue stays long while the pool
    adds threads slowly — thread-pool starvation as dotnet-counters shows it."""
    p = program("--after", 2, "starve", 200)
    r = rules("rules:\n  - name: starving\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 2 starve'}\n"
              "    metric: dotnet.threadpool_queue\n    interval: 1s\n    when: {above: 50, for: 2}\n    max: 1\n"
              "    actions: [stacks]\n")
    d, doc = watch_until_fired(autodump, r, tmp_path / "out", 60)
    assert doc["metric"] == "dotnet.threadpool_queue" and doc["value"] > 50, doc
    assert all(v < 50 for _, v in doc["history"][:1]), doc["history"]
    assert p.poll() is None


def test_sample_shows_dotnet_counters_and_a_non_dotnet_rule_says_why_once(tmp_path, rules, autodump, program):
    p = program("--after", 0, "alloc", 30, "SAMPLED")
    out = subprocess.run([AUTODUMP, "sample", "-n", "3", "-i", "1s", "--json", str(p.pid), str(os.getpid())],
                         capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    ours = [r for r in rows if r["pid"] == p.pid and r.get("dotnet.gc_heap_size") is not None]
    assert ours and 30e6 < ours[-1]["dotnet.gc_heap_size"] < 60e6 and ours[-1]["dotnet.working_set"] > 30e6, rows
    assert all(r.get("dotnet.gc_heap_size") is None for r in rows if r["pid"] != p.pid), rows
    native = subprocess.Popen(["sleep", "30"])
    try:
        r = rules(f"rules:\n  - name: not-dotnet\n    target: {{pid: {native.pid}}}\n"
                  "    metric: dotnet.gc_heap_size\n    interval: 200ms\n    when: {above: 1}\n    actions: [stacks]\n")
        a = autodump("watch", "-r", r, "-o", tmp_path / "o")
        a.wait_log("no dotnet.* metrics: not a .NET process (no libcoreclr.so mapped)")
        time.sleep(3)
        a.stop()
        assert a.text().count("no dotnet.* metrics") == 1, a.text()
    finally:
        native.kill()
        native.wait()


def test_the_shipped_dotnet_rules_are_valid():
    check_shipped_rules("dotnet.yaml", 7)


NETTRACE_STAT = os.environ.get("NETTRACE_STAT", str(Path(__file__).parents[2] / "build/tests/tools/nettrace_stat"))


def events_by_provider(trace):
    """Events of a nettrace file, counted by provider, by autodump's own parser."""
    out = subprocess.run([NETTRACE_STAT, str(trace)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr        # a whole stream, to its end
    counts = {}
    for line in out.stdout.splitlines():
        n, key = line.split("\t")
        provider = key.split("/")[0]
        counts[provider] = counts.get(provider, 0) + int(n)
    return counts


def test_dotnet_trace_is_a_whole_nettrace_with_samples_and_the_rundown(tmp_path, rules, autodump, program):
    program("--after", 1, "alloc", 40, "TRACED")
    rule = ("  - name: {name}\n    target: {{comm: dotnet, cmdline: 'Misbehave.dll --after 1 alloc 40'}}\n"
            "    metric: rss\n    interval: 200ms\n    when: {{above: 50MiB}}\n    max: 1\n    actions: [{action}]\n")
    r = rules("rules:\n" + rule.format(name="cpu", action="{dotnet.trace: {duration: 2s}}")
              + rule.format(name="samples", action="{dotnet.trace: {duration: 1s, providers: "
                                                    "['Microsoft-DotNETCore-SampleProfiler:0:4']}}"))
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    both = wait_for(lambda: len(artifacts(out)) == 2 and artifacts(out), 60, what=a.text())
    traces = {}
    for d in both:
        doc = complete_trigger(d, 60)
        assert doc["actions"][0]["status"] == "ok" and doc["actions"][0]["seconds"] < 15, doc["actions"]
        traces[doc["rule"]] = events_by_provider(d / "trace.nettrace")
    # CPU samples, runtime events, and the rundown that names the methods.
    cpu = traces["cpu"]
    assert cpu.get("Microsoft-DotNETCore-SampleProfiler", 0) > 100, cpu
    assert cpu.get("Microsoft-Windows-DotNETRuntime", 0) > 0, cpu
    assert cpu.get("Microsoft-Windows-DotNETRuntimeRundown", 0) > 0, cpu
    # The providers given, and no others (the runtime adds its own rundown
    # and process information).
    assert traces["samples"].get("Microsoft-DotNETCore-SampleProfiler", 0) > 100, traces["samples"]
    assert "Microsoft-Windows-DotNETRuntime" not in traces["samples"], traces["samples"]


def test_a_provider_that_is_not_one_is_refused_at_load(rules):
    r = rules("rules:\n  - name: bad\n    metric: rss\n    when: {above: 1GiB}\n"
              "    actions: [{dotnet.trace: {providers: ['Microsoft-Windows-DotNETRuntime:0xZZ']}}]\n")
    out = subprocess.run([AUTODUMP, "check", "-r", r], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert ":5:43: provider 'Microsoft-Windows-DotNETRuntime:0xZZ' is not Name[:keywords[:level]]" in out.stderr, \
        out.stderr


def test_a_slow_endpoint_fires_the_http_p99_rule(tmp_path, rules, autodump, program):
    """HttpClient calls to a local HttpListener that answers in 600 ms: each
    request's RequestStart/RequestStop paired by activity id."""
    program("--after", 2, "http", 10, 600)
    r = rules("rules:\n  - name: slow-calls\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 2 http'}\n"
              "    metric: dotnet.http.request_ms_p99\n    interval: 1s\n    when: {above: 500}\n    max: 1\n"
              "    actions: [stacks]\n")
    d, doc = watch_until_fired(autodump, r, tmp_path / "out", 60)
    assert doc["metric"] == "dotnet.http.request_ms_p99" and 590 < doc["value"] < 1500, doc


def test_refused_http_calls_fire_requests_failed(tmp_path, rules, autodump, program):
    program("--after", 2, "http-refused", 20)
    r = rules("rules:\n  - name: failing\n    target: {comm: dotnet, cmdline: 'Misbehave.dll --after 2 http-refused'}\n"
              "    metric: dotnet.http.requests_failed\n    interval: 1s\n    when: {above: 10}\n    max: 1\n"
              "    actions: [stacks]\n")
    d, doc = watch_until_fired(autodump, r, tmp_path / "out", 60)
    assert doc["metric"] == "dotnet.http.requests_failed" and 10 < doc["value"] <= 25, doc


def test_a_stopped_runtime_is_said_once_and_read_again_when_it_goes_on(tmp_path, rules, autodump, program):
    """SIGSTOP: the stream goes quiet with no end; the loop does not wait on
    it (a rule on another process still fires), the silence is the reason,
    and the counters come back after SIGCONT."""
    p = program("idle")
    native = subprocess.Popen(["sleep", "60"])
    try:
        r = rules(f"rules:\n  - name: heap\n    target: {{pid: {p.pid}}}\n    metric: dotnet.gc_heap_size\n"
                  "    interval: 1s\n    when: {above: 1TiB}\n    actions: [stacks]\n"
                  f"  - name: other\n    target: {{pid: {native.pid}}}\n    metric: threads\n    interval: 1s\n"
                  "    when: {above: 0, for: 12}\n    max: 1\n    actions: [stacks]\n")
        out = tmp_path / "out"
        a = autodump("watch", "-v", "-r", r, "-o", out)
        time.sleep(3)
        os.kill(p.pid, signal.SIGSTOP)
        a.wait_log("no dotnet.* metrics: the runtime sent nothing for", 20)
        wait_for(lambda: artifacts(out), 20, what=a.text())      # the other rule, meanwhile
        os.kill(p.pid, signal.SIGCONT)
        a.wait_log("dotnet.* metrics from its runtime again", 90)
        a.stop()
        assert a.text().count("the runtime sent nothing") == 1, a.text()
    finally:
        os.kill(p.pid, signal.SIGCONT)
        native.kill()
        native.wait()


def test_collect_takes_the_dump_type_and_the_trace_duration(tmp_path, program):
    marker = "TYPED-" + uuid.uuid4().hex[:8]
    p = program("alloc", 20, marker)
    assert p.stdout.readline().startswith("misbehaved ")       # all of it allocated
    runs = {}
    for kind, args in (("heap", []), ("mini", ["--type", "mini"]), ("trace", ["--duration", "1s"])):
        action = "dotnet.trace" if kind == "trace" else "dotnet.dump"
        r = subprocess.run([AUTODUMP, "collect", action, *args, str(p.pid), "-o", str(tmp_path / kind)],
                           capture_output=True, text=True, timeout=120)
        d = Path(r.stdout.strip())
        runs[kind] = d, json.loads((d / "trigger.json").read_text())["actions"][0]
    assert all(act["status"] == "ok" for _, act in runs.values()), runs
    # A mini dump leaves the managed heap out: the strings are not in it.
    assert marker_count(runs["heap"][0] / "dotnet.dmp", marker) >= 16 * 20
    assert marker_count(runs["mini"][0] / "dotnet.dmp", marker) < 16
    assert runs["trace"][1]["seconds"] < 5
    bad = subprocess.run([AUTODUMP, "collect", "dotnet.dump", "--type", "huge", str(p.pid)], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2 and "--type: 'huge' is none of mini, heap, triage, full" in bad.stderr, bad.stderr


def test_a_program_s_own_telemetry_fires_the_rules_that_name_it(tmp_path, rules, autodump, program):
    """Its EventCounter and Meter instrument through the general form, its
    DiagnosticListener events and activity through the bridge, and an
    ASP.NET Core app's 500s: each a rule, each value as the program made it."""
    orders = program("--after", 2, "orders", 20, 30)
    web = program("--after", 2, "web", 10)
    rule = ("  - name: {0}\n    target: {{pid: {1}}}\n    metric: {2}\n    interval: 1s\n    when: {{above: {3}}}\n"
            "    max: 1\n    actions: [stacks]\n")
    named = [("queued", orders.pid, "{dotnet: Autodump-Orders/orders-queued}", 10),
             ("failed-meter", orders.pid, "{dotnet: Autodump.Orders/orders.failed}", 10),
             ("order-failed", orders.pid, "{dotnet.events: Autodump.Orders/OrderFailed}", 10),
             ("checkout", orders.pid, "{dotnet.activity_ms_p99: Autodump.Orders/Checkout}", 25),
             ("five", web.pid, "dotnet.aspnet.responses_5xx", 5)]
    r = rules("rules:\n" + "".join(rule.format(*n) for n in named))
    out, db = tmp_path / "out", tmp_path / "record.db"
    a = autodump("watch", "-r", r, "-o", out, "--record", db)
    fired = wait_for(lambda: len(artifacts(out)) == len(named) and artifacts(out), 90, what=a.text())
    docs = {doc["rule"]: doc for doc in (complete_trigger(d, 60) for d in fired)}
    a.stop()
    # The record keeps a named metric by its name, and replays it.
    replay = subprocess.run([AUTODUMP, "replay", "-r", r, db], capture_output=True, text=True, timeout=60)
    assert " queued dotnet[" in replay.stdout and "dotnet:Autodump-Orders/orders-queued 20 > 10" in replay.stdout, \
        replay.stdout + replay.stderr
    assert docs["queued"]["metric"] == "dotnet:Autodump-Orders/orders-queued", docs["queued"]
    assert docs["queued"]["value"] == 20, docs["queued"]
    # 20 a second, each interval 1 s: the Meter's growth, the events counted.
    assert docs["failed-meter"]["metric"] == "dotnet:Autodump.Orders/orders.failed", docs["failed-meter"]
    assert 10 < docs["failed-meter"]["value"] <= 30, docs["failed-meter"]
    assert 10 < docs["order-failed"]["value"] <= 30, docs["order-failed"]
    # Each checkout sleeps 30 ms between its Start and Stop.
    assert 29 < docs["checkout"]["value"] < 300, docs["checkout"]
    assert docs["five"]["metric"] == "dotnet.aspnet.responses_5xx" and 5 < docs["five"]["value"] <= 15, docs["five"]


def test_a_managed_crash_in_run_leaves_the_runtime_s_dump(tmp_path, rules, autodump, dll):
    """The runtime handles the fault itself: autodump lets it go at its
    exec, starts it with the runtime's own dump settings, and files the dump
    createdump writes as the crash rule's artifact."""
    marker = "CRASHED-WITH-" + uuid.uuid4().hex[:8]
    r = rules("rules:\n  - name: crashed\n    event: crash\n    actions: [core]\n")
    out = tmp_path / "out"
    a = autodump("run", "-r", r, "-o", out, "--", "dotnet", dll, "crash", marker)
    assert a.wait(120) == 128 + signal.SIGABRT, a.text()
    assert "runs .NET: its crashes are dumped by its runtime" in a.text()
    [d] = artifacts(out)
    doc = json.loads((d / "trigger.json").read_text())
    assert doc["event"] == "crash" and doc["complete"], doc
    assert "createdump" in doc["crash"]["dumped_by"], doc
    assert doc["actions"] == [dict(doc["actions"][0], action="dotnet.dump", status="ok", files=["dotnet.dmp"])]
    dump = d / "dotnet.dmp"
    head = dump.read_bytes()[:18]
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == 4, head     # ET_CORE
    assert marker_count(dump, marker) >= 16, "the strings the program kept are in the heap dump"
    assert not list((out / ".dotnet-crash").iterdir())
