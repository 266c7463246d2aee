"""How ranet's command-line tools reach nodes that want a password or speak TLS.

``ranet kv``, ``member``, ``leader`` and ``backup save`` take the client
password from ``--password-file`` (its first line) or the ``RANET_PASSWORD``
environment variable - the default user's, or with ``--user NAME`` an ACL
user's (kv/acl.py) - and with ``--tls-ca FILE`` connect over TLS, checking
the node's certificate against that CA (ranet/tls.py); ``--tls-cert FILE
--tls-key FILE`` show a client certificate, for nodes started with
``--tls-auth-clients``.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from ranet.client.connection import Connection
from ranet.errors import ConfigurationError
from ranet.secret_file import read_secret
from ranet.tls import client_context

PASSWORD_ENV = "RANET_PASSWORD"


@dataclass(slots=True, frozen=True)
class ToolConnection:
    """What a tool's connections need: the password to AUTH with, the TLS context."""

    password: bytes | None = None
    ssl_context: ssl.SSLContext | None = None
    username: bytes | None = None

    async def open(self, endpoint: str, timeout: float) -> Connection:
        """A connection to ``endpoint``, over TLS and authenticated as given."""
        return await Connection.open(
            endpoint.strip(),
            timeout=timeout,
            password=self.password,
            ssl_context=self.ssl_context,
            username=self.username,
        )


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user", metavar="NAME", help="AUTH as this ACL user (with --password-file)"
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=f"AUTH with the password on this file's first line (or set {PASSWORD_ENV})",
    )
    parser.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="connect over TLS, checking the nodes' certificates against this CA",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="with --tls-ca: show this client certificate (nodes with --tls-auth-clients)",
    )
    parser.add_argument("--tls-key", type=Path, metavar="FILE", help="the client certificate's key")


def connection_from(args: argparse.Namespace) -> ToolConnection:
    """The password (its file, else the environment) and TLS context a tool was given."""
    password = None
    if args.password_file is not None:
        password = read_secret(args.password_file)
    elif from_environment := os.environ.get(PASSWORD_ENV):
        password = from_environment.encode()
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConfigurationError("a client certificate needs both --tls-cert and --tls-key")
    if args.tls_cert is not None and args.tls_ca is None:
        raise ConfigurationError("--tls-cert needs --tls-ca (a client certificate is for TLS)")
    if args.user is not None and password is None:
        raise ConfigurationError(f"--user needs a password (--password-file or {PASSWORD_ENV})")
    ssl_context = None
    if args.tls_ca is not None:
        ssl_context = client_context(args.tls_ca, args.tls_cert, args.tls_key)
    username = None if args.user is None else args.user.encode()
    return ToolConnection(password, ssl_context, username)
