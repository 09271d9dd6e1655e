"""JVMs watched from outside: jvm.* metrics from the hsperfdata file of a
real JVM (Debian's default-jdk-headless), with no attach and no agent."""
import json
import os
import shutil
import tempfile
import subprocess
from pathlib import Path

import pytest

from conftest import AUTODUMP, artifacts, check_shipped_rules, wait_for, watch_until_fired

SOURCE = Path(__file__).parents[1] / "targets/java/Misbehave.java"

pytestmark = pytest.mark.skipif(not shutil.which("javac"),
                                reason="no javac: scripts/install-deps.sh installs default-jdk-headless")


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    out = tmp_path_factory.mktemp("java")
    subprocess.run(["javac", "-d", out, SOURCE], check=True, timeout=120)
    return out


@pytest.fixture
def jvm(classes):
    started = []

    def start(*args, java_opts=(), wrap=(), env=None):
        p = subprocess.Popen([*wrap, "java", *java_opts, "-cp", str(classes), "Misbehave", *map(str, args)],
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {})))
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()


def sample(pid, *more):
    out = subprocess.run([AUTODUMP, "sample", "--json", "-n", "1", "-i", "200ms", str(pid), *map(str, more)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return {row["pid"]: row for row in map(json.loads, out.stdout.splitlines())}


def in_a_container(classes, *more):
    """A wrapper that runs `java … Misbehave threads 30 0` as in a container:
    pid 1 of its own pid namespace, its own /tmp (the classes copied to a
    /dev/shm of its own before /tmp is covered); `more`: unshare's other
    namespaces (-Ur: a user namespace whose root is whoever runs it)."""
    return ["unshare", *more, "-pf", "--kill-child", "--mount-proc", "-m", "sh", "-c",
            'mount -t tmpfs tmpfs /dev/shm && cp -r "$0"/. /dev/shm && mount -t tmpfs tmpfs /tmp && '
            'exec java -cp /dev/shm Misbehave threads 30 0', str(classes)]


def jvm_ready(p):
    """The JVM's own line that it did what it was told."""
    return p.stdout.readline().strip()


def test_the_shipped_jvm_rules_are_valid():
    check_shipped_rules("jvm.yaml", 4)


def test_a_thread_storm_fires_jvm_threads_and_the_dump_names_the_spawner(tmp_path, rules, autodump, jvm):
    r = rules("rules:\n  - name: jvm-storm\n    target: {comm: java, cmdline: 'Misbehave threads'}\n"
              "    metric: jvm.threads\n    interval: 200ms\n    when: {above: 40}\n    max: 1\n"
              "    actions: [jvm.threaddump, {jvm.jcmd: GC.class_histogram}, {jvm.jcmd: No.such_command}]\n")
    p = jvm("threads", 50, 2)
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), 30, what=a.text())
    doc = json.loads((d / "trigger.json").read_text())
    assert doc["metric"] == "jvm.threads" and doc["target"]["pid"] == p.pid
    # The live threads HotSpot counts: 50 started, and its own.
    assert 50 < doc["value"] < 70
    # Before the storm it read the JVM's few threads, from the same file.
    assert min(v for _, v in doc["history"]) < 20
    assert [(x["action"], x["status"]) for x in doc["actions"]] == [
        ("jvm.threaddump", "ok"), ("jvm.jcmd", "ok"), ("jvm.jcmd", "failed")]
    # A command the JVM does not know: its own answer is the reason.
    assert doc["actions"][2]["error"] == \
        "the JVM answered -1: java.lang.IllegalArgumentException: Unknown diagnostic command"
    threads = (d / "threads.txt").read_text()
    assert "Full thread dump OpenJDK" in threads
    assert '"spawned-49"' in threads and "at Misbehave.lambda$spawnThreads$" in threads
    # The class histogram counts the storm's threads among its objects.
    histogram = (d / "jcmd-1.txt").read_text()
    (thread_objects,) = [int(line.split()[1]) for line in histogram.splitlines() if " java.lang.Thread " in line]
    assert thread_objects >= 50
    assert p.poll() is None


