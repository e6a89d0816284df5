"""A test helper that has start() and stop() also works as a context manager."""

from __future__ import annotations

from typing import Self


class StartStop:
    """`with Thing(...) as thing:` starts it, and stops it at the end of the block."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
