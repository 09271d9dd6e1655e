"""Shared helpers for autodump's integration tests: real processes
(tests/targets/misbehave), a real autodump binary, real artifacts."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

AUTODUMP = os.environ.get("AUTODUMP", str(Path(__file__).parents[2] / "build/src/autodump"))
MISBEHAVE = os.environ.get("MISBEHAVE", str(Path(__file__).parents[2] / "build/tests/targets/misbehave"))


def wait_for(predicate, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def proc_state(pid):
    """The state letter of /proc/PID/stat, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2]


def children_of(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class Autodump:
    """autodump running in the background, its stderr kept in a file."""

    def __init__(self, args, tmp_path, env=None):
        self.log_path = tmp_path / f"autodump-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen([AUTODUMP, *args], stdout=subprocess.PIPE, stderr=self.log,
                                     env=full_env, text=True)

    def text(self):
        return self.log_path.read_text()

    def wait_log(self, needle, timeout=20.0):
        try:
            return wait_for(lambda: needle in self.text(), timeout, what=f"'{needle}' in log")
        except AssertionError as e:
            # The log as it is at the timeout, not as it was at the call.
            raise AssertionError(f"{e}:\n{self.text()}") from None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30.0):
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def autodump(tmp_path):
    started = []

    def start(*args, env=None):
        a = Autodump([str(x) for x in args], tmp_path, env)
        started.append(a)
        return a

    yield start
    for a in started:
        a.stop()


@pytest.fixture
def target():
    """Starts misbehave processes; kills whatever is left at the end."""
    started = []

    def start(*args, **kwargs):
        p = subprocess.Popen([MISBEHAVE, *[str(a) for a in args]], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kwargs)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.fixture
def rules(tmp_path):
    """Writes a rule file; returns its path."""
    def write(text, name="rules.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def run_leak(autodump, rules, out, actions, above, rate, max_mib, conf=None,
             defaults="interval: 200ms, max: 1", name="big"):
    """`autodump run` of a leaking target under one rss rule; returns the
    running autodump."""
    r = rules(f"defaults: {{{defaults}}}\nrules:\n"
              f"  - name: {name}\n    metric: rss\n    when: {{above: {above}}}\n    actions: [{actions}]\n")
    config = ["-c", conf] if conf else []
    return autodump("run", *config, "-r", r, "-o", out, "--", MISBEHAVE, "leak", f"rate={rate}", f"max={max_mib}")


def artifacts(output):
    """Completed artifact directories (never the hidden partial ones)."""
    output = Path(output)
    if not output.exists():
        return []
    return sorted(p for p in output.iterdir() if p.is_dir() and not p.name.startswith("."))


def trigger(artifact):
    return json.loads((Path(artifact) / "trigger.json").read_text())


def complete_trigger(artifact, timeout=60):
    """trigger.json once every action has ended."""
    return wait_for(lambda: (lambda doc: doc.get("complete") and doc)(trigger(artifact)), timeout,
                    what=f"{artifact} complete")


def watch_until_fired(autodump, rules_file, out, timeout=30):
    """`autodump watch` until its one artifact is complete: the artifact and
    its trigger.json."""
    a = autodump("watch", "-r", rules_file, "-o", out)
    (d,) = wait_for(lambda: artifacts(out), timeout, what=a.text())
    return d, complete_trigger(d, 2 * timeout)


def check_shipped_rules(name, count):
    out = subprocess.run([AUTODUMP, "check", "-r", Path(__file__).parents[2] / "rules" / name],
                         capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, f"{count} rules OK\n"), out.stderr


def action(doc, name):
    return next(a for a in doc["actions"] if a["action"] == name)


def stack_threads(stacks_text):
    """{tid: frames text} from a stacks.txt."""
    threads = {}
    current = None
    for line in stacks_text.splitlines():
        if line.startswith("thread "):
            current = int(line.split()[1])
            threads[current] = ""
        elif current is not None:
            threads[current] += line + "\n"
    return threads
