"""The native collectors, checked with the ecosystem's own readers: gdb and
eu-stack read the cores, `go tool pprof` reads the profiles."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, action, artifacts, proc_state, run_leak, trigger, wait_for

GOSERVICE_SRC = Path(__file__).parents[1] / "targets/goservice/main.go"


def collect(actions, pid, out, *options, env=None):
    r = subprocess.run([AUTODUMP, "collect", actions, *options, "-o", str(out), str(pid)], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, **(env or {})))
    assert r.stdout.strip(), r.stderr
    return Path(r.stdout.strip()), r


def gdb(binary, core, *commands, extra=()):
    args = ["gdb", "--nx", "--batch", *extra]
    for c in commands:
        args += ["-ex", c]
    r = subprocess.run([*args, str(binary), str(core)], capture_output=True, text=True, timeout=300)
    return r.stdout + r.stderr


def started(*args):
    p = subprocess.Popen([MISBEHAVE, *args], stdout=subprocess.PIPE, text=True)
    return p


def stop(p):
    p.kill()
    p.wait()


def test_native_core_has_every_thread_and_the_memory(tmp_path):
    t = started("threads", "count=20")
    try:
        assert t.stdout.readline().startswith("threads started")
        art, r = collect("core", t.pid, tmp_path)
        assert r.returncode == 0, r.stderr
        assert proc_state(t.pid) in ("S", "R")
    finally:
        stop(t)
    core = action(trigger(art), "core")
    assert core["status"] == "ok" and core["files"] == ["core"]
    assert 0 <= core["target_stopped_seconds"] < 2
    out = gdb(MISBEHAVE, art / "core", "info threads", "thread apply all bt")
    lwps = [l for l in out.splitlines() if "LWP" in l and l.lstrip("* ").split()[0].isdigit()]
    assert len(lwps) == 21, out
    assert out.count("thread_idle") == 20 and "spawn_threads" in out
    es = subprocess.run(["eu-stack", "--core", str(art / "core"), "--executable", MISBEHAVE],
                        capture_output=True, text=True, timeout=120)
    assert es.stdout.count("TID ") == 21 and "spawn_threads" in es.stdout, es.stdout + es.stderr


def test_native_core_unwinds_out_of_the_vdso(tmp_path):
    """A thread stopped inside clock_gettime: the core carries the vDSO
    whole (and [vvar] beside it, as the kernel's own cores do), so gdb
    unwinds out of it to the caller, as it does on gcore's core."""
    t = started("clock")
    try:
        assert t.stdout.readline().startswith("polling the clock")
        vdso = [l for l in Path(f"/proc/{t.pid}/maps").read_text().splitlines() if l.endswith("[vdso]")][0]
        lo, hi = (int(x, 16) for x in vdso.split()[0].split("-"))
        # The loop spends nearly all its time in the vDSO; a few tries make
        # sure the stop lands there.
        for attempt in range(5):
            art, r = collect("core", t.pid, tmp_path / str(attempt))
            assert r.returncode == 0, r.stderr
            out = gdb(MISBEHAVE, art / "core", "bt")
            if "#0" in out and "clock_gettime ()" in out.split("#1")[0]:
                break
    finally:
        stop(t)
    assert "clock_gettime ()" in out.split("#1")[0], out     # frame 0 in the vDSO
    assert "poll_clock" in out and "?? ()" not in out, out
    assert "corrupt string table index" not in out, out
    segments = subprocess.run(["readelf", "-lW", str(art / "core")], capture_output=True, text=True).stdout
    # Every page of it, not the first alone: its LOAD as large in the file
    # as in memory.
    load = [l.split() for l in segments.splitlines() if l.split()[:1] == ["LOAD"] and int(l.split()[2], 16) == lo]
    assert load and int(load[0][4], 16) == int(load[0][5], 16) == hi - lo, segments


def test_cxx_frames_are_demangled(tmp_path):
    target = os.environ.get("CXX_TARGET", str(Path(MISBEHAVE).parent / "cxx_target"))
    t = subprocess.Popen([target], stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline().startswith("checking out")
        art, r = collect("stacks", t.pid, tmp_path)
        assert r.returncode == 0, r.stderr
    finally:
        stop(t)
    text = (art / "stacks.txt").read_text()
    assert "shop::Cart::checkout(int)" in text, text
    assert "void shop::restock<double>(std::vector<double" in text, text
    assert "_ZN4shop" not in text and "_ZN" not in text, text


def test_native_core_is_sparse_on_a_wide_process(tmp_path):
    t = started("wide", "threads=50", "reserve=1024", "touch=16")
    try:
        assert t.stdout.readline().startswith("threads started")
        art, r = collect("core", t.pid, tmp_path)
        assert r.returncode == 0, r.stderr
    finally:
        stop(t)
    core = action(trigger(art), "core")
    size = (art / "core").stat().st_size
    on_disk = (art / "core").stat().st_blocks * 512
    assert core["bytes"] == size > 1 << 30           # the untouched GiB is in the address space...
    assert core["disk_bytes"] == on_disk < 64 << 20  # ...but not on disk
    out = gdb(MISBEHAVE, art / "core", "print/x leak_marker", "bt")
    assert "0xfeedfacecafebeef" in out and "stay_wide" in out, out


def test_zstd_core_decompresses_to_a_core_gdb_reads(tmp_path, rules, autodump):
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, "{core: {compress: zstd}}", "64MiB", 400, 96)
    a.wait_log("artifact written")
    art = artifacts(out)[0]
    core = action(trigger(art), "core")
    assert core["status"] == "ok" and core["files"] == ["core.zst"], core
    assert not (art / "core").exists()
    subprocess.run(["zstd", "-q", "-d", str(art / "core.zst"), "-o", str(tmp_path / "core")], check=True)
    assert (tmp_path / "core").stat().st_size > core["bytes"] * 10     # leaked pages are alike: it shrinks
    text = gdb(MISBEHAVE, tmp_path / "core", "print/x leak_marker", "bt")
    assert "0xfeedfacecafebeef" in text and "leak_memory" in text, text


def test_filter_overrides_coredump_filter(tmp_path, rules, autodump):
    """filter: 0 keeps no memory of the process's own: neither the leak nor
    the data segment with leak_marker is in the core."""
    out = tmp_path / "out"
    a = run_leak(autodump, rules, out, "{core: {filter: 0}}", "64MiB", 400, 96)
    a.wait_log("artifact written")
    art = artifacts(out)[0]
    core = action(trigger(art), "core")
    assert core["status"] == "ok" and core["bytes"] < 1 << 20, core
    text = gdb(MISBEHAVE, art / "core", "print/x leak_marker", "bt")
    assert "0xfeedfacecafebeef" not in text and "leak_memory" not in text, text


def test_go_core_opens_with_goroutines(tmp_path):
    build = tmp_path / "go"
    build.mkdir()
    shutil.copy(GOSERVICE_SRC, build / "main.go")
    env = dict(os.environ, HOME=str(tmp_path), GOCACHE=str(tmp_path / "gocache"), GO111MODULE="off")
    subprocess.run(["go", "build", "-o", str(build / "goservice"), "main.go"], cwd=build, env=env,
                   check=True, timeout=300)
    g = subprocess.Popen([build / "goservice"], stdout=subprocess.PIPE, text=True)
    try:
        assert g.stdout.readline() == "ready\n"
        art, r = collect("core", g.pid, tmp_path / "out")
        assert r.returncode == 0, r.stderr
    finally:
        g.kill()
        g.wait()
    out = gdb(build / "goservice", art / "core", "info threads", "print/x 'main.marker'", "info goroutines",
              extra=["-iex", "set auto-load safe-path /"])
    lwps = [l for l in out.splitlines() if "LWP" in l and l.lstrip("* ").split()[0].isdigit()]
    assert len(lwps) >= 5, out
    assert "0xfeedfacecafebeef" in out, out
    assert sum(1 for l in out.splitlines() if "waiting" in l and "runtime.gopark" in l) >= 50, out


def test_more_than_65535_segments(tmp_path):
    old = Path("/proc/sys/vm/max_map_count").read_text()
    Path("/proc/sys/vm/max_map_count").write_text("262144")
    t = started("maps", "count=70000")
    try:
        assert t.stdout.readline().startswith("mappings made")
        art, r = collect("core", t.pid, tmp_path)
        assert r.returncode == 0, r.stderr
    finally:
        stop(t)
        Path("/proc/sys/vm/max_map_count").write_text(old)
    header = subprocess.run(["readelf", "-h", str(art / "core")], capture_output=True, text=True).stdout
    assert "Number of program headers:         65535 (" in header, header
    phnum = int(header.split("65535 (")[1].split(")")[0])
    assert phnum > 70000
    out = gdb(MISBEHAVE, art / "core", "print/x leak_marker", "bt")
    assert "0xfeedfacecafebeef" in out and "make_mappings" in out, out


@contextlib.contextmanager
def small_disk(path, size):
    """A tmpfs of `size` at `path`, unmounted afterwards."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)])


def test_disk_full_leaves_no_partial_core(tmp_path, rules, autodump):
    with small_disk(tmp_path / "small", "24m") as small:
        conf = tmp_path / "autodump.conf"
        conf.write_text("[storage]\nmin_free = 0%\n")
        a = run_leak(autodump, rules, small / "out", "core, stacks", "48MiB", 400, 64, conf=conf,
                     defaults="interval: 200ms, cooldown: 1s, max: 2")
        wait_for(lambda: a.text().count("artifact written") >= 2, 30, what=a.text())
        assert a.proc.poll() is None, "the watchdog keeps watching"
        for art in artifacts(small / "out"):
            doc = trigger(art)
            core, stacks = doc["actions"]
            assert core["status"] == "failed", core
            assert core["error"] == "disk full while writing core; the partial file was removed"
            assert stacks["status"] == "ok"
            assert not [f for f in art.iterdir() if f.name.startswith(("core", ".core"))]


def test_min_free_refuses_a_core_that_would_not_fit(tmp_path, rules, autodump):
    with small_disk(tmp_path / "small", "64m") as small:
        conf = tmp_path / "autodump.conf"
        conf.write_text("[storage]\nmin_free = 50%\n")
        a = run_leak(autodump, rules, small / "out", "core", "48MiB", 400, 64, conf=conf)
        a.wait_log("artifact written")
        core = action(trigger(artifacts(small / "out")[0]), "core")
        assert core["status"] == "skipped", core
        assert "the core would take about" in core["error"] and "below min_free 50%" in core["error"]


def pprof_top(profile):
    env = dict(os.environ, HOME=tempfile.gettempdir(), PPROF_TMPDIR=tempfile.gettempdir())
    r = subprocess.run(["go", "tool", "pprof", "-top", str(profile)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_profile_names_the_hot_function(tmp_path, rules, autodump):
    out = tmp_path / "out"
    r = rules("defaults: {interval: 200ms, max: 1}\nrules:\n"
              "  - name: hot\n    metric: cpu\n    when: {above: 50, for: 2}\n"
              "    actions: [{profile: {duration: 2s, frequency: 199}}]\n")
    a = autodump("run", "-r", r, "-o", out, "--", MISBEHAVE, "spin")
    a.wait_log("artifact written", timeout=30)
    art = artifacts(out)[0]
    prof = action(trigger(art), "profile")
    assert prof["status"] == "ok" and prof["files"] == ["profile.pb.gz"], prof
    assert 1.9 < prof["seconds"] < 4
    top = pprof_top(art / "profile.pb.gz")
    assert "Type: cpu" in top and "File: misbehave" in top     # the main binary is the first mapping
    first = next(l for l in top.splitlines() if l.strip().endswith("spin_hot"))
    assert float(first.split("%")[0].split()[-1]) > 80, top       # flat% of spin_hot
    assert "behave" in top and "main" in top


def test_profile_picks_up_threads_born_during_it(tmp_path):
    t = subprocess.Popen([MISBEHAVE, "spinner", "after=0.7"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        art, r = collect("profile", t.pid, tmp_path)
    finally:
        stop(t)
    assert r.returncode == 0, r.stderr
    assert "spin_in_thread" in pprof_top(art / "profile.pb.gz")


def test_profile_releases_each_thread_as_it_dies(tmp_path):
    # 200 threads a second, each living 5 ms: over 3 s, 600 threads. One fd
    # and a 68 KiB ring each, kept to the end, grew without bound.
    t = started("churn", "rate=200")
    try:
        assert t.stdout.readline().startswith("churning")
        p = subprocess.Popen([AUTODUMP, "collect", "profile", "--duration", "3s", "--frequency", "999",
                              "-o", str(tmp_path), str(t.pid)], stdout=subprocess.PIPE, text=True)
        most = 0
        while p.poll() is None:
            try:
                most = max(most, len(os.listdir(f"/proc/{p.pid}/fd")))
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        art = Path(p.stdout.read().strip())
    finally:
        stop(t)
    assert p.returncode == 0
    assert most < 60, f"the profiler held {most} fds"
    assert "churn_thread" in pprof_top(art / "profile.pb.gz")


def pprof_raw(profile):
    env = dict(os.environ, HOME=tempfile.gettempdir(), PPROF_TMPDIR=tempfile.gettempdir())
    r = subprocess.run(["go", "tool", "pprof", "-raw", "-symbolize=none", str(profile)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_jit_frames_are_named_from_the_perf_map(tmp_path):
    t = started("jit")
    try:
        assert t.stdout.readline().startswith("jit code running")
        art, r = collect("stacks,profile", t.pid, tmp_path, "--duration", "1s")
        assert r.returncode == 0, r.stderr
    finally:
        stop(t)
        Path(f"/tmp/perf-{t.pid}.map").unlink(missing_ok=True)
    assert "jit_spin_loop+0x0 ([jit])" in (art / "stacks.txt").read_text()
    first = next(l for l in pprof_top(art / "profile.pb.gz").splitlines() if l.strip().endswith("jit_spin_loop"))
    assert float(first.split("%")[0].split()[-1]) > 80, first
    # Mappings carry their build IDs, to symbolize the profile again later.
    build_id = subprocess.run(["readelf", "-n", MISBEHAVE], capture_output=True, text=True).stdout
    build_id = build_id.split("Build ID:")[1].split()[0]
    assert f"misbehave {build_id}" in pprof_raw(art / "profile.pb.gz")


def test_stripped_static_functions_are_named_by_address(tmp_path):
    """No symbol for a static function of a stripped binary: it is named by
    its address in the file, each apart, not lumped into one node."""
    stripped = tmp_path / "misbehave-stripped"
    shutil.copy(MISBEHAVE, stripped)
    subprocess.run(["strip", "--strip-all", str(stripped)], check=True)
    nm = subprocess.run(["nm", "-S", MISBEHAVE], capture_output=True, text=True).stdout
    start, size = next((int(l.split()[0], 16), int(l.split()[1], 16)) for l in nm.splitlines()
                       if l.endswith(" spin_hot"))
    t = subprocess.Popen([str(stripped), "spin"])
    try:
        time.sleep(0.3)
        art, r = collect("profile", t.pid, tmp_path, "--duration", "1s")
        assert r.returncode == 0, r.stderr
    finally:
        stop(t)
    first = next(l for l in pprof_top(art / "profile.pb.gz").splitlines() if "misbehave-stripped+0x" in l)
    offset = int(first.split("misbehave-stripped+0x")[1], 16)
    assert start <= offset < start + size, (hex(start), hex(size), first)
    assert float(first.split("%")[0].split()[-1]) > 80, first


def test_profile_refused_is_a_clear_failure():
    t = subprocess.Popen([MISBEHAVE, "spin"])
    out = Path(tempfile.mkdtemp(prefix="autodump-nobody-"))
    os.chown(out, 65534, 65534)         # the unprivileged run's own directory
    try:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            AUTODUMP, "collect", "profile", "-o", str(out), str(t.pid)],
                           capture_output=True, text=True, timeout=60)
        prof = action(trigger(Path(r.stdout.strip())), "profile")
        assert r.returncode == 1
        assert prof["status"] == "failed"
        assert prof["error"].startswith("perf_event_open refused: "), prof
        assert "perf_event_paranoid" in prof["error"]
    finally:
        stop(t)
        shutil.rmtree(out)


def test_full_disk_leaves_nothing_half_made(tmp_path, rules, autodump):
    """A disk so full that not even trigger.json fits: the watchdog logs
    the failure, leaves no partial directory, and keeps watching."""
    with small_disk(tmp_path / "small", "4m") as small:
        out = small / "out"
        out.mkdir()
        subprocess.run(["dd", "if=/dev/zero", f"of={small}/filler", "bs=64k"], capture_output=True)
        conf = tmp_path / "autodump.conf"
        conf.write_text("[storage]\nmin_free = 0%\n")
        r = rules("defaults: {interval: 200ms, cooldown: 500ms, max: 2}\nrules:\n"
                  "  - name: t\n    metric: threads\n    when: {above: 0}\n    actions: [stacks]\n")
        a = autodump("run", "-c", conf, "-r", r, "-o", out, "--", MISBEHAVE, "idle")
        wait_for(lambda: a.text().count("collector failed") >= 2, 20, what=a.text())
        assert "cannot write trigger.json: No space left on device" in a.text()
        assert "artifact written" not in a.text()
        assert list(out.iterdir()) == []
        assert a.proc.poll() is None


def test_no_network_for_symbols_unless_configured(tmp_path):
    # A debuginfod "server" that takes connections and never answers, as
    # DEBUGINFOD_URLS from a login shell may name: libdw waited 150 s on it.
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"

    def connections():
        n = 0
        while True:
            try:
                server.accept()[0].close()
                n += 1
            except BlockingIOError:
                return n

    # Stripped, as most binaries on a host are: libdw asks debuginfod for
    # what it lacks.
    stripped = tmp_path / "misbehave"
    subprocess.run(["strip", "-o", str(stripped), MISBEHAVE], check=True)
    t = subprocess.Popen([stripped, "threads", "count=2"], stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline().startswith("threads started")
        start = time.monotonic()
        art, r = collect("stacks", t.pid, tmp_path / "a", env={"DEBUGINFOD_URLS": url})
        assert r.returncode == 0 and time.monotonic() - start < 10, r.stderr
        assert connections() == 0, "DEBUGINFOD_URLS from the environment was used"

        # Configured, it is asked, and each request gives up after 5 s
        # without progress (libdw's default is 90 s).
        conf = tmp_path / "autodump.conf"
        conf.write_text(f"[collect]\ndebuginfod = {url}\n")
        start = time.monotonic()
        art, r = collect("stacks", t.pid, tmp_path / "b", "-c", conf)
        took = time.monotonic() - start
        asked = connections()
        assert asked > 0, "the configured server was not asked"
        assert r.returncode == 0 and took < 6 * asked + 5, (took, asked, r.stderr)
    finally:
        stop(t)
        server.close()
