"""What the browser tests share: a `streamlit run` server on 127.0.0.1 and Chromium's flags."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from paths import APP, ROOT

CHROMIUM = "/usr/bin/chromium"
# Headless as root, with Chromium's own background traffic off: this machine has no network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 90
HEALTH_POLL_S = 0.3


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    data_dir: Path, script: Path = APP, log_path: Path | None = None
) -> Iterator[str]:
    """`streamlit run script` (the dashboard unless told) from the project root, so its
    .streamlit/config.toml applies, serving the records in `data_dir`; yields its URL once
    the health check answers. Its output goes to `log_path` (`data_dir/streamlit.log`)."""
    port = free_port()
    log_path = log_path or data_dir / "streamlit.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed after the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, "TRIAL_SITES_DATA": str(data_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:  # bounded wait for the health check
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start:\n" + log_path.read_text())
            time.sleep(HEALTH_POLL_S)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# ----------------------------------------------------------------------------- load tests


def _proc_parent(pid: str) -> int | None:
    """A process's parent pid from /proc/<pid>/stat, or None once it has gone."""
    try:
        stat = Path("/proc", pid, "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name (in parentheses) may hold spaces


def server_pid(url: str) -> int:
    """The pid of the `streamlit run` this process started for `url` (found in /proc)."""
    port = str(urllib.parse.urlparse(url).port).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _proc_parent(entry.name) != os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in argv and port in argv:
            return int(entry.name)
    raise LookupError(f"no streamlit process of ours serves {url}")


def process_tree(pid: int) -> set[int]:
    """A process and all its descendants, as pids (from /proc)."""
    parents = {e.name: _proc_parent(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()}
    tree, grew = {pid}, True
    while grew:  # bounded: each pass adds at least one pid or stops
        found = {int(p) for p, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    return tree


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (VmRSS in /proc), in bytes."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path("/proc", str(p), "status").read_text()
        except OSError:
            continue  # ended between the scan and now
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024  # kB
    return total


def cpu_seconds(pids: set[int]) -> float:
    """CPU time (user + system, all threads) the running processes `pids` have used so far."""
    total = 0.0
    for p in pids:
        try:
            fields = Path("/proc", str(p), "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def machine_busy_seconds() -> float:
    """CPU time every core of this machine has spent busy since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # without guest time


def lower_priority(pids: set[int], niceness: int) -> int:
    """Set every thread of `pids` to at least `niceness` (Chromium gives some of its threads a
    higher priority than normal, and nice values are per thread on Linux); how many changed."""
    changed = 0
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue  # ended
        for tid in tids:
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                    os.setpriority(os.PRIO_PROCESS, tid, niceness)
                    changed += 1
            except OSError:
                continue  # ended, or not ours to change
    return changed
