"""nginx for the local stack: the repo's shared policy plus a rendered upstream list.

nginx runs in the foreground (`daemon off`) as our child, with its own prefix, pid file and temp
directories under the state directory, so it needs no system configuration and no root.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from stack import debian, procs
from stack.config import REPO_ROOT, StackError

NGINX_DIR = REPO_ROOT / "nginx"
# The upstream list every topology renders (its values differ), and Docker's rendering of it.
UPSTREAM_TEMPLATE = "upstream.conf.j2"
DOCKER_UPSTREAM = "docker/nginx/upstream.conf"
APP_ROOT = REPO_ROOT / "app"
LOCAL_CA = NGINX_DIR / "local-ca.sh"
# nginx/edge.conf's rates: what None (no setting) means.
DEFAULT_WRITE_RATE = "10r/s"
DEFAULT_READ_RATE = "50r/s"


def find_binary() -> str:
    """Path of Debian's nginx, installed on the fly when we are root."""
    return debian.ensure_tool("nginx", "nginx")


class Paths:
    """Every file nginx touches, under <state_dir>/nginx."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "nginx"
        self.conf = self.root / "nginx.conf"
        self.edge = self.root / "edge.conf"
        self.upstream = self.root / "upstream.conf"
        self.pid = self.root / "nginx.pid"
        self.temp = self.root / "temp"
        self.error_log = state_dir / "logs" / "nginx.error.log"
        self.access_log = state_dir / "logs" / "nginx.access.json"


def _zone(name: str, key: str, rate: str | None, default: str) -> str:
    if rate == "off":  # the zone stays (proxy_policy.conf uses it) but counts nothing
        return f"limit_req_zone $no_limit_key zone={name}:10m rate={default};  # off"
    return f"limit_req_zone ${key} zone={name}:10m rate={rate or default};"


def render_edge_conf(
    *,
    write_rate: str | None = None,
    read_rate: str | None = None,
    monitoring_from: list[str] | None = None,
    balancer_from: list[str] | None = None,
    trusted_proxies: list[str] | None = None,
) -> str:
    """This stack's edge settings, in the shape of nginx/edge.conf (the knobs of the policy)."""
    lines = [
        "# Written by `python -m stack up`: edge settings (shape and defaults: nginx/edge.conf)",
        _zone("writes", "write_limit_key", write_rate, DEFAULT_WRITE_RATE),
        _zone("reads", "read_limit_key", read_rate, DEFAULT_READ_RATE),
        "geo $ops_client {",
        "    default none;",
    ]
    # balancer first: an address in both lists ends up a monitoring one (geo: the last wins)
    lines += [f"    {address} balancer;" for address in balancer_from or []]
    lines += [f"    {address} monitoring;" for address in monitoring_from or []]
    lines.append("}")
    lines += [f"set_real_ip_from {address};" for address in trusted_proxies or []]
    if trusted_proxies:
        lines += ["real_ip_header X-Forwarded-For;", "real_ip_recursive on;"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TlsFiles:
    """HTTPS for the stack: the port and what nginx/local-ca.sh made in the TLS directory."""

    port: int
    certificate: Path
    key: Path
    ca: Path  # the file a client trusts (curl --cacert, requests' verify=)


def make_certificate(tls_dir: Path, names: tuple[str, ...], port: int) -> TlsFiles:
    """The local CA (made once, kept in tls_dir/ca) and a server certificate for `names`."""
    openssl = debian.ensure_tool("openssl", "openssl")
    ca_dir, cert_dir = tls_dir / "ca", tls_dir / "server"
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["/bin/sh", str(LOCAL_CA), str(ca_dir), str(cert_dir), *names],
        env={**os.environ, "PATH": f"{Path(openssl).parent}:{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"could not make the TLS certificate:\n{result.stderr.strip()}")
    return TlsFiles(
        port=port,
        certificate=cert_dir / "fullchain.pem",
        key=cert_dir / "privkey.pem",
        ca=ca_dir / "ca.crt",
    )


def render_upstream_template(**values: object) -> str:
    """nginx/upstream.conf.j2 with `values` (its variables), rendered as Ansible renders it."""
    environment = jinja2.Environment(  # noqa: S701 - an nginx config, not HTML
        loader=jinja2.FileSystemLoader(NGINX_DIR),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(UPSTREAM_TEMPLATE).render(**values)


def render_upstream(ports: list[int], balancing: str, drained: frozenset[int] = frozenset()) -> str:
    """This stack's upstream list: its instances on loopback, the drained ones `down`."""
    servers = [f"127.0.0.1:{port}" for port in ports]
    return render_upstream_template(
        managed_by="Written by `python -m stack`; rewritten on every drain/undrain.",
        nginx_upstream_servers=servers,
        nginx_upstream_down=[f"127.0.0.1:{port}" for port in drained],
        nginx_upstream_least_conn=balancing == "least_conn",
    )


def render_docker_upstream() -> str:
    """docker/nginx/upstream.conf: the compose service `app`, one server per replica (Docker's
    DNS answers one address each), and no keep-alive pool (replicas are replaced at the same
    address)."""
    return render_upstream_template(
        managed_by=f"From nginx/{UPSTREAM_TEMPLATE}: python -m stack.nginx > {DOCKER_UPSTREAM}",
        nginx_upstream_servers=["app:8000"],
        nginx_upstream_keepalive=0,
    )


def _user_line() -> str:
    # Workers run as whoever runs the stack: the state directory may sit where another user
    # cannot reach (pytest's 0700 tmp), and request bodies are buffered there. This is a loopback
    # harness; deployed nginx (Ansible, Docker) keeps Debian's unprivileged www-data.
    if os.geteuid() != 0:
        return ""  # not root: nginx cannot switch user anyway
    return f"user {pwd.getpwuid(0).pw_name};\n"


def _servers(paths: Paths, port: int, log: str, tls: TlsFiles | None) -> str:
    app = f"""
    server {{
        listen 127.0.0.1:{port if tls is None else tls.port}{" ssl" if tls else ""};
        {log}
{_tls_lines(tls)}        set $app_root {APP_ROOT};
        include {NGINX_DIR / "proxy_policy.conf"};
    }}"""
    if tls is None:
        return app
    return f"""
    # plain HTTP: moves every request to HTTPS, answers the health check
    server {{
        listen 127.0.0.1:{port};
        {log}
        set $https_port_suffix ":{tls.port}";
        include {NGINX_DIR / "redirect_to_https.conf"};
    }}
{app}"""


def _tls_lines(tls: TlsFiles | None) -> str:
    if tls is None:
        return ""
    return (
        f"        ssl_certificate {tls.certificate};\n"
        f"        ssl_certificate_key {tls.key};\n"
        f"        include {NGINX_DIR / 'tls.conf'};\n"
    )


def render_main_conf(paths: Paths, port: int, access_log: bool, tls: TlsFiles | None = None) -> str:
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

    include {NGINX_DIR / "http.conf"};
    include {paths.edge};
    include {paths.upstream};
{_servers(paths, port, log, tls)}
}}
"""


def write_config(
    paths: Paths,
    *,
    port: int,
    ports: list[int],
    balancing: str,
    edge: str,
    access_log: bool,
    tls: TlsFiles | None = None,
) -> None:
    paths.temp.mkdir(parents=True, exist_ok=True)
    paths.error_log.parent.mkdir(parents=True, exist_ok=True)
    paths.edge.write_text(edge)
    paths.upstream.write_text(render_upstream(ports, balancing))
    paths.conf.write_text(render_main_conf(paths, port, access_log, tls))


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


if __name__ == "__main__":
    # Docker's upstream file is rendered ahead of time: its image has no Jinja.
    print(render_docker_upstream(), end="")
