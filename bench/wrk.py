"""Run wrk in its own process and read its summary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack import debian

BENCH_DIR = Path(__file__).resolve().parent
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx responses
    error_detail: str = ""
    app_cpu_us: float = 0.0  # filled by the caller: app CPU time per request

    @property
    def ok(self) -> bool:
        return self.errors == 0


def ensure_wrk() -> str:
    """wrk from Debian, installed when missing (root) or a clear error."""
    return debian.ensure_tool("wrk", "wrk")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> Result:
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise ValueError(f"could not read wrk's summary:\n{output}")
    errors, detail = 0, []
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
        detail.append(sockets.group(0))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
        detail.append(non_2xx.group(0))
    return Result(
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        errors=errors,
        error_detail="; ".join(detail),
    )


def run(
    binary: str,
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    script: str | None = None,
    script_args: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
) -> Result:
    # --timeout 10s: on a busy machine a slow answer is latency to report, not an error.
    command = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", str(BENCH_DIR / script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=duration + 60
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    return parse(result.stdout)
