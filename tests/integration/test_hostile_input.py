"""Rule files and configs are read as data that may be wrong in every way:
each mistake is reported where it is, nothing hangs and nothing grows."""
import os
import resource
import subprocess

from conftest import AUTODUMP

RULE = "rules:\n  - name: r\n    metric: rss\n    when: {{above: 1GiB}}\n    {extra}actions: [stacks]\n"


def autodump(*args, limit_memory=False):
    def cap():
        # 1 GiB of address space: a pattern that needs more fails the test
        # (as ENOMEM), where it took 24 GB before. Not under ASan, whose
        # shadow memory alone is more: there the timeout bounds it.
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    sanitized = "ASAN_OPTIONS" in os.environ
    return subprocess.run([AUTODUMP, *[str(a) for a in args]], capture_output=True, timeout=20,
                          preexec_fn=cap if limit_memory and not sanitized else None)


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    d = tmp_path / "rules.d"
    d.mkdir()
    (d / "ok.yaml").write_text(RULE.format(extra=""))
    os.mkfifo(d / "x.yaml")
    os.mkfifo(tmp_path / "autodump.conf")
    r = autodump("check", "-r", d)
    assert r.returncode == 1 and f"{d}/x.yaml:1:1: cannot read: not a regular file".encode() in r.stderr
    r = autodump("check", "-c", tmp_path / "autodump.conf", "-r", d / "ok.yaml")
    assert r.returncode == 1
    assert r.stderr.decode() == f"{tmp_path}/autodump.conf:1:1: cannot read: not a regular file\n"
    r = autodump("watch", "-r", d, "-o", tmp_path / "out")
    assert r.returncode != 0 and b"not a regular file" in r.stderr


def test_a_config_line_longer_than_the_parser_takes(tmp_path):
    # Its tail must not become a line of its own (here a section header).
    conf = tmp_path / "autodump.conf"
    conf.write_text("[watch]\nrules = /" + "a" * 230 + " [collect]\n[storage]\nmax_count = 5\n")
    r = autodump("check", "-c", conf)
    assert r.returncode == 1
    assert r.stderr.decode() == f"{conf}:2:1: line is longer than 198 bytes\n"


def test_yaml_errors_where_they_are(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_bytes(b"rules:\n  - name: caf\xc3\xa9\n    metric: r\xffss\n")
    r = autodump("check", "-r", f)
    assert r.stderr.decode() == f"{f}:3:14: YAML syntax: invalid leading UTF-8 octet\n"
    f.write_text('rules:\n  - name: "web\\0server"\n    metric: rss\n')
    r = autodump("check", "-r", f)
    assert r.stderr.decode() == f"{f}:2:11: a NUL character in a value\n"


def test_a_cmdline_pattern_is_bounded(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(RULE.format(extra="target: {cmdline: '((((a{1,100}){1,100}){1,100}){1,100})'}\n    "))
    r = autodump("check", "-r", f, limit_memory=True)
    assert r.returncode == 1
    assert r.stderr.decode() == (f"{f}:5:23: cmdline '((((a{{1,100}}){{1,100}}){{1,100}}){{1,100}})' is too complex: "
                                 "its repetitions make about 101010101 positions (at most 1000)\n")
    f.write_text(RULE.format(extra="target: {cmdline: 'java .*-jar [a-z]{1,20}\\.jar'}\n    "))
    assert autodump("check", "-r", f, limit_memory=True).returncode == 0


def test_values_are_bounded_where_past_is_a_mistake(tmp_path):
    conf = tmp_path / "autodump.conf"
    conf.write_text("[watch]\ninterval = 30d\n[collect]\ntimeout = 0s\nparallel = 1000\nhook_user = root\n"
                    "[storage]\nkeep = 9223372036854775.808s\n")
    r = autodump("check", "-c", conf, "-r", tmp_path / "none.yaml")
    assert r.stderr.decode().splitlines()[:5] == [
        f"{conf}:2:1: interval: 30d is outside 10ms to 1d",
        f"{conf}:4:1: timeout: 0s is outside 1s to 7d",
        f"{conf}:5:1: parallel: 1000 is outside 1 to 64",
        f"{conf}:6:1: hook_user: 'root' is not a user on this host, other than root",
        f"{conf}:8:1: keep: '9223372036854775.808s' is not a duration, such as 30s or 10m",
    ]
    f = tmp_path / "r.yaml"
    f.write_text("rules:\n  - {name: a, metric: rss, when: {above: 200%}, actions: [stacks]}\n"
                 "  - {name: b, metric: cpu, when: {above: 200%}, actions: "
                 "[{exec: {argv: [/bin/true], timeout: 30d}}]}\n"
                 "  - {name: c, target: {pid: 4294967295}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n")
    r = autodump("check", "-r", f)
    assert r.stderr.decode().splitlines() == [
        f"{f}:2:42: above: 200% of the effective memory limit can never be reached",
        f"{f}:3:95: timeout: 30d is more than the 1d maximum",
        f"{f}:4:29: pid: 4294967295 is above the kernel's largest PID, 4194304",
    ]
