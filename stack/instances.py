"""The app instances: one gunicorn master (with its workers) per loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from stack import procs
from stack.config import REPO_ROOT, StackError

# gunicorn's default graceful timeout is 30 s; ours is shorter so a restart never stalls long.
GRACEFUL_TIMEOUT = 10
READY_TIMEOUT = 60.0


def log_path(state_dir: Path, name: str) -> Path:
    return state_dir / "logs" / f"{name}.log"


def start(state_dir: Path, name: str, port: int, env: dict[str, str]) -> procs.ProcRef:
    """Start one gunicorn on 127.0.0.1:<port> named `name` (its X-Served-By).

    `env` (the stack's settings) goes on top of the current environment, so a rolling restart
    also picks up changed app settings such as LOG_LEVEL.
    """
    instance_env = {
        **os.environ,
        **env,
        "APP_INSTANCE": name,
        "BIND": f"127.0.0.1:{port}",
        # Fixed: stop() escalates to SIGKILL after exactly this grace (+5 s).
        "GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT),
    }
    instance_env.pop("PORT", None)  # BIND wins anyway; dropping PORT keeps that obvious
    # gunicorn.conf.py empties this folder at start: each instance needs its own, and keeping it
    # under the state directory means `down` leaves nothing behind in /tmp.
    metrics_dir = state_dir / "prometheus" / name
    metrics_dir.mkdir(parents=True, exist_ok=True)  # the app's import already writes into it
    instance_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    log = log_path(state_dir, name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(REPO_ROOT / "gunicorn.conf.py"),
                # gunicorn 27 would otherwise make every instance share ~/.gunicorn/gunicorn.ctl.
                "--no-control-socket",
            ],
            cwd=REPO_ROOT,
            env=instance_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own group: stopping it stops its workers too
        )
    return procs.ref_for(process.pid)


def readiness(port: int, timeout: float = 2.0) -> tuple[int, dict[str, object]]:
    """(status, JSON body) of the instance's /readyz; status 0 when it does not answer."""
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return exc.code, body
    except (OSError, ValueError):
        return 0, {}


def wait_ready(state_dir: Path, name: str, port: int, ref: procs.ProcRef) -> None:
    """Block until /readyz answers 200; fail fast with the log's tail if the process dies."""
    deadline = time.monotonic() + READY_TIMEOUT
    status: int = 0
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        procs.reap(ref.pid)
        if not procs.is_alive(ref):
            raise StackError(f"{name} exited during start-up:\n{tail(log_path(state_dir, name))}")
        status, body = readiness(port)
        if status == 200:
            return
        time.sleep(0.1)
    raise StackError(
        f"{name} not ready after {READY_TIMEOUT:.0f}s (last /readyz: {status} {body}):\n"
        f"{tail(log_path(state_dir, name))}"
    )


def stop(ref: procs.ProcRef) -> None:
    """Graceful: gunicorn finishes in-flight requests on SIGTERM; SIGKILL only past the grace."""
    procs.stop_group(ref, grace=GRACEFUL_TIMEOUT + 5)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
