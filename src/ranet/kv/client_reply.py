"""CLIENT REPLY ON | OFF | SKIP: whether a connection's replies are sent.

As Redis 7.0 keeps it, in three flags. OFF drops every reply until ON,
whose own ``+OK`` is sent; SKIP drops the reply of the next command only,
answers nothing itself, and is ignored while replies are off; ON ends both
(it is sent even as the command SKIP drops). A wrong word is a syntax
error, dropped too while replies are off.

Rule 1 - a command's reply is dropped or sent as the mode says when the
connection takes the command, which is when Redis runs it: the replies of
commands taken before OFF are sent, even those still on their way (a write
going through the log) when OFF is taken.

Rule 2 - pushes are never dropped: pub/sub messages, the confirmations of
SUBSCRIBE and its kin, client-side caching's invalidations - Redis 7.0
sends them whatever the flags say. MONITOR's lines are dropped, as replies
are, while replies are off or a SKIP waits for its command.

Rule 3 - RESET turns replies back on; a SKIP in progress still drops
RESET's own reply, as in Redis.
"""

from __future__ import annotations

from ranet.kv.arguments import SYNTAX_ERROR
from ranet.kv.reply import OK, Reply


class ReplyMode:
    """One connection's CLIENT REPLY flags, while any is set: ``off``;
    ``skip``, the next command taken is to be dropped; ``skipping``, the
    command being taken is (Redis's ``CLIENT_REPLY_SKIP``)."""

    __slots__ = ("off", "skip", "skipping")

    def __init__(self) -> None:
        self.off = False
        self.skip = False
        self.skipping = False

    def change(self, word: bytes) -> Reply | None:
        """CLIENT REPLY ``word``: its reply (None: it answers nothing)."""
        word = word.upper()
        if word == b"ON":
            self.off = self.skipping = False
            return OK
        if word == b"OFF":
            self.off = True
            return None
        if word == b"SKIP":
            self.skip = self.skip or not self.off
            return None
        return SYNTAX_ERROR

    def take(self) -> bool:
        """A command is taken: whether its replies are dropped unless it
        changes the flags (a SKIP waiting for it is used up)."""
        self.skipping, self.skip = self.skip, False
        return self.dropping

    def put_back(self) -> None:
        """The command taken was not run after all (CLIENT PAUSE held it):
        a SKIP it used up waits for it again."""
        self.skip, self.skipping = self.skipping, False

    @property
    def dropping(self) -> bool:
        """Whether the reply of the command taken is dropped."""
        return self.off or self.skipping

    @property
    def silent(self) -> bool:
        """Whether a message that is no push (a MONITOR line) is dropped now."""
        return self.off or self.skip or self.skipping

    def finish(self) -> bool:
        """The command taken has its reply; whether any flag is left."""
        self.skipping = False
        return self.off or self.skip

    def reset(self) -> None:
        """RESET: replies on (Rule 3)."""
        self.off = self.skip = False
