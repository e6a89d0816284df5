"""`python -m stack up|down|status|rolling-restart`: the local stack from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from app.config import MAX_WORKERS, WORKER_CLASSES
from stack import core
from stack.config import (
    BALANCING,
    DEFAULT_STATE_DIR,
    MAX_INSTANCES,
    StackConfig,
    StackError,
    from_environment,
)


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be a whole number, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{what} must be between {low} and {high}, got {value}"
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description="N gunicorn instances on loopback behind nginx (DATABASE_URL, REDIS_URL).",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the stack keeps its config, logs and pids (default: .run/stack)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser("up", help="migrate, start the instances and nginx, print the URL")
    start.add_argument(
        "-n",
        "--instances",
        type=_int_in(1, MAX_INSTANCES, "instances"),
        default=3,
        help=f"app instances, 1..{MAX_INSTANCES} (default 3)",
    )
    start.add_argument(
        "--port",
        type=_int_in(0, 65535, "port"),
        default=8080,
        help="nginx port on 127.0.0.1 (default 8080; 0: any free port)",
    )
    start.add_argument(
        "--balancing",
        choices=BALANCING,
        default="least_conn",
        help="nginx balancing method (default least_conn)",
    )
    start.add_argument(
        "--workers",
        type=_int_in(1, MAX_WORKERS, "workers"),
        help="gunicorn workers per instance (WEB_CONCURRENCY)",
    )
    start.add_argument("--worker-class", choices=WORKER_CLASSES, help="gunicorn worker class")
    start.add_argument(
        "--write-rate",
        help="nginx rate limit on writes per client: 10r/s, 600r/m or off (env STACK_WRITE_RATE)",
    )
    start.add_argument(
        "--read-rate",
        help="nginx rate limit on reads per client: 50r/s, 600r/m or off (env STACK_READ_RATE)",
    )
    start.add_argument(
        "--tls",
        action="store_true",
        default=None,
        help="serve HTTPS with a certificate from a local CA (env STACK_TLS=1)",
    )
    start.add_argument(
        "--tls-dir",
        type=Path,
        help="where the local CA and the certificate are kept (default: .run/tls)",
    )
    start.add_argument(
        "--https-port",
        type=_int_in(0, 65535, "https port"),
        help="HTTPS port on 127.0.0.1 with --tls (default 8443; 0: any free port)",
    )
    start.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        default=None,
        help="turn off nginx's access log",
    )
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser(
        "status", help="show each process and its /readyz (exit 1 if not all ready)"
    )
    commands.add_parser(
        "rolling-restart", help="restart instances one by one with no failed request"
    )
    return parser


def config_of(args: argparse.Namespace) -> StackConfig:
    """The config `up` runs with: each of its options, and --state-dir, sets the StackConfig
    field of its name; an option not given leaves the environment's or the default value."""
    return from_environment(
        **{name: value for name, value in vars(args).items() if name != "command"}
    )


def _up(args: argparse.Namespace) -> int:
    config = config_of(args)
    for note in config.notes:
        print(f"note: {note}")
    state = core.up(config)
    for instance in state.instances:
        print(
            f"{instance.name}: http://127.0.0.1:{instance.port} (logs: "
            f"{state.state_dir / 'logs' / (instance.name + '.log')})"
        )
    print(f"nginx access log: {state.state_dir / 'logs' / 'nginx.access.json'}")
    if state.ca_file is not None:
        print(f"HTTPS certificate from the local CA {state.ca_file} (trust this file, e.g.")
        print(f"  curl --cacert {state.ca_file} {state.url}/ ); {state.http_url} redirects")
    print(f"stack is up: {state.url}")
    return 0


def _status(args: argparse.Namespace) -> int:
    state, nginx_up, report = core.status(args.state_dir)
    print(f"nginx   {state.url}  {'running' if nginx_up else 'NOT RUNNING'}")
    for item in report:
        health = f"/readyz {item.ready_status}" if item.running else "NOT RUNNING"
        print(f"{item.name:7} http://127.0.0.1:{item.port}  pid {item.pid}  {health}")
    ok = nginx_up and all(item.ready_status == 200 for item in report)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "down":
            stopped = core.down(args.state_dir)
            print("stack stopped" if stopped else f"no stack recorded in {args.state_dir}")
            return 0
        if args.command == "status":
            return _status(args)
        core.rolling_restart(args.state_dir)
        print("rolling restart done")
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
