"""What the benchmarks read of a process from /proc."""
import os
from pathlib import Path


def cpu_seconds(pid):
    """Its time on CPU, its exited threads' included (stat, in clock
    ticks: coarse, but threads come and go)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
