"""A private redis-server a test may stop and start (never the machine's shared one)."""

from __future__ import annotations

import shutil
import subprocess
import time

import redis

from tests.support.apt import ensure_debian_packages
from tests.support.ports import free_port


class RedisServer:
    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            ensure_debian_packages("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
