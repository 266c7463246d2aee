"""Exactly-once writes through client sessions (thesis §6.3)."""

from __future__ import annotations

from ranet.kv.reply import OK, ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, entry

HOUR_MS = 3_600_000


def test_a_retry_gets_the_cached_reply_and_is_not_applied_again() -> None:
    store = KVStore()
    incr = entry("INCR", "counter", client_id=7, sequence=1, at=1_000)
    assert store.apply(incr) == 1
    assert store.apply(incr) == 1
    assert call(store, "GET", "counter") == b"1"


def test_a_retry_is_recognised_by_sequence_alone() -> None:
    store = KVStore()
    assert store.apply(entry("SET", "k", "first", client_id=7, sequence=1)) == OK
    assert store.apply(entry("SET", "k", "second", client_id=7, sequence=1)) == OK
    assert call(store, "GET", "k") == b"first"


def test_an_error_reply_is_cached_like_any_other() -> None:
    store = KVStore()
    call(store, "SET", "k", "text")
    incr = entry("INCR", "k", client_id=7, sequence=1)
    assert store.apply(incr) == ErrorReply("ERR value is not an integer or out of range")
    call(store, "SET", "k", "41")
    assert store.apply(incr) == ErrorReply("ERR value is not an integer or out of range")
    assert call(store, "GET", "k") == b"41"


def test_a_null_reply_is_cached_too() -> None:
    store = KVStore()
    set_nx = entry("SET", "k", "v", "NX", client_id=7, sequence=1)
    call(store, "SET", "k", "taken")
    assert store.apply(set_nx) is None
    call(store, "DEL", "k")
    assert store.apply(set_nx) is None
    assert call(store, "GET", "k") is None


def test_a_stale_request_is_refused_and_not_applied() -> None:
    store = KVStore()
    store.apply(entry("INCR", "k", client_id=7, sequence=5))
    reply = store.apply(entry("INCR", "k", client_id=7, sequence=4))
    assert reply == ErrorReply(
        "ERR stale request: sequence 4 already superseded (client 7 is at sequence 5)"
    )
    assert call(store, "GET", "k") == b"1"


def test_a_higher_sequence_is_applied_and_replaces_the_cached_reply() -> None:
    store = KVStore()
    assert store.apply(entry("INCR", "k", client_id=7, sequence=1)) == 1
    assert store.apply(entry("INCR", "k", client_id=7, sequence=3)) == 2  # gaps are fine
    assert store.apply(entry("INCR", "k", client_id=7, sequence=3)) == 2
    assert call(store, "GET", "k") == b"2"


def test_sessions_are_per_client() -> None:
    store = KVStore()
    assert store.apply(entry("INCR", "k", client_id=1, sequence=1)) == 1
    assert store.apply(entry("INCR", "k", client_id=2, sequence=1)) == 2
    assert store.stats()["sessions"] == 2


def test_client_zero_has_no_session() -> None:
    store = KVStore()
    assert store.apply(entry("INCR", "k", client_id=0, sequence=1)) == 1
    assert store.apply(entry("INCR", "k", client_id=0, sequence=1)) == 2
    assert store.stats()["sessions"] == 0


def test_an_idle_session_expires_and_its_retry_applies_again() -> None:
    store = KVStore(session_ttl_ms=HOUR_MS)
    incr = entry("INCR", "k", client_id=7, sequence=1, at=0)
    store.apply(incr)
    store.apply(entry("SET", "other", "v", at=HOUR_MS))  # idle exactly the ttl: kept
    assert store.stats()["sessions"] == 1
    store.apply(entry("SET", "other", "v", at=HOUR_MS + 1))  # idle longer: dropped
    assert store.stats()["sessions"] == 0
    assert store.apply(incr) == 2  # the documented consequence: applied twice
    assert store.stats()["sessions"] == 1


