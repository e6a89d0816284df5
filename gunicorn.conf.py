"""gunicorn settings, every one read from the environment (12-factor), each with its reason.

Start: `gunicorn -c gunicorn.conf.py` from the repository root (wsgi_app below names the app).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

# app.config loads none of the app (see app/__init__.py): the app's modules are imported further
# down, once PROMETHEUS_MULTIPROC_DIR is set (the metrics need it), and the app itself is built
# in each worker.
from app.config import APP_WSGI, ConfigError, ServerSettings, load_settings

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

try:
    _settings = load_settings(ServerSettings)
except ConfigError as exc:
    raise SystemExit(str(exc)) from None

# The WSGI callable; one app object per worker, built after fork (its connections and threads
# are the worker's own).
# WSGI_APP names another one: bench/ serves its reference apps with these very settings.
wsgi_app = _settings.WSGI_APP

# BIND wins; Heroku and similar platforms only give PORT.
bind = _settings.BIND or f"0.0.0.0:{_settings.PORT}"

# Workers per instance: one per core, 2 threads each, by measurement (docs/benchmarks.md). On 2
# cores with 2 instances (the local stack), 2 x 2 served cached redirects 1.55x and uncached ones
# 3x faster than the old 2 x cores x 4 threads, with half its p99 at 8 connections: a cached
# redirect is pure CPU under one GIL per process, so extra threads only queue behind it, and
# a miss waits on the network briefly enough that 2 threads per core keep the CPUs busy.
# The default is capped at 64 rather than refused (app/config.py).
workers = _settings.WEB_CONCURRENCY

# gthread by measurement (docs/benchmarks.md): it keeps nginx's upstream connections alive,
# which sync cannot, and unlike gevent it needs no monkey-patching of the database driver.
worker_class = _settings.WORKER_CLASS
threads = _settings.THREADS  # per gthread worker (see workers above)

# On SIGTERM, let in-flight requests finish this long: what rolling restarts rely on.
graceful_timeout = _settings.GRACEFUL_TIMEOUT
# A worker silent for this long is killed and replaced (it is stuck, not slow).
timeout = _settings.TIMEOUT
# Longer than nginx's upstream keepalive_timeout (60 s), so nginx never reuses a socket that
# gunicorn has just closed (that would fail a POST, which nginx must not retry).
keepalive = _settings.KEEPALIVE

# Recycle workers now and then so a slow leak can never take an instance down; jitter avoids
# every worker restarting at the same moment.
max_requests = _settings.MAX_REQUESTS
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0

# One JSON line per request on stdout; app logs go to stderr as JSON too.
accesslog = _settings.ACCESS_LOG or None
logger_class = "app.gunicorn_logging.JsonAccessLogger"
errorlog = "-"
loglevel = _settings.LOG_LEVEL.lower()

# Trust X-Forwarded-* from the proxy in front (nginx); the app's ProxyFix applies them.
forwarded_allow_ips = _settings.FORWARDED_ALLOW_IPS

# gunicorn 27 would otherwise create a control socket under ~/.gunicorn/ (an unprivileged
# service user may have no home); this app does not use it.
control_socket_disable = True

# /dev/shm keeps worker heartbeat files off slow or read-only disks (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  (heartbeats only)

# Prometheus multiprocess mode: every worker writes its metrics to files in this folder, and
# /metrics on any worker reports all of them. Created fresh for each master.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="flask-multitier-metrics-")
else:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


# The app's modules (not the app: no connection, no thread) are imported here in the master, so
# a worker forked from it starts in ~40 ms instead of ~0.4 s. max_requests (above) replaces a
# worker every few thousand requests under load, and requests queued behind that worker's
# imports: it was the cached redirect's p99 at 8 connections, 83-470 ms against 6-7 ms with the
# imports done here (docs/benchmarks.md). As with preload_app, a HUP restarts workers on the
# code already imported: a release restarts the service, as every topology here does.
for _module in ("app.factory", "app.api", "app.ops", "app.web"):
    importlib.import_module(_module)


def on_starting(server: Arbiter) -> None:
    """Check the app's own settings once, in the master, before any worker forks: a bad
    environment stops gunicorn with one message and exit 4, its "app failed to load". Left to
    the workers, every one fails at once, and gunicorn, already halting for the first, lets the
    second one's failure escape as a traceback with exit 1."""
    if wsgi_app != APP_WSGI:
        return  # a reference app of bench/ reads none of the app's settings
    try:
        load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        on_exit(server)  # gunicorn calls it only after a start
        raise SystemExit(server.APP_LOAD_ERROR) from None


def on_exit(server: Arbiter) -> None:
    """Remove the metrics folder this master created; a folder the operator named is kept."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def worker_exit(server: Arbiter, worker: Worker) -> None:
    """Flush clicks counted in memory before the worker goes (graceful stop or restart), and
    release the worker's connections."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {}) if app else {}
    if "links" in extensions:
        extensions["links"].close()


def child_exit(server: Arbiter, worker: Worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
