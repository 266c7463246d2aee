"""Random command streams against a simple reference model, seeded and replayable.

The model is written for clarity, not speed: expiry is checked key by key on
every access, sessions are scanned in full, nothing is shared with the store's
code. A failing seed replays exactly; the message names the step.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import pytest

from ranet.kv.commands import is_write
from ranet.kv.reply import OK, ErrorReply, Reply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import entry

KEYS = [b"a", b"b", b"c", b"d"]
VALUES = [b"", b"0", b"7", b"-3", b"x", b"01", b"9223372036854775806", b"-9223372036854775807"]
NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
SESSION_TTL_MS = 2_000
MAX_SESSIONS = 2


@dataclass
class ModelSession:
    sequence: int
    reply: Reply
    last_active_ms: int
    touched: int  # a global counter: the least recently touched session is evicted first


@dataclass
class Model:
    values: dict[bytes, bytes] = field(default_factory=dict)
    deadlines: dict[bytes, int] = field(default_factory=dict)
    clock_ms: int = 0
    sessions: dict[int, ModelSession] = field(default_factory=dict)
    touches: int = 0

    def live(self, key: bytes, now_ms: int) -> bool:
        return key in self.values and self.deadlines.get(key, now_ms + 1) > now_ms

    def apply(self, client_id: int, sequence: int, at_ms: int, argv: list[bytes]) -> Reply:
        self.clock_ms = max(self.clock_ms, at_ms)
        for key in [k for k in self.values if not self.live(k, self.clock_ms)]:
            self.drop(key)
        for client in [c for c, s in self.sessions.items() if self.idle(s) > SESSION_TTL_MS]:
            del self.sessions[client]
        if client_id == 0:
            return self.write(argv)
        self.touches += 1
        session = self.sessions.get(client_id)
        if session is None:
            session = self.sessions[client_id] = ModelSession(-1, None, 0, self.touches)
            if len(self.sessions) > MAX_SESSIONS:
                oldest = min(self.sessions, key=lambda c: self.sessions[c].touched)
                del self.sessions[oldest]
        session.last_active_ms, session.touched = self.clock_ms, self.touches
        if sequence == session.sequence:
            return session.reply
        if sequence < session.sequence:
            return ErrorReply("stale")
        session.sequence, session.reply = sequence, self.write(argv)
        return session.reply

    def idle(self, session: ModelSession) -> int:
        return self.clock_ms - session.last_active_ms

    def drop(self, key: bytes) -> None:
        self.values.pop(key, None)
        self.deadlines.pop(key, None)

    def get(self, key: bytes, now_ms: int) -> bytes | None:
        return self.values[key] if self.live(key, now_ms) else None

    def write(self, argv: list[bytes]) -> Reply:
        name, args, now = argv[0], argv[1:], self.clock_ms
        if name == b"SET":
            key, value, options = args[0], args[1], args[2:]
            if b"NX" in options and b"XX" in options:
                return ErrorReply("ERR syntax error")
            old = self.get(key, now)
            if (b"NX" in options and old is not None) or (b"XX" in options and old is None):
                return old if b"GET" in options else None
            self.values[key] = value
            self.deadlines.pop(key, None)
            if b"PX" in options:
                self.deadlines[key] = now + int(options[options.index(b"PX") + 1])
            return old if b"GET" in options else OK
        if name == b"MSET":
            for key, value in zip(args[::2], args[1::2], strict=True):
                self.values[key] = value
                self.deadlines.pop(key, None)
            return OK
        if name == b"DEL":
            found = [key for key in dict.fromkeys(args) if self.live(key, now)]
            for key in found:
                self.drop(key)
            return len(found)
        if name == b"GETDEL":
            old = self.get(args[0], now)
            self.drop(args[0])
            return old
        if name in (b"INCR", b"INCRBY"):
            old = self.get(args[0], now)
            if old is not None and not re.fullmatch(rb"0|-?[1-9][0-9]{0,18}", old):
                return NOT_INTEGER
            result = int(old or b"0") + int(args[1] if args[1:] else b"1")
            if not -(2**63) <= result < 2**63 or not -(2**63) <= int(old or 0) < 2**63:
                return OVERFLOW if -(2**63) <= int(old or 0) < 2**63 else NOT_INTEGER
            self.values[args[0]] = str(result).encode()
            return result
        if name == b"APPEND":
            self.values[args[0]] = (self.get(args[0], now) or b"") + args[1]
            return len(self.values[args[0]])
        if name == b"CAS":
            if self.get(args[0], now) != args[1]:
                return 0
            self.values[args[0]] = args[2]
            return 1
        if name == b"PEXPIRE":
            if not self.live(args[0], now):
                return 0
            self.deadlines[args[0]] = now + int(args[1])
            if self.deadlines[args[0]] <= now:
                self.drop(args[0])
            return 1
        if name == b"PERSIST":
            return int(self.live(args[0], now) and self.deadlines.pop(args[0], None) is not None)
        assert name == b"FLUSHDB"
        self.values.clear()
        self.deadlines.clear()
        return OK

    def read(self, argv: list[bytes], at_ms: int | None) -> Reply:
        name, args = argv[0], argv[1:]
        now = max(self.clock_ms, at_ms or 0)
        if name == b"GET":
            return self.get(args[0], now)
        if name == b"MGET":
            return [self.get(key, now) for key in args]
        if name == b"EXISTS":
            return sum(self.live(key, now) for key in args)
        if name == b"STRLEN":
            return len(self.get(args[0], now) or b"")
        if name == b"DBSIZE":
            return sum(self.live(key, now) for key in self.values)
        if name == b"KEYS":
            prefix = args[0].rstrip(b"*")
            return [k for k in self.values if self.live(k, now) and k.startswith(prefix)]
        assert name == b"PTTL"
        if not self.live(args[0], now):
            return -2
        deadline = self.deadlines.get(args[0])
        return -1 if deadline is None else deadline - now


def random_command(rng: random.Random) -> list[bytes]:
    key, value = rng.choice(KEYS), rng.choice(VALUES)
    choices: list[list[bytes]] = [
        [b"SET", key, value],
        [b"SET", key, value, *rng.sample([b"NX", b"GET", b"XX"], rng.randint(1, 2))],
        [b"SET", key, value, b"PX", str(rng.randint(1, 3_000)).encode()],
        [b"MSET", key, value, rng.choice(KEYS), rng.choice(VALUES)],
        [b"DEL", key, rng.choice(KEYS)],
        [b"GETDEL", key],
        [b"INCR", key],
        [b"INCRBY", key, rng.choice([b"1", b"-5", b"9223372036854775807", b"100"])],
        [b"APPEND", key, value],
        [b"CAS", key, rng.choice(VALUES), value],
        [b"PEXPIRE", key, str(rng.randint(-100, 3_000)).encode()],
        [b"PERSIST", key],
        [b"GET", key],
        [b"MGET", key, rng.choice(KEYS)],
        [b"EXISTS", key, rng.choice(KEYS)],
        [b"STRLEN", key],
        [b"DBSIZE"],
        [b"KEYS", rng.choice([b"*", b"a*", b"c*"])],
        [b"PTTL", key],
    ]
    if rng.random() < 0.01:
        return [b"FLUSHDB"]
    return rng.choice(choices)


def fresh_store() -> KVStore:
    return KVStore(session_ttl_ms=SESSION_TTL_MS, max_sessions=MAX_SESSIONS)


@pytest.mark.parametrize("seed", range(10))
def test_random_streams_agree_with_the_model(seed: int) -> None:
    rng = random.Random(seed)
    store, model = fresh_store(), Model()
    sequences = {client: 0 for client in (1, 2, 3)}
    last: dict[int, list[bytes]] = {}
    leader_clock = 0
    for step in range(3_000):
        leader_clock += rng.choice([0, 0, 10, 100, 700])
        at = leader_clock - rng.choice([0, 0, 0, 500])  # now and then a slow leader
        argv = random_command(rng)
        if not is_write(argv):
            read_at = rng.choice([None, leader_clock + rng.randint(0, 2_000)])
            assert store.read(argv, now_ms=read_at) == model.read(argv, read_at), (seed, step)
            continue
        client = rng.choice([0, 1, 2, 3])
        if client and client in last and rng.random() < 0.25:
            argv = last[client]  # a retry of the client's last request
        elif client:
            sequences[client] += 1
            last[client] = argv
        sequence = sequences.get(client, 0) - (client != 0 and rng.random() < 0.05)
        command = entry(*argv, client_id=client, sequence=sequence, at=max(at, 0))
        expected = model.apply(client, sequence, max(at, 0), argv)
        reply = store.apply(command)
        if expected == ErrorReply("stale"):
            assert isinstance(reply, ErrorReply) and "stale request" in reply.message
        else:
            assert reply == expected, (seed, step, argv)
        assert len(store) == len(model.values), (seed, step)
        if rng.random() < 0.03:  # a snapshot installed on a new replica carries on
            restored = fresh_store()
            restored.restore(store.snapshot())
            store = restored
