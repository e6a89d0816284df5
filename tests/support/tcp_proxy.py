"""A TCP proxy a test can break on demand: the network failures of a real dependency.

- `stop()` / `start()`: a dead server (open connections reset, new ones refused), then back.
- `cut()` / `restore()`: a partition. Nothing passes and nothing is closed: bytes wait, and flow
  again on restore, as TCP retransmits them when a partition heals. New connections are
  accepted (the connect succeeds) but nothing passes on them either.
- `with TcpProxy(...) as proxy:` starts it, and stops it at the end of the block.
- `latency`: seconds added to every byte in both directions (a slow or distant server).
- `target`: where new connections go; set it, then `stop()` and `start()`, for a failover.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time

from tests.support.lifecycle import StartStop
from tests.support.ports import free_port


class TcpProxy(StartStop):
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.latency = 0.0
        self._flowing = threading.Event()
        self._flowing.set()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and reset the open ones, as a dead server would (lifts a cut)."""
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would not.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()
        self._flowing.set()  # held bytes now meet closed sockets, and their threads end

    def cut(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._flowing.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                self._forward(source, sink)

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        """Two threads per direction: one stamps what arrives, one sends it when due."""
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
        threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
        threading.Thread(target=self._write, args=(sink, chunks), daemon=True).start()

    def _read(self, source: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        try:
            while data := source.recv(65536):
                chunks.put((time.monotonic() + self.latency, data))
        except OSError:
            pass
        chunks.put((0.0, b""))  # end of stream

    def _write(self, sink: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        try:
            while True:
                due, data = chunks.get()
                self._flowing.wait()
                if not data:
                    break
                if (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)
