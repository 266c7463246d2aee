"""Certificates for TLS tests, from a throw-away CA (trustme)."""

from __future__ import annotations

from pathlib import Path

import trustme

from ranet.tls import TlsFiles


def make_tls(folder: Path, name: str = "cluster") -> TlsFiles:
    """A new CA, and a certificate for 127.0.0.1 and localhost signed by it;
    and a client's certificate signed by it too (``client_files``)."""
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    files = TlsFiles(folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}-ca.pem")
    for issued, (cert, key) in (
        (authority.issue_cert("127.0.0.1", "localhost"), (files.cert, files.key)),
        (authority.issue_cert("client@example.org"), client_files(files)),
    ):
        issued.cert_chain_pems[0].write_to_path(str(cert))
        issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(files.ca))
    return files


def client_files(files: TlsFiles) -> tuple[Path, Path]:
    """The client certificate and key ``make_tls`` issued with ``files``."""
    return files.cert.with_suffix(".client.pem"), files.key.with_suffix(".client.key")
