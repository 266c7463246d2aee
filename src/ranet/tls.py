"""TLS on both of a node's ports, from a certificate authority the cluster shares.

Each node has a certificate signed by the cluster's CA, naming the host its
peers and clients reach it by (its ``--peers`` host) among its subject
alternative names, and the certificate's key. With TLS on (``ranet node
--tls-cert FILE --tls-key FILE --tls-ca FILE``):

- peer links are mutual TLS: the acceptor requires the dialer's certificate
  and verifies it against the CA, the dialer verifies the acceptor's
  certificate against the CA and the host it dialed. Raft traffic is
  encrypted, and a process without a certificate from the CA gets no
  further than the TLS handshake;
- the Redis port serves TLS with the node's certificate; clients verify it
  against the CA (redis-py ``ssl=True, ssl_ca_certs=CA``, redis-cli ``--tls
  --cacert CA``, ranet's tools ``--tls-ca CA``). Whether clients must show
  a certificate from the CA too is ``--tls-auth-clients``, Redis's
  ``tls-auth-clients``: ``no`` (the default here; the password,
  ``--password-file``, authenticates them), ``optional`` (one shown is
  checked) or ``yes`` (a client without one gets no further than the
  handshake; redis-py ``ssl_certfile=... ssl_keyfile=...``, redis-cli
  ``--cert --key``, ranet's tools ``--tls-cert --tls-key``).

TLS 1.2 at least; Python's default ciphers.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from ranet.errors import ConfigurationError


@dataclass(slots=True, frozen=True)
class TlsFiles:
    """A node's certificate, its key, and the cluster's CA certificate (PEM files)."""

    cert: Path
    key: Path
    ca: Path

    def peer_contexts(self) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        """For accepting peers and for dialing them: mutual TLS."""
        return self.server_context(peers=True), self.peer_client_context()

    def server_context(self, *, peers: bool, auth_clients: str = "no") -> ssl.SSLContext:
        """For accepting: the node's certificate; with ``peers``, the dialer's
        certificate is required and checked against the CA; for clients,
        as ``auth_clients`` says (``CLIENT_AUTH``)."""
        context = _context(ssl.Purpose.CLIENT_AUTH, self.ca)
        _load_chain(context, self.cert, self.key)
        context.verify_mode = ssl.CERT_REQUIRED if peers else CLIENT_AUTH[auth_clients]
        return context

    def peer_client_context(self) -> ssl.SSLContext:
        """For dialing a peer: its certificate checked, this node's shown."""
        context = client_context(self.ca)
        _load_chain(context, self.cert, self.key)
        return context


CLIENT_AUTH = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}
"""``--tls-auth-clients``: whether a client of the Redis port shows a certificate."""


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """For a client of the Redis port: the node's certificate checked against
    ``ca``; the client's own shown, if given (``--tls-auth-clients``)."""
    context = _context(ssl.Purpose.SERVER_AUTH, ca)
    if cert is not None and key is not None:
        _load_chain(context, cert, key)
    return context


def _context(purpose: ssl.Purpose, ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(f"cannot use {ca} as the CA certificate: {error}") from None
    return context


def _load_chain(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(
            f"cannot use the certificate {cert} with the key {key}: {error}"
        ) from None
