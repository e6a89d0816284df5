"""Process bookkeeping that survives the command that started the processes.

A pid alone is not an identity (pids are reused), so every recorded process also keeps its kernel
start time; a signal is only ever sent to a pid whose start time still matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcRef:
    pid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/<pid>/stat

    def to_dict(self) -> dict[str, int]:
        return {"pid": self.pid, "start_time": self.start_time}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> ProcRef:
        return cls(pid=int(data["pid"]), start_time=int(data["start_time"]))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; everything after its ')' is space-separated.
    return raw[raw.rindex(")") + 2 :].split()


def ref_for(pid: int) -> ProcRef:
    """Identity of a process that is running now."""
    fields = _stat_fields(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return ProcRef(pid=pid, start_time=int(fields[19]))


def is_alive(ref: ProcRef) -> bool:
    """True when this very process (not a reused pid) runs and is not a zombie."""
    fields = _stat_fields(ref.pid)
    if fields is None:
        return False
    return fields[0] != "Z" and int(fields[19]) == ref.start_time


def children_of(pid: int) -> list[int]:
    """Live child pids of `pid` (used to watch nginx workers come and go)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def reap(pid: int) -> None:
    """Collect the exit status when the process is our own child, so no zombie is left."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def signal_group(ref: ProcRef, sig: int) -> bool:
    """Signal the process group led by `ref` (each managed process leads its own session)."""
    if not is_alive(ref):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(ref.pid, sig)
    return True


def group_alive(pgid: int) -> bool:
    """True while any non-zombie process is left in the process group."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[3]) == pgid:
            return True
    return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stop_group(ref: ProcRef, grace: float) -> None:
    """SIGTERM the group, wait `grace` seconds, then SIGKILL whatever is left of it."""

    def leader_gone() -> bool:
        reap(ref.pid)
        return not is_alive(ref)

    if signal_group(ref, signal.SIGTERM):
        wait_until(leader_gone, grace)
    # Linux does not reuse a pid while a group with that id has members, so a group whose leader
    # is gone (not replaced by a different process with the same pid) is still ours.
    fields = _stat_fields(ref.pid)
    reused = fields is not None and int(fields[19]) != ref.start_time
    if not reused and group_alive(ref.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ref.pid, signal.SIGKILL)
        wait_until(lambda: not group_alive(ref.pid), 5)
    reap(ref.pid)


def group_cpu_seconds(pgids: set[int]) -> float:
    """User + system CPU time used so far by these process groups, exited members included.

    A gunicorn worker recycled by max_requests takes its CPU time with it, unless we also count
    the reaped children's time (cutime/cstime) that the kernel adds to the master that waited.
    """
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and int(fields[3]) in pgids:
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