def test_activity_keeps_a_session_alive() -> None:
    store = KVStore(session_ttl_ms=1_000)
    store.apply(entry("INCR", "k", client_id=7, sequence=1, at=0))
    store.apply(entry("INCR", "k", client_id=8, sequence=1, at=0))
    store.apply(entry("INCR", "k", client_id=7, sequence=1, at=900))  # a retry is activity
    store.apply(entry("SET", "other", "v", at=1_500))
    assert store.stats()["sessions"] == 1
    assert store.apply(entry("INCR", "k", client_id=7, sequence=1, at=1_500)) == 1


def test_expiry_reads_time_only_from_the_log_and_it_never_goes_back() -> None:
    store = KVStore(session_ttl_ms=1_000)
    store.apply(entry("INCR", "k", client_id=7, sequence=1, at=5_000))
    store.apply(entry("SET", "other", "v", at=10))  # a leader with a slow clock
    assert store.clock_ms == 5_000
    store.apply(entry("INCR", "k", client_id=8, sequence=1, at=6_000))
    store.apply(entry("INCR", "k", client_id=8, sequence=2, at=100))  # active "at 6 000"
    store.apply(entry("SET", "other", "v", at=6_500))
    assert store.stats()["sessions"] == 1  # 7 idle 1 500 ms, 8 idle 500 ms


def test_two_replicas_fed_the_same_entries_expire_the_same_sessions() -> None:
    log = [
        entry("INCR", "k", client_id=client, sequence=1, at=at)
        for client, at in [(1, 0), (2, 400), (3, 900), (1, 1_000), (4, 2_000), (2, 2_100)]
    ]
    replicas = [KVStore(session_ttl_ms=1_000), KVStore(session_ttl_ms=1_000)]
    for index, command in enumerate(log):
        replies = [replica.apply(command) for replica in replicas]
        assert replies[0] == replies[1], index
        assert replicas[0].snapshot() == replicas[1].snapshot(), index
    # Of six entries, only client 1's retry at 1 000 was deduplicated: client 2's
    # retry at 2 100 came after its session expired, and applied again.
    assert call(replicas[0], "GET", "k") == b"5"


def test_max_sessions_evicts_the_least_recently_active() -> None:
    store = KVStore(max_sessions=2)
    store.apply(entry("INCR", "a", client_id=1, sequence=1))
    store.apply(entry("INCR", "b", client_id=2, sequence=1))
    store.apply(entry("INCR", "a", client_id=1, sequence=1))  # 1 is now the most recent
    store.apply(entry("INCR", "c", client_id=3, sequence=1))  # evicts 2
    assert store.stats()["sessions"] == 2
    assert store.apply(entry("INCR", "a", client_id=1, sequence=1)) == 1  # still deduplicated
    assert store.apply(entry("INCR", "b", client_id=2, sequence=1)) == 2  # forgotten


def test_the_session_table_survives_snapshot_and_restore() -> None:
    store = KVStore(session_ttl_ms=1_000)
    incr = entry("INCR", "k", client_id=7, sequence=3, at=500)
    store.apply(incr)
    assert store.apply(entry("INCR", "k", client_id=8, sequence=1, at=800)) == 2
    snapshot = store.snapshot()

    copy = KVStore(session_ttl_ms=1_000)
    copy.restore(snapshot)
    assert copy.apply(incr) == 1
    assert copy.apply(entry("INCR", "k", client_id=7, sequence=2)) == ErrorReply(
        "ERR stale request: sequence 2 already superseded (client 7 is at sequence 3)"
    )
    assert call(copy, "GET", "k") == b"2"

    later = KVStore(session_ttl_ms=1_000)
    later.restore(snapshot)  # with the clock and each session's last activity
    later.apply(entry("SET", "other", "v", at=1_600))  # 7 (active at 500) expires, 8 does not
    assert later.stats()["sessions"] == 1
    assert later.apply(entry("INCR", "k", client_id=8, sequence=1)) == 2
    assert later.apply(incr) == 3
