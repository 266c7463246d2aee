"""Certificates for TLS tests, from a throw-away CA (trustme)."""

from __future__ import annotations

from pathlib import Path

import trustme

from ranet.tls import TlsFiles


def make_tls(folder: Path, name: str = "cluster") -> TlsFiles:
    """A new CA, and a certificate for 127.0.0.1 and localhost signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}-ca.pem")
    issued.cert_chain_pems[0].write_to_path(str(files.cert))
    issued.private_key_pem.write_to_path(str(files.key))
    authority.cert_pem.write_to_path(str(files.ca))
    return files
