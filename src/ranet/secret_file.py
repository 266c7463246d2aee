"""Passwords and secrets kept in files, so that they show in no process list.

Nodes read theirs from ``--password-file`` (what Redis clients must AUTH
with) and ``--peer-secret-file`` (what peers must prove, transport/handshake.py);
the command-line tools read the client password from ``--password-file`` or
the ``RANET_PASSWORD`` environment variable.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ranet.errors import ConfigurationError

PASSWORD_ENV = "RANET_PASSWORD"


def read_secret(path: str | Path) -> bytes:
    """A password or secret kept in a file (so that it shows in no process
    list): its first line, without the line ending; clear errors if the file
    cannot be read or the line is empty."""
    try:
        with open(path, "rb") as f:
            line = f.readline(64 << 10)
    except OSError as error:
        raise ConfigurationError(f"cannot read the secret file {path}: {error.strerror}") from None
    secret = line.rstrip(b"\r\n")
    if not secret:
        raise ConfigurationError(f"the secret file {path} starts with an empty line")
    return secret


def add_password_option(parser: argparse.ArgumentParser) -> None:
    """``--password-file`` for a tool that connects to the nodes' Redis port."""
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=f"AUTH with the password on this file's first line (or set {PASSWORD_ENV})",
    )


def password_from(args: argparse.Namespace) -> bytes | None:
    """The client password a tool was given, if any: its file, else the environment."""
    if args.password_file is not None:
        return read_secret(args.password_file)
    from_environment = os.environ.get(PASSWORD_ENV)
    return from_environment.encode() if from_environment else None
