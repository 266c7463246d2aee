"""Key-space notifications (notifications.py, Keyspace.notify): the
setting's classes, events on this node only and never in the state,
expiry announced by the entry that expires a key, and the clock's tick.
The events of every command against redis-server:
test_notifications_against_redis.py."""

from __future__ import annotations

import pytest
import redis

from ranet.kv import notifications
from ranet.kv.store import KVStore
from tests.kv.fake_backend import served
from tests.kv.store_fixtures import entry

EVERYTHING = notifications.parse("KEAn")


def listening(flags: int) -> tuple[KVStore, list[tuple[bytes, bytes]]]:
    store, heard = KVStore(), []
    store.deliver_published(lambda channel, message, shard: heard.append((channel, message)) or 1)
    store.notify_keyspace_events(flags)
    return store, heard


@pytest.mark.parametrize(
    ("given", "shown"),
    [("KEA", "AKE"), ("xgK", "gxK"), ("dtez$E", "$zetdE"), ("AKEn", "AKEn"), ("", "")],
)
def test_the_setting_reads_and_shows_as_redis_s(given: str, shown: str) -> None:
    assert notifications.text_of(notifications.parse(given)) == shown


@pytest.mark.parametrize(("given", "why"), [("KEAm", "key-miss"), ("Kq", "Invalid event class")])
def test_key_misses_and_unknown_classes_are_refused(given: str, why: str) -> None:
    with pytest.raises(notifications.UnknownClass, match=why):
        notifications.parse(given)
    with served() as server, redis.Redis(port=server.port) as client:
        with pytest.raises(redis.ResponseError, match=why):
            client.config_set("notify-keyspace-events", given)
        assert client.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}


def test_events_never_change_the_state() -> None:
    """The setting is the node's: replicas emitting and not emitting apply
    the same entries to the same state."""
    entries = [
        entry("SET", "k", "v", "PX", 100, at=1_000),
        entry("HSET", "h", "f", "v", at=1_000),
        entry("HDEL", "h", "f", at=1_000),
        entry("INCR", "n", at=2_000),
    ]
    (loud, heard), (silent, unheard) = listening(EVERYTHING), listening(0)
    for data in entries:
        loud.apply(data)
        silent.apply(data)
    assert loud.snapshot() == silent.snapshot()
    events = [message for channel, message in heard if channel.startswith(b"__keyspace")]
    assert events == [
        *(b"new", b"set", b"expire"),
        *(b"new", b"hset", b"hdel", b"del"),
        *(b"expired", b"new", b"incrby"),  # the entry at 2,000 expires k first
    ]
    assert not unheard


def test_an_expired_key_is_announced_by_the_entry_that_expires_it() -> None:
    store, heard = listening(notifications.parse("Ex$"))
    store.apply(entry("SET", "lease", "x", "PX", 100, at=1_000))
    heard.clear()
    assert not store.expiry_due(1_050)
    assert store.expiry_due(1_100)
    store.apply(entry("RANET.TICK", at=1_100))  # what a node writes when keys are due
    assert heard == [(b"__keyevent@0__:expired", b"lease")]
    assert not store.expiry_due(5_000)
    store.apply(entry("SET", "other", "y", at=1_200))
    assert heard[1:] == [(b"__keyevent@0__:set", b"other")]


def test_the_setting_outlives_a_snapshot_s_restore() -> None:
    store, heard = listening(EVERYTHING)
    store.restore(KVStore().snapshot())
    store.apply(entry("SET", "k", "v", at=1))
    assert (b"__keyevent@0__:set", b"k") in heard


def test_a_cas_announces_a_set() -> None:
    store, heard = listening(notifications.parse("KA"))
    store.apply(entry("SET", "k", "old", at=1))
    heard.clear()
    store.apply(entry("CAS", "k", "nope", "x", at=1))
    store.apply(entry("CAS", "k", "old", "new", at=1))
    assert heard == [(b"__keyspace@0__:k", b"set")]
