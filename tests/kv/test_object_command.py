"""OBJECT where ranet departs from Redis 7.0.15 (kv/object_command.py):
IDLETIME is not tracked, and an encoding is read from the value's content
- so a value that shrank below a limit, or a string APPEND made, is
encoded as Redis encodes it after a reload, on every replica alike. The
rest is compared with redis-server in test_object_against_redis.py."""

from __future__ import annotations

from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore

from .store_fixtures import call


def encoding(store: KVStore, key: str) -> object:
    return call(store, "OBJECT", "ENCODING", key)


def test_idletime_is_an_error_for_a_key_and_null_for_no_key() -> None:
    store = KVStore()
    call(store, "SET", "k", "v")
    assert call(store, "OBJECT", "IDLETIME", "k") == ErrorReply(
        "ERR OBJECT IDLETIME is not supported by ranet: it does not track when each key "
        "was last accessed"
    )
    assert call(store, "OBJECT", "IDLETIME", "nokey") is None


def test_a_collection_that_shrinks_below_its_limit_takes_the_small_encoding() -> None:
    """Redis keeps ``hashtable`` / ``skiplist`` until a reload; ranet answers
    from what the value holds now."""
    store = KVStore()
    call(store, "HSET", "h", *(f"f{i}" for i in range(513) for _ in (0, 1)))
    call(store, "SADD", "s", *range(600))
    call(store, "ZADD", "z", *(part for i in range(129) for part in (i, f"m{i}")))
    assert [encoding(store, key) for key in "hsz"] == [b"hashtable", b"hashtable", b"skiplist"]
    call(store, "HDEL", "h", "f0")
    call(store, "SPOP", "s", 88)
    call(store, "ZREM", "z", "m0")
    assert [encoding(store, key) for key in "hsz"] == [b"listpack", b"intset", b"listpack"]
    call(store, "HSET", "h", "long", "v" * 65)
    call(store, "SADD", "s", "word")
    call(store, "ZADD", "z", 1, "m" * 65)
    assert [encoding(store, key) for key in "hsz"] == [b"hashtable", b"hashtable", b"skiplist"]
    call(store, "HDEL", "h", "long")
    call(store, "SREM", "s", "word")
    call(store, "ZREM", "z", "m" * 65)
    assert [encoding(store, key) for key in "hsz"] == [b"listpack", b"intset", b"listpack"]


def test_a_string_is_encoded_by_its_bytes_whatever_command_made_it() -> None:
    """APPEND, SETRANGE, INCRBYFLOAT and COPY make ``raw`` strings, a
    ``embstr`` float and an unshared integer in Redis until a reload."""
    store = KVStore()
    call(store, "SET", "appended", "5")
    call(store, "APPEND", "appended", "55555")
    call(store, "SET", "ranged", "abc")
    call(store, "SETRANGE", "ranged", 0, "x")
    call(store, "SET", "float", "1")
    call(store, "INCRBYFLOAT", "float", "2")
    call(store, "SET", "original", "7")
    call(store, "COPY", "original", "copied")
    assert [encoding(store, key) for key in ("appended", "ranged", "float", "copied")] == [
        b"int",
        b"embstr",
        b"int",
        b"int",
    ]
    assert call(store, "OBJECT", "REFCOUNT", "float") == 2**31 - 1
    assert call(store, "OBJECT", "REFCOUNT", "copied") == 2**31 - 1
    assert call(store, "OBJECT", "REFCOUNT", "appended") == 1  # shared: 0 to 9999 only


def test_a_replica_restored_from_a_snapshot_answers_the_same() -> None:
    store = KVStore()
    call(store, "HSET", "h", *(f"f{i}" for i in range(600) for _ in (0, 1)))
    call(store, "HDEL", "h", *(f"f{i}" for i in range(100)))
    call(store, "SET", "n", "42")
    call(store, "RPUSH", "l", "a")
    replica = KVStore()
    replica.restore(store.snapshot())
    for key in ("h", "n", "l"):
        for subcommand in ("ENCODING", "REFCOUNT"):
            answer = call(store, "OBJECT", subcommand, key)
            assert call(replica, "OBJECT", subcommand, key) == answer
    assert encoding(replica, "h") == b"listpack"


def test_a_script_that_writes_may_ask_for_an_encoding() -> None:
    """OBJECT's answers hang on the value alone: the same on every replica."""
    store = KVStore()
    call(store, "SET", "n", "42")
    script = "redis.call('SET', 'e', redis.call('OBJECT', 'ENCODING', KEYS[1])) return 1"
    assert call(store, "EVAL", script, 1, "n") == 1
    assert call(store, "GET", "e") == b"int"


def test_help_is_redis_s_lines_as_status_replies() -> None:
    """Redis sends them as simple strings; FREQ and IDLETIME say what ranet does."""
    help_lines = call(KVStore(), "OBJECT", "HELP")
    assert isinstance(help_lines, list) and all(isinstance(line, Status) for line in help_lines)
    texts = [line.text for line in help_lines]
    assert texts[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "    Not tracked by ranet: an error for a key that exists." in texts
    assert texts[-2:] == ["HELP", "    Prints this help."]