def test_collect_takes_a_thread_dump_now(tmp_path, jvm):
    p = jvm("threads", 20, 0)
    assert jvm_ready(p) == "threads done"
    out = subprocess.run([AUTODUMP, "collect", "jvm.threaddump", "-o", tmp_path / "out", str(p.pid)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"spawned-19"' in (Path(out.stdout.strip()) / "threads.txt").read_text()
    # jvm.jcmd needs its command, which a comma list cannot give.
    out = subprocess.run([AUTODUMP, "collect", "jvm.jcmd", str(p.pid)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "collect: unknown action 'jvm.jcmd'" in out.stderr


def test_heap_growth_fires_jvm_heap_used(tmp_path, rules, autodump, jvm):
    r = rules("rules:\n  - name: jvm-heap\n    target: {comm: java, cmdline: 'Misbehave heap'}\n"
              "    metric: jvm.heap_used\n    interval: 200ms\n    when: {above: 150MiB}\n    max: 1\n"
              "    actions: [jvm.heapdump]\n")
    jvm("heap", 200, 1, java_opts=["-Xmx512m"])
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), 30, what=a.text())
    doc = json.loads((d / "trigger.json").read_text())
    assert doc["value"] > 150 * 2**20 and doc["condition"] == "above"
    assert doc["actions"][0]["status"] == "ok", doc["actions"]
    with open(d / "heap.hprof", "rb") as f:
        assert f.read(19) == b"JAVA PROFILE 1.0.2\0"
    # The 1 MiB arrays kept when it fired (G1 counts each in two 1 MiB
    # regions, so 150 MiB of heap is some 75 of them) are in it.
    assert (d / "heap.hprof").stat().st_size > 60 * 2**20
    # The JVM wrote it in its /tmp; nothing is left there.
    assert not list(Path("/tmp").glob(".autodump-heap-*"))


def test_attach_refused_or_not_a_jvm_gives_a_reason_and_harms_nothing(tmp_path, rules, autodump, jvm, target):
    r = rules("rules:\n  - name: dump\n    target: {cmdline: 'Misbehave idle|misbehave idle'}\n"
              "    metric: threads\n    interval: 200ms\n    when: {above: 0}\n    max: 1\n"
              "    actions: [jvm.threaddump]\n")
    refusing = jvm("idle", java_opts=["-XX:+DisableAttachMechanism"])
    # The same options given the other ways a JVM takes them.
    refusing_env = jvm("idle", env={"JDK_JAVA_OPTIONS": "-Xmx64m -XX:+DisableAttachMechanism"})
    no_handler = jvm("idle", env={"JAVA_TOOL_OPTIONS": "-Xrs"})
    for p in (refusing, refusing_env, no_handler):
        assert jvm_ready(p) == "idle done"
    native = target("idle")
    out = tmp_path / "out"
    a = autodump("watch", "-r", r, "-o", out)
    pids = {refusing.pid, refusing_env.pid, no_handler.pid, native.pid}
    def errors():
        docs = [json.loads((d / "trigger.json").read_text()) for d in artifacts(out)]
        found = {doc["target"]["pid"]: doc["actions"][0]["error"] for doc in docs if doc.get("complete")}
        return pids <= set(found) and found
    errors = wait_for(errors, 30, what=a.text())
    assert errors[refusing.pid] == "the JVM refuses attach (-XX:+DisableAttachMechanism)"
    assert errors[refusing_env.pid] == "the JVM refuses attach (-XX:+DisableAttachMechanism)"
    assert errors[no_handler.pid].startswith("the JVM does not handle SIGQUIT (-Xrs or -XX:+ReduceSignalUsage)")
    assert errors[native.pid] == "not a HotSpot JVM (no libjvm.so mapped)"
    # None was sent the SIGQUIT that would have killed the native one and
    # the one without a handler.
    assert all(p.poll() is None for p in (refusing, refusing_env, no_handler, native))


def test_sample_shows_jvm_metrics_only_for_jvms(jvm):
    p = jvm("idle")
    assert jvm_ready(p) == "idle done"
    no_perf = jvm("idle", java_opts=["-XX:-UsePerfData"])
    assert jvm_ready(no_perf) == "idle done"
    rows = wait_for(lambda: (lambda r: r[p.pid]["jvm.threads"] and r)(sample(p.pid, no_perf.pid)), 10)
    ours = rows[p.pid]
    # jstat -class counts the same classes.
    jstat = subprocess.run(["jstat", "-class", str(p.pid)], capture_output=True, text=True, timeout=30).stdout
    assert ours["jvm.classes"] == float(jstat.split("\n")[1].split()[0])
    assert ours["jvm.threads"] >= 5 and ours["jvm.heap_used"] is not None and ours["jvm.gc_time"] == 0
    # -XX:-UsePerfData: no file, no values.
    assert rows[no_perf.pid]["jvm.threads"] is None
    # A process that is no JVM: no jvm columns at all.
    assert not any(k.startswith("jvm.") for k in sample(1)[1])


def test_a_jvm_in_its_own_pid_and_mount_namespace_is_found(jvm, classes):
    """As in a container: pid 1 in its namespace, a /tmp of its own (the
    classes are copied to a /dev/shm of its own before /tmp is covered)."""
    p = jvm("threads", 30, 0, wrap=in_a_container(classes))
    assert jvm_ready(p) == "threads done"

    def namespaced_java():
        for c in Path("/proc").glob("[0-9]*"):
            try:
                status = (c / "status").read_text()
            except OSError:
                continue
            if "\nName:\tjava\n" in "\n" + status and status.split("NSpid:\t")[1].split("\n")[0].endswith("\t1"):
                return int(c.name)
        return None
    pid = wait_for(namespaced_java, 10, what="the namespaced java")
    # Its file is in its own /tmp, under its own pid: not on the host.
    assert not Path(f"/tmp/hsperfdata_root/{pid}").exists()
    row = wait_for(lambda: sample(pid)[pid]["jvm.threads"] and sample(pid)[pid], 10)
    assert row["jvm.threads"] > 30


def test_a_namespaced_jvm_answers_attach(tmp_path, rules, autodump, jvm, classes):
    """Its attach socket is in its own /tmp, its pid there is 1: reached
    through /proc/PID/root, with no setns."""
    jvm("threads", 30, 0, wrap=in_a_container(classes))
    r = rules("rules:\n  - name: ns-dump\n    target: {comm: java, cmdline: 'cp /dev/shm Misbehave threads 30'}\n"
              "    metric: jvm.threads\n    interval: 200ms\n    when: {above: 30}\n    max: 1\n"
              "    actions: [jvm.threaddump]\n")
    d, doc = watch_until_fired(autodump, r, tmp_path / "out")
    assert doc["actions"][0]["status"] == "ok"
    assert '"spawned-29"' in (d / "threads.txt").read_text()


def test_a_jvm_in_a_user_namespace_of_its_own_answers_attach(tmp_path, rules, autodump, jvm, classes):
    """As in a rootless container: its root is uid 1000 here, so our root is
    nobody to it; the trigger file is given its owner and the socket is
    connected with its ids. Its metrics come from its own /tmp."""
    public = Path(tempfile.mkdtemp(prefix="autodump-classes-"))
    try:
        shutil.copytree(classes, public, dirs_exist_ok=True)
        for f in [public, *public.rglob("*")]:
            f.chmod(0o755)
        jvm("threads", 30, 0, wrap=["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups",
                                    *in_a_container(public, "-Ur")])
        r = rules("rules:\n  - name: userns-dump\n    target: {comm: java, cmdline: 'cp /dev/shm Misbehave threads 30'}\n"
                  "    metric: jvm.threads\n    interval: 200ms\n    when: {above: 30}\n    max: 1\n"
                  "    actions: [jvm.threaddump, jvm.heapdump]\n")
        d, doc = watch_until_fired(autodump, r, tmp_path / "out")
        assert [x["status"] for x in doc["actions"]] == ["ok", "ok"], doc["actions"]
        assert Path(f"/proc/{doc['target']['pid']}/status").read_text().count("\t1000\t") >= 2
        assert '"spawned-29"' in (d / "threads.txt").read_text()
        with open(d / "heap.hprof", "rb") as f:
            assert f.read(18) == b"JAVA PROFILE 1.0.2"
    finally:
        shutil.rmtree(public)
