"""`meson install` puts every file where the README says, and the unit it
installs passes `systemd-analyze verify` and scores "OK" or better in
`systemd-analyze security`."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    d = tmp_path_factory.mktemp("install")
    subprocess.run(["meson", "setup", str(d / "build"), str(SOURCE), "--prefix=/usr", "--sysconfdir=/etc",
                    "-Dtests=false"], check=True, capture_output=True, timeout=300)
    subprocess.run(["meson", "install", "-C", str(d / "build"), "--destdir", str(d / "root"), "--quiet"],
                   check=True, capture_output=True, timeout=600)
    return d / "root"


def test_files_land_where_the_readme_says(installed):
    unitdir = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"], capture_output=True,
                             text=True).stdout.strip() or "/usr/lib/systemd/system"
    tmpfilesdir = subprocess.run(["pkg-config", "--variable=tmpfilesdir", "systemd"], capture_output=True,
                                 text=True).stdout.strip() or "/usr/lib/tmpfiles.d"
    expected = {
        "/usr/bin/autodump", f"{unitdir}/autodump.service", f"{tmpfilesdir}/autodump.conf",
        "/etc/autodump/autodump.conf", "/etc/autodump/rules.d/default.yaml",
        "/usr/share/man/man1/autodump.1", "/usr/share/man/man5/autodump.conf.5",
        "/usr/share/man/man5/autodump-rules.5", "/usr/share/autodump/rules/jvm.yaml",
        "/usr/share/autodump/rules/go-service.yaml", "/usr/share/autodump/rules/dotnet.yaml",
    }
    found = {"/" + str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file()}
    assert found == expected
    unit = (installed / unitdir.lstrip("/") / "autodump.service").read_text()
    assert "ExecStart=/usr/bin/autodump watch" in unit
    assert "d /var/lib/autodump 0700 root root -" in (installed / tmpfilesdir.lstrip("/") / "autodump.conf").read_text()
    # The installed config and rules are valid as they are.
    r = subprocess.run([str(installed / "usr/bin/autodump"), "check", "-c", str(installed / "etc/autodump/autodump.conf"),
                        "-r", str(installed / "etc/autodump/rules.d")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    man = subprocess.run(["man", "-l", str(installed / "usr/share/man/man1/autodump.1")], capture_output=True,
                         text=True, env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin"})
    assert "autodump watch" in man.stdout and "EXIT STATUS" in man.stdout


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_unit_verifies_and_is_hardened(installed, tmp_path):
    unit = next(installed.rglob("autodump.service"))
    # verify checks that ExecStart exists: point it at the installed binary.
    copy = tmp_path / "autodump.service"
    copy.write_text(unit.read_text().replace("ExecStart=/usr/bin/autodump",
                                             f"ExecStart={installed}/usr/bin/autodump"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", str(copy)], capture_output=True, text=True)
    level = re.search(r"Overall exposure level for autodump.service: ([0-9.]+) (\w+)", r.stdout)
    assert level, r.stdout + r.stderr
    assert float(level[1]) <= 3.9 and level[2] in ("OK", "SAFE"), level[0]
