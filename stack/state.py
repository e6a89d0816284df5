"""The state file: what `up` started, so `down`, `status`, `rolling-restart` act on exactly that."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack import procs
from stack.config import StackError

STATE_FILE = "state.json"


@dataclass
class Instance:
    name: str
    port: int
    proc: procs.ProcRef | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "port": self.port,
            "proc": self.proc.to_dict() if self.proc else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Instance:
        proc = procs.ProcRef.from_dict(data["proc"]) if data.get("proc") else None
        return cls(name=data["name"], port=int(data["port"]), proc=proc)


@dataclass
class State:
    state_dir: Path
    port: int
    balancing: str
    write_rate: str | None
    access_log: bool
    env: dict[str, str]  # what the stack sets for its instances (holds SECRET_KEY: file is 0600)
    instances: list[Instance] = field(default_factory=list)
    nginx: procs.ProcRef | None = None
    # With HTTPS (STACK_TLS=1): its port and the CA certificate a client trusts.
    https_port: int | None = None
    ca_file: Path | None = None

    @property
    def url(self) -> str:
        """Where clients go: the HTTPS URL when the stack serves HTTPS."""
        if self.https_port is not None:
            return f"https://127.0.0.1:{self.https_port}"
        return self.http_url

    @property
    def http_url(self) -> str:
        """Plain HTTP: the whole stack, or only redirects and /nginx-health with HTTPS."""
        return f"http://127.0.0.1:{self.port}"

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / STATE_FILE
        data = {
            "port": self.port,
            "balancing": self.balancing,
            "write_rate": self.write_rate,
            "access_log": self.access_log,
            "env": self.env,
            "instances": [instance.to_dict() for instance in self.instances],
            "nginx": self.nginx.to_dict() if self.nginx else None,
            "https_port": self.https_port,
            "ca_file": str(self.ca_file) if self.ca_file else None,
        }
        tmp = path.with_suffix(".tmp")
        # Owner-only: the file holds the instances' SECRET_KEY and DATABASE_URL.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        tmp.replace(path)

    @classmethod
    def load(cls, state_dir: Path) -> State | None:
        path = state_dir / STATE_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(
                state_dir=state_dir,
                port=int(data["port"]),
                balancing=data["balancing"],
                write_rate=data.get("write_rate"),
                access_log=bool(data.get("access_log", True)),
                env=dict(data["env"]),
                instances=[Instance.from_dict(item) for item in data["instances"]],
                nginx=procs.ProcRef.from_dict(data["nginx"]) if data.get("nginx") else None,
                https_port=int(data["https_port"]) if data.get("https_port") else None,
                ca_file=Path(data["ca_file"]) if data.get("ca_file") else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StackError(
                f"{path} is not a stack state file ({exc}); remove it by hand"
            ) from exc

    def remove(self) -> None:
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
