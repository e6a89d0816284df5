"""Throwaway test certificates made with the openssl command (a CA and a server certificate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import run

_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class ServerCertificate:
    ca: Path  # the file a client trusts
    cert: Path
    key: Path


def server_certificate(workdir: Path, prefix: str, address: str) -> ServerCertificate:
    """A new CA and, signed by it, a two-day certificate for the IP `address`."""
    ca_key, ca, key, cert = (
        workdir / f"{prefix}-{name}" for name in ("ca.key", "ca.pem", "key.pem", "cert.pem")
    )
    run(["openssl", "req", "-x509", *_EC_KEY, "-days", "2", "-subj", f"/CN={prefix} test CA",
         "-keyout", str(ca_key), "-out", str(ca)])  # fmt: skip
    run(["openssl", "req", "-x509", *_EC_KEY, "-days", "2", "-subj", f"/CN={address}",
         "-addext", f"subjectAltName=IP:{address}", "-addext", "basicConstraints=CA:FALSE",
         "-CA", str(ca), "-CAkey", str(ca_key),
         "-keyout", str(key), "-out", str(cert)])  # fmt: skip
    return ServerCertificate(ca, cert, key)
