"""A private redis-server a test may kill, pause and restart (never the machine's shared one)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.support.apt import ensure_debian_packages
from tests.support.lifecycle import StartStop
from tests.support.ports import free_port


class RedisServer(StartStop):
    """One redis-server on a fixed loopback port, so a restart comes back at the same address.

    `data_dir`: keep its snapshot there (written only by an explicit SAVE), and load it at
    start, as a Redis with persistence does after a crash. `replica_of`: a replica of that one.
    `with RedisServer() as server:` starts it, and kills it at the end of the block.
    """

    def __init__(self, data_dir: Path | None = None, replica_of: RedisServer | None = None) -> None:
        if shutil.which("redis-server") is None:
            ensure_debian_packages("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data_dir = data_dir
        self.replica_of = replica_of
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Started and not killed since (it may be paused)."""
        return self._process is not None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5)

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        if self.data_dir is not None:
            argv += ["--dir", str(self.data_dir), "--dbfilename", "dump.rdb"]
        if self.replica_of is not None:
            # Load the master's data straight from the socket: no sync file on disk.
            argv += ["--replicaof", "127.0.0.1", str(self.replica_of.port)]
            argv += ["--repl-diskless-load", "on-empty-db"]
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        """SIGKILL: a crash, nothing saved."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def pause(self) -> None:
        """SIGSTOP: a hung server. Connections stay open and nothing answers."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)
