"""up / down / status / rolling-restart: the stack's operations, usable from tests and bench."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from stack import instances, nginx, procs
from stack.config import DEFAULT_STATE_DIR, REPO_ROOT, TLS_NAMES, StackConfig, StackError
from stack.state import Instance, State

MIGRATE_TIMEOUT = 120
LOOPBACK_NAMES = "127.0.0.1,localhost"
# The app's settings a caller may give in the environment (ADMIN_TOKEN, RATELIMIT_*, ...), minus
# the ones the stack decides itself. Recorded in the state file, so that a rolling restart run
# later from another shell starts every instance with the same settings.
PASSED_SETTINGS = sorted(set(Settings.model_fields) - {"DATABASE_URL", "REDIS_URL", "APP_INSTANCE"})


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _app_env(config: StackConfig) -> dict[str, str]:
    """What the stack sets on top of the caller's environment (kept in the state file)."""
    env = {name: os.environ[name] for name in PASSED_SETTINGS if name in os.environ}
    env.update(
        DATABASE_URL=config.database_url,
        REDIS_URL=config.redis_url,
        APP_ENV=os.environ.get("APP_ENV") or "production",
    )
    # One key for all instances (a form rendered by one is posted to another); made per `up`
    # when the environment has none, never written anywhere but the 0600 state file.
    env["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    if not (env.get("ALLOWED_HOSTS") or env.get("PUBLIC_BASE_URL")):
        env["ALLOWED_HOSTS"] = LOOPBACK_NAMES  # nginx listens on 127.0.0.1 only
    if config.workers is not None:
        env["WEB_CONCURRENCY"] = str(config.workers)
    if config.worker_class is not None:
        env["WORKER_CLASS"] = config.worker_class
    env.update(config.app_env)
    return env


def migrate(env: dict[str, str]) -> None:
    """`python -m app.migrate` once, before any instance starts."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.migrate"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"migrations did not finish in {MIGRATE_TIMEOUT}s") from exc
    if result.returncode != 0:
        raise StackError(
            f"python -m app.migrate failed:\n{(result.stderr or result.stdout)[-2000:]}"
        )


def _running(state: State) -> bool:
    refs = [i.proc for i in state.instances if i.proc] + ([state.nginx] if state.nginx else [])
    return any(procs.is_alive(ref) for ref in refs)


def up(config: StackConfig) -> State:
    """Start N instances and nginx; on any failure stop what was started and raise StackError."""
    config.validate()
    state_dir = config.state_dir.resolve()
    previous = State.load(state_dir)
    if previous is not None and _running(previous):
        raise StackError(
            f"a stack is already running from {state_dir} ({previous.url}); "
            "stop it first with `python -m stack down`"
        )
    binary = nginx.find_binary()
    port = config.port or instances.free_port()
    if config.port and not _port_is_free(port):
        raise StackError(f"port {port} is in use; pick another with --port (0: any free port)")
    tls = None
    if config.tls:
        https_port = config.https_port or instances.free_port()
        while https_port == port:
            https_port = instances.free_port()
        if config.https_port and not _port_is_free(https_port):
            raise StackError(
                f"port {https_port} is in use; pick another with --https-port (0: any free port)"
            )
        tls = nginx.make_certificate(config.tls_dir.resolve(), TLS_NAMES, https_port)

    env = _app_env(config)
    migrate({**os.environ, **env})
    state = State(
        state_dir=state_dir,
        port=port,
        balancing=config.balancing,
        write_rate=config.write_rate,
        access_log=config.access_log,
        env=env,
        https_port=tls.port if tls else None,
        ca_file=tls.ca if tls else None,
    )
    ports: set[int] = {port, *([tls.port] if tls else [])}
    try:
        for number in range(1, config.instances + 1):
            app_port = instances.free_port()
            while app_port in ports:
                app_port = instances.free_port()
            ports.add(app_port)
            instance = Instance(name=f"app-{number}", port=app_port)
            instance.proc = instances.start(state_dir, instance.name, app_port, env)
            state.instances.append(instance)
            state.save()  # saved after every start so `down` can clean up a half-made stack
        for instance in state.instances:
            assert instance.proc is not None
            instances.wait_ready(state_dir, instance.name, instance.port, instance.proc)
        paths = nginx.Paths(state_dir)
        nginx.write_config(
            paths,
            port=port,
            ports=[i.port for i in state.instances],
            balancing=config.balancing,
            edge=nginx.render_edge_conf(
                write_rate=config.write_rate,
                read_rate=config.read_rate,
                monitoring_from=config.monitoring_from,
                balancer_from=config.balancer_from,
                trusted_proxies=config.trusted_proxies,
            ),
            access_log=config.access_log,
            tls=tls,
        )
        state.nginx = nginx.start(binary, paths)
        state.save()
        _wait_nginx(state, paths)
    except BaseException:
        _stop_all(state)
        state.remove()
        raise
    return state


def _wait_nginx(state: State, paths: nginx.Paths) -> None:
    def healthy() -> bool:
        assert state.nginx is not None
        procs.reap(state.nginx.pid)
        if not procs.is_alive(state.nginx):
            raise StackError(f"nginx exited at start:\n{instances.tail(paths.error_log)}")
        try:
            # plain HTTP answers it in both modes (with HTTPS it is the only thing it serves)
            url = f"{state.http_url}/nginx-health"
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                return bool(response.status == 200)
        except OSError:
            return False

    if not procs.wait_until(healthy, 15, interval=0.1):
        raise StackError(
            f"nginx does not answer on {state.url}:\n{instances.tail(paths.error_log)}"
        )


def _stop_all(state: State) -> None:
    if state.nginx is not None:
        procs.stop_group(state.nginx, grace=5)
    for instance in state.instances:
        if instance.proc is not None:
            instances.stop(instance.proc)


def _load(state_dir: Path) -> State:
    state = State.load(state_dir.resolve())
    if state is None:
        raise StackError(f"no stack recorded in {state_dir}; start one with `python -m stack up`")
    return state


def down(state_dir: Path = DEFAULT_STATE_DIR) -> bool:
    """Stop exactly what `up` started; False when there was no stack."""
    state = State.load(state_dir.resolve())
    if state is None:
        return False
    _stop_all(state)
    state.remove()
    return True


@dataclass
class InstanceStatus:
    name: str
    port: int
    pid: int | None
    running: bool
    ready_status: int  # /readyz HTTP status, 0 when it does not answer


def status(state_dir: Path = DEFAULT_STATE_DIR) -> tuple[State, bool, list[InstanceStatus]]:
    """(state, nginx running, per-instance status)."""
    state = _load(state_dir)
    nginx_up = state.nginx is not None and procs.is_alive(state.nginx)
    report = []
    for instance in state.instances:
        running = instance.proc is not None and procs.is_alive(instance.proc)
        ready = instances.readiness(instance.port)[0] if running else 0
        pid = instance.proc.pid if instance.proc else None
        report.append(InstanceStatus(instance.name, instance.port, pid, running, ready))
    return state, nginx_up, report


def _set_drained(state: State, binary: str, drained: frozenset[int]) -> None:
    paths = nginx.Paths(state.state_dir)
    ports = [i.port for i in state.instances]
    paths.upstream.write_text(nginx.render_upstream(ports, state.balancing, drained))
    assert state.nginx is not None
    nginx.reload(binary, paths, state.nginx)


def rolling_restart(
    state_dir: Path = DEFAULT_STATE_DIR, log: Callable[[str], None] = print
) -> None:
    """Restart the instances one at a time while nginx keeps serving from the others.

    Per instance: mark it `down` and reload nginx (waiting for old nginx workers to exit, so it gets
    no new request), SIGTERM gunicorn (finishes in-flight requests), start it on the same port,
    wait for /readyz, put it back. A failure stops the roll with that instance still drained.
    """
    state = _load(state_dir)
    if len(state.instances) < 2:
        raise StackError(
            "a rolling restart needs at least 2 instances (one serves while one restarts)"
        )
    if state.nginx is None or not procs.is_alive(state.nginx):
        raise StackError("nginx is not running; restart the stack with `python -m stack up`")
    binary = nginx.find_binary()
    for instance in state.instances:
        log(f"{instance.name}: draining")
        _set_drained(state, binary, frozenset({instance.port}))
        if instance.proc is not None:
            log(f"{instance.name}: stopping (SIGTERM, graceful)")
            instances.stop(instance.proc)
        instance.proc = instances.start(state.state_dir, instance.name, instance.port, state.env)
        state.save()
        instances.wait_ready(state.state_dir, instance.name, instance.port, instance.proc)
        log(f"{instance.name}: ready, back in rotation")
        _set_drained(state, binary, frozenset())
