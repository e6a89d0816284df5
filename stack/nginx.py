"""nginx for the local stack: the repo's shared policy plus a rendered upstream list.

nginx runs in the foreground (`daemon off`) as our child, with its own prefix, pid file and temp
directories under the state directory, so it needs no system configuration and no root.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
from pathlib import Path

from stack import debian, procs
from stack.config import REPO_ROOT, StackError

NGINX_DIR = REPO_ROOT / "nginx"
APP_ROOT = REPO_ROOT / "app"
_KEY_MAP = re.compile(r"map \$request_method \$write_limit_key \{[^}]*\}")
_RATE_IN_ZONE = re.compile(
    r"(limit_req_zone\s+\$write_limit_key\s+zone=api_writes:\S+\s+rate=)\S+;"
)


def find_binary() -> str:
    """Path of Debian's nginx, installed on the fly when we are root."""
    return debian.ensure_tool("nginx", "nginx")


class Paths:
    """Every file nginx touches, under <state_dir>/nginx."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "nginx"
        self.conf = self.root / "nginx.conf"
        self.http_conf = self.root / "http.conf"
        self.upstream = self.root / "upstream.conf"
        self.pid = self.root / "nginx.pid"
        self.temp = self.root / "temp"
        self.error_log = state_dir / "logs" / "nginx.error.log"
        self.access_log = state_dir / "logs" / "nginx.access.json"


def render_http_conf(write_rate: str | None) -> str:
    """The shared http.conf, with the write rate replaced when the stack asks for another one.

    "off" empties the limit key for every method (nginx does not count empty keys): a very high
    rate is not the same, because nginx's clock advances once per event-loop pass and a burst of
    more than `burst` requests handled in one pass is still refused.
    """
    text = (NGINX_DIR / "http.conf").read_text()
    if write_rate is None:
        return text
    if write_rate == "off":
        rendered, count = _KEY_MAP.subn(
            'map $request_method $write_limit_key {\n    default "";\n}', text
        )
    else:
        rendered, count = _RATE_IN_ZONE.subn(rf"\g<1>{write_rate};", text)
    if count != 1:
        raise StackError("nginx/http.conf no longer has the write-limit lines the stack rewrites")
    return rendered


def render_upstream(ports: list[int], balancing: str, drained: frozenset[int] = frozenset()) -> str:
    lines = [
        "# Written by `python -m stack`; rewritten on every drain/undrain.",
        "upstream app_servers {",
    ]
    if balancing == "least_conn":
        lines.append("    least_conn;")
    for port in ports:
        # A drained server is `down`: no new requests; the rest keep passive health checks.
        suffix = " down" if port in drained else " max_fails=2 fail_timeout=5s"
        lines.append(f"    server 127.0.0.1:{port}{suffix};")
    lines += [
        "    keepalive 32;",
        "    # Below gunicorn's KEEPALIVE (75 s): nginx closes idle connections first.",
        "    keepalive_timeout 60s;",
        "}",
        "",
    ]
    return "\n".join(lines)


def _user_line() -> str:
    # Workers run as whoever runs the stack: the state directory may sit where another user
    # cannot reach (pytest's 0700 tmp), and request bodies are buffered there. This is a loopback
    # harness; deployed nginx (Ansible, Docker) keeps Debian's unprivileged www-data.
    if os.geteuid() != 0:
        return ""  # not root: nginx cannot switch user anyway
    return f"user {pwd.getpwuid(0).pw_name};\n"


def render_main_conf(paths: Paths, port: int, access_log: bool) -> str:
    log = (
        f"access_log {paths.access_log} json_access buffer=64k flush=1s;"
        if access_log
        else "access_log off;"
    )
    temp = paths.temp
    return f"""# Written by `python -m stack up` (local topology); policy: the repo's nginx/.
{_user_line()}worker_processes auto;
pid {paths.pid};
daemon off;
error_log {paths.error_log} notice;
# Lets a reload finish (old workers exit) even if a client holds a request open.
worker_shutdown_timeout 15s;

events {{
    worker_connections 4096;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

    include {paths.http_conf};
    include {paths.upstream};

    server {{
        listen 127.0.0.1:{port};
        {log}
        set $app_root {APP_ROOT};
        include {NGINX_DIR / "proxy_policy.conf"};
    }}
}}
"""


def write_config(
    paths: Paths,
    *,
    port: int,
    ports: list[int],
    balancing: str,
    write_rate: str | None,
    access_log: bool,
) -> None:
    paths.temp.mkdir(parents=True, exist_ok=True)
    paths.error_log.parent.mkdir(parents=True, exist_ok=True)
    paths.http_conf.write_text(render_http_conf(write_rate))
    paths.upstream.write_text(render_upstream(ports, balancing))
    paths.conf.write_text(render_main_conf(paths, port, access_log))


def check_config(binary: str, paths: Paths) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [binary, "-t", "-q", "-p", str(paths.root), "-c", str(paths.conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"nginx rejected {paths.conf}:\n{result.stderr.strip()}")


def start(binary: str, paths: Paths) -> procs.ProcRef:
    check_config(binary, paths)
    with paths.error_log.open("ab") as err:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [binary, "-p", str(paths.root), "-c", str(paths.conf)],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            start_new_session=True,  # its own group: `down` stops master and workers together
        )
    return procs.ref_for(process.pid)


def reload(binary: str, paths: Paths, master: procs.ProcRef, timeout: float = 30.0) -> None:
    """Apply a new upstream list and wait until no worker with the old list is left.

    nginx's reload starts new workers and lets the old ones finish their requests; only once they
    have exited is a drained server guaranteed to get nothing more.
    """
    check_config(binary, paths)
    old_workers = set(procs.children_of(master.pid))
    if not procs.is_alive(master):
        raise StackError("nginx is not running; start the stack with `python -m stack up`")
    os.kill(master.pid, signal.SIGHUP)

    def switched() -> bool:
        current = set(procs.children_of(master.pid))
        return bool(current - old_workers) and not (current & old_workers)

    if not procs.wait_until(switched, timeout):
        raise StackError(f"nginx did not finish reloading in {timeout:.0f}s; see {paths.error_log}")
