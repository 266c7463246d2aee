"""Passwords and secrets kept in files, so that they show in no process list.

Nodes read theirs from ``--password-file`` (what Redis clients must AUTH
with) and ``--peer-secret-file`` (what peers must prove, transport/handshake.py);
the command-line tools read the client password (client/tool_options.py).
"""

from __future__ import annotations

from pathlib import Path

from ranet.errors import ConfigurationError


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
