"""autodump as the entrypoint of a real OCI container run by Debian's crun:
PID 1 of its own namespaces, SYS_PTRACE in its capabilities, artifacts in
a bind-mounted volume that outlives the container.

The image is the host's own root, bind-mounted: this machine has no
registry to pull examples/Dockerfile's debian:12 from. crun refuses a
hybrid cgroup host whose v2 hierarchy holds a controller ("cgroups in
hybrid mode not supported"), so the test, in a mount namespace of its own,
binds those controllers to v1 mounts for as long as it runs, and runs crun
with no cgroup manager."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import AUTODUMP, MISBEHAVE, artifacts, trigger

CRUN = shutil.which("crun")


def oci_config(rootfs, evidence, args):
    spec = subprocess.run([CRUN, "spec"], cwd=rootfs.parent,
                          capture_output=True, text=True)
    assert spec.returncode == 0, spec.stderr
    path = rootfs.parent / "config.json"
    c = json.loads(path.read_text())
    c["root"] = {"path": str(rootfs), "readonly": True}
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    # A sanitizer build's options reach the container's processes too.
    c["process"]["env"] += [f"{k}={v}" for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")]
    for kind in ("bounding", "effective", "permitted"):
        c["process"]["capabilities"][kind] = sorted(set(c["process"]["capabilities"][kind]) | {"CAP_SYS_PTRACE"})
    c["mounts"].append({"destination": "/evidence", "type": "bind", "source": str(evidence),
                        "options": ["rbind", "rw"]})
    c["linux"].pop("resources", None)
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
    path.write_text(json.dumps(c))
    return rootfs.parent


@pytest.mark.skipif(not CRUN, reason="no crun (Debian's crun)")
def test_crash_in_a_crun_container(tmp_path):
    rootfs, evidence = tmp_path / "rootfs", tmp_path / "evidence"
    rootfs.mkdir()
    evidence.mkdir()
    bundle = oci_config(rootfs, evidence, [AUTODUMP, "run", "-o", "/evidence", "--", MISBEHAVE, "crash"])
    script = f"""
set -e
for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null); do
    mkdir -p {tmp_path}/v1-$c && mount -t cgroup -o $c none {tmp_path}/v1-$c
done
mount --rbind / {rootfs}
cd {bundle}
set +e
{CRUN} --cgroup-manager=disabled run autodump-test-$$
"""
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                       capture_output=True, text=True, timeout=120)
    # The container's exit status is the crashed command's.
    assert r.returncode == 139, r.stdout + r.stderr
    # autodump is PID 1, its tracer 2, the command 3.
    assert f"started {MISBEHAVE}[3]; its crashes are captured" in r.stderr
    [art] = artifacts(evidence)
    t = trigger(art)
    assert t["crash"]["signal"] == "SIGSEGV" and t["target"]["pid"] == 3
    bt = subprocess.run(["gdb", "-q", "-batch", "-ex", "bt", MISBEHAVE, str(art / "core")], capture_output=True,
                        text=True, timeout=120).stdout
    assert "#0  crash_in_worker" in bt
