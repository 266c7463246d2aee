"""ACL users (kv/acl.py, acl_check.py, acl_command.py) beyond what the
comparison with redis-server shows: users are replicated state (applied
alike, kept in snapshots, older snapshots restore with the default user
alone), no password in clear ever reaches the log, the internal commands
are nobody's, a restricted user's scripts are checked on every replica,
the node's password is the default user's, and ranet's own client and tools
log in as a user. Where ranet departs from Redis (``%W~`` alone), the test
says so."""

from __future__ import annotations

import argparse

import hiredis
import msgpack
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ranet.client.sync_client import Client
from ranet.client.tool_options import connection_from
from ranet.errors import ConfigurationError, SnapshotFormatError
from ranet.kv.acl import User, Users, password_hash
from ranet.kv.acl_command import prepare
from ranet.kv.acl_log import AclLog
from ranet.kv.envelope import RunEnvelope, encode_run
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore

from .fake_backend import WAIT, FakeBackend, served
from .store_fixtures import as_format
from .test_notifications_against_redis import Raw

NO_RETRY = Retry(NoBackoff(), 0)  # redis-py retries a refused AUTH (a ConnectionError)


def apply(store: KVStore, *argv: bytes | str, at_ms: int = 1_000) -> object:
    words = [a.encode() if isinstance(a, str) else a for a in argv]
    return store.apply(encode_run(RunEnvelope(at_ms, [words])))[0]  # type: ignore[index]


def setuser(store: KVStore, name: str, *rules: str) -> object:
    """ACL SETUSER as the server writes it into the log."""
    prepared = prepare(
        [b"ACL", b"SETUSER", name.encode(), *(r.encode() for r in rules)], b"", bool, AclLog()
    )
    assert isinstance(prepared, tuple), prepared
    return apply(store, *prepared[1])


def acl_list(store: KVStore) -> object:
    return store.read([b"RANET.ACL_RO", b"LIST"])


def test_a_setuser_reaches_the_log_with_its_passwords_hashed() -> None:
    _, argv = prepare(
        [b"ACL", b"SETUSER", b"app", b"on", b">pw one", b"<pw two"], b"", bool, AclLog()
    )
    assert b"pw one" not in b"".join(argv) and b"pw two" not in b"".join(argv)
    assert argv == [
        b"RANET.ACL",
        b"SETUSER",
        b"app",
        b"on",
        b"#" + password_hash(b"pw one").encode(),
        b"!" + password_hash(b"pw two").encode(),
    ]
    store = KVStore()
    refused = apply(store, "RANET.ACL", "SETUSER", "x", ">clear")
    assert "hashed passwords only" in refused.message  # type: ignore[union-attr]
    assert store.read([b"RANET.ACL_RO", b"USERS"]) == [b"default"]


def test_users_are_state_applied_alike_and_kept_in_snapshots() -> None:
    stores = [KVStore(), KVStore()]
    for store in stores:
        assert setuser(store, "app", "on", ">pw", "%R~r:*", "~app:*", "&news", "-@all", "+get")
        assert setuser(store, "app", "+@read", "-keys", "+config|get", "sanitize-payload")
        assert setuser(store, "old", "on", "nopass") is not None
        assert apply(store, "RANET.ACL", "DELUSER", "old", "old", "nobody") == 1
    assert acl_list(stores[0]) == acl_list(stores[1])
    restored = KVStore()
    restored.restore(stores[0].snapshot())
    assert acl_list(restored) == acl_list(stores[0])
    assert restored.read([b"RANET.ACL_RO", b"DRYRUN", b"app", b"get", b"r:1"]) is not None
    for argv in (
        [b"get", b"r:1"],
        [b"keys", b"*"],
        [b"config", b"get", b"x"],
        [b"set", b"app:1", b"v"],
    ):
        dry = [b"RANET.ACL_RO", b"DRYRUN", b"app", *argv]
        assert restored.read(dry) == stores[0].read(dry)


def test_a_snapshot_before_users_restores_with_the_default_user_alone() -> None:
    store = KVStore()
    setuser(store, "app", "on", ">pw")
    apply(store, "SET", "k", "v")
    fields = as_format(msgpack.unpackb(store.snapshot()), "ranet.kv/7")
    restored = KVStore()
    restored.restore(msgpack.packb(fields))
    assert restored.read([b"GET", b"k"]) == b"v"
    assert acl_list(restored) == [b"user default on nopass ~* &* +@all"]


@pytest.mark.parametrize(
    "users", [[b"app on"], [b"default bogus"], [b"default on", 7], "default on", [b"default (~x"]]
)
def test_a_snapshot_with_malformed_users_is_refused(users: object) -> None:
    fields = msgpack.unpackb(KVStore().snapshot())
    fields["users"] = users
    with pytest.raises(SnapshotFormatError):
        KVStore().restore(msgpack.packb(fields))


def test_the_internal_commands_are_nobodys() -> None:
    with served() as server, redis.Redis(port=server.port, socket_timeout=WAIT) as client:
        for internal in (["RANET.AS", "default", "GET", "k"], ["RANET.ACL", "SETUSER", "x"]):
            with pytest.raises(redis.ResponseError, match="unknown command"):
                client.execute_command(*internal)
        with pytest.raises(redis.ResponseError, match="Unknown Redis command"):
            client.eval("return redis.call('RANET.AS', 'default', 'GET', 'k')", 0)


def test_a_restricted_users_script_is_checked_alike_on_every_replica() -> None:
    """The server wraps the script as RANET.AS: each replica runs it as the
    user, so each refuses the same call."""
    script = "redis.call('set', 'app:1', 'a'); return redis.pcall('set', 'other', 'b')"
    replies = []
    for store in (KVStore(), KVStore()):
        setuser(store, "app", "on", "nopass", "~app:*", "+@all")
        replies.append(apply(store, "RANET.AS", "app", "EVAL", script, "0"))
        assert store.read([b"GET", b"app:1"]) == b"a" and store.read([b"GET", b"other"]) is None
        gone = apply(store, "RANET.AS", "nobody", "EVAL", "return 1", "0")
        assert gone.message == "NOPERM user 'nobody' no longer exists"  # type: ignore[union-attr]
    assert replies[0] == replies[1]
    assert "can't access at least one of the keys" in replies[0].message  # type: ignore[union-attr]


def test_key_patterns_allow_what_each_command_does_with_each_key() -> None:
    """``%R~`` lets a command read a key, ``%W~`` write it - SET writes only,
    INCR reads and writes, EXISTS does neither (Redis 7's key specs)."""
    store = KVStore()
    setuser(store, "w", "on", "nopass", "+@all", "%W~w:*", "%R~r:*", "~rw:*")

    def dry(*argv: bytes) -> object:
        return store.read([b"RANET.ACL_RO", b"DRYRUN", b"w", *argv])

    def refused(key: bytes) -> bytes:
        return b"This user has no permissions to access the '%s' key" % key

    assert dry(b"set", b"w:1", b"v") == dry(b"del", b"w:1") == OK_REPLY
    assert dry(b"set", b"w:1", b"v", b"get") == refused(b"w:1")  # GET reads it
    assert dry(b"incr", b"w:1") == dry(b"get", b"w:1") == refused(b"w:1")
    assert dry(b"get", b"r:1") == dry(b"exists", b"w:1", b"r:1") == OK_REPLY
    assert dry(b"set", b"r:1", b"v") == refused(b"r:1")
    assert dry(b"copy", b"r:1", b"w:2") == OK_REPLY and dry(b"copy", b"w:2", b"r:1") == refused(
        b"w:2"
    )
    assert dry(b"blpop", b"rw:1", b"r:1", b"0") == refused(b"r:1")
    assert dry(b"eval", b"return 1", b"1", b"r:1") == refused(b"r:1")
    shard_channel = dry(b"ssubscribe", b"app:1")  # a channel, not a key
    assert shard_channel == b"This user has no permissions to access the 'app:1' channel"


OK_REPLY = KVStore().read([b"RANET.ACL_RO", b"DRYRUN", b"default", b"get", b"k"])


def test_rules_keep_their_order_and_a_repeated_rule_moves_to_the_end() -> None:
    user = User(b"u").with_rules([b"+@all", b"-get", b"-@dangerous", b"+config|get", b"-get"])
    assert user.root.command_rules() == b"+@all -@dangerous +config|get -get"
    user = user.with_rules([b"-config", b"+config|set"])  # a whole command drops its subcommands'
    assert user.root.command_rules() == b"+@all -@dangerous -get -config +config|set"
    assert user.root.may_run("config|set") and not user.root.may_run("config|get")
    assert User(b"v").with_rules([b"-@all", b"+get", b"-@all"]).root.command_rules() == b"-@all"


def test_a_selector_with_unbalanced_quotes_is_a_syntax_error() -> None:
    """Redis 7.0 makes an empty selector of it; ranet says what is wrong."""
    reply = prepare([b"ACL", b"SETUSER", b"u", b"(~x '+get)"], b"", bool, AclLog())
    assert reply == ErrorReply("ERR Error in ACL SETUSER modifier '(~x '+get)': Syntax error")


def test_first_argument_rules_are_refused_as_not_built() -> None:
    reply = prepare([b"ACL", b"SETUSER", b"u", b"+select|0"], b"", bool, AclLog())
    assert reply == ErrorReply(
        "ERR Error in ACL SETUSER modifier '+select|0': ranet does not support "
        "first-argument rules (not built)"
    )


@pytest.mark.parametrize(("bits", "length"), [(None, 64), (1, 1), (5, 2), (4096, 1024)])
def test_genpass_gives_as_many_hex_digits_as_the_bits_need(bits: int | None, length: int) -> None:
    argv = [b"ACL", b"GENPASS"] + ([] if bits is None else [b"%d" % bits])
    password = prepare(argv, b"", bool, AclLog())
    assert isinstance(password, bytes) and len(password) == length
    int(password, 16)
    assert prepare(argv, b"", bool, AclLog()) != password or length == 1


def test_the_nodes_password_is_the_default_users() -> None:
    with served(password=b"node pw") as server:

        def log_in(password: str, username: str | None = None) -> bool:
            with redis.Redis(
                port=server.port, socket_timeout=WAIT, retry=NO_RETRY,
                username=username, password=password,
            ) as client:  # fmt: skip
                try:
                    return client.ping()
                except redis.AuthenticationError:
                    return False

        with redis.Redis(port=server.port, password="node pw", socket_timeout=WAIT) as admin:
            assert log_in("node pw") and not log_in("other")
            admin.execute_command("ACL", "SETUSER", "default", ">other")  # both work now
            assert log_in("node pw") and log_in("other", "default")
            admin.execute_command("ACL", "SETUSER", "default", "nopass")  # not without it
            assert not log_in("anything")
            admin.execute_command("ACL", "SETUSER", "default", "off")
            assert not log_in("node pw")
            admin.execute_command("ACL", "SETUSER", "app", "on", ">app pw", "~*", "+@all")
            assert log_in("app pw", "app")


def test_ranets_client_and_tools_log_in_as_a_user() -> None:
    """A user allowed GET and SET works through ranet's client, whose writes
    go in sessions (RANET.EXEC: its command is checked, not the envelope)."""
    with served(FakeBackend()) as server:
        with redis.Redis(port=server.port, socket_timeout=WAIT) as admin:
            admin.execute_command(
                "ACL", "SETUSER", "app", "on", ">pw", "~app:*", "-@all", "+get", "+set"
            )
        endpoint = f"127.0.0.1:{server.port}"
        with Client([endpoint], username="app", password="pw") as client:
            client.set("app:1", "v")
            assert client.get("app:1") == b"v"
            with pytest.raises(Exception, match="NOPERM"):
                client.set("other", "v")
            with pytest.raises(Exception, match="NOPERM"):
                client.delete("app:1")
    args = argparse.Namespace(
        user="app", password_file=None, tls_ca=None, tls_cert=None, tls_key=None
    )
    with pytest.raises(ConfigurationError, match="--user needs a password"):
        connection_from(args)


def test_users_survive_as_the_server_sees_them_across_a_restore() -> None:
    """A snapshot's install tells the server of the users it brings: a
    connection of a user the snapshot does not hold is closed."""
    backend = FakeBackend()
    with served(backend) as server:
        with redis.Redis(port=server.port, socket_timeout=WAIT) as admin:
            admin.execute_command("ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all")
        with redis.Redis(
            port=server.port, username="app", password="pw", socket_timeout=WAIT, retry=NO_RETRY
        ) as app:
            assert app.ping()
            server.call(lambda: backend.store.restore(KVStore().snapshot()))
            with pytest.raises(redis.AuthenticationError):
                app.ping()  # closed; redis-py reconnects and its AUTH is refused


def test_users_table_lists_users_by_name() -> None:
    users = Users()
    users.set(User(b"zed"))
    users.set(User(b"alice"))
    assert [user.name for user in users] == [b"alice", b"default", b"zed"]
    assert users.delete([b"zed", b"zed", b"nobody"]) == 1


def test_the_log_groups_a_refusal_within_a_minute_and_keeps_the_newest_128() -> None:
    now = [1000.0]
    log = AclLog(clock=lambda: now[0])

    def counts() -> list[tuple[bytes, int]]:
        return [(entry[7], entry[1]) for entry in log.reply(200)]  # type: ignore[index, union-attr]

    log.add("key", "toplevel", "a", b"u", "info")
    now[0] += 59.0
    log.add("key", "toplevel", "a", b"u", "info")  # within 60 s of the entry: counted there
    assert counts() == [(b"a", 2)]
    now[0] += 61.0
    log.add("key", "toplevel", "a", b"u", "info")  # 61 s after its last update: a new one
    log.add("key", "multi", "a", b"u", "info")  # another context: a new one
    assert counts() == [(b"a", 1), (b"a", 1), (b"a", 2)]
    for n in range(10):
        log.add("key", "toplevel", f"k{n}", b"u", "info")
    log.add("key", "multi", "a", b"u", "info")  # eleventh newest: not matched
    assert counts()[0] == (b"a", 1) and len(counts()) == 14
    for n in range(200):
        log.add("command", "toplevel", f"c{n}", b"u", "info")
    assert len(counts()) == 128 and counts()[0] == (b"c199", 1)


def test_a_restricted_default_user_holds_new_connections_to_its_rules() -> None:
    with served() as server:
        with redis.Redis(port=server.port, socket_timeout=WAIT) as admin:
            admin.set("k", "v")
            admin.execute_command("ACL", "SETUSER", "default", "resetkeys", "~public:*")
        with redis.Redis(port=server.port, socket_timeout=WAIT) as client:
            assert client.execute_command("ACL", "WHOAMI") == b"default"
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.get("k")
            assert client.get("public:1") is None
            client.execute_command("RESET")
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.get("k")


def test_a_restricted_users_script_reads_are_tracked_by_their_keys() -> None:
    """The script runs wrapped (RANET.AS_RO), but client-side caching
    remembers the keys the client named - at once and inside MULTI."""
    with served() as server:
        address = ("127.0.0.1", server.port)
        with Raw(address) as admin, Raw(address) as reader:
            admin.call("ACL", "SETUSER", "app", "on", ">pw", "~app:*", "+@all")
            assert reader.call("HELLO", "3", "AUTH", "app", "pw")[b"proto"] == 3
            assert reader.call("CLIENT", "TRACKING", "ON") == b"OK"
            script = "return redis.call('get', KEYS[1])"
            assert reader.call("EVAL_RO", script, "1", "app:1") is None
            reader.call("MULTI")
            reader.call("EVAL_RO", script, "1", "app:2")
            assert reader.call("EXEC") == [None]
            for key in (b"app:1", b"app:2"):
                admin.call("SET", key, "v")
                assert reader.read() == [b"invalidate", [key]]


def test_a_containers_unknown_subcommand_is_told_before_the_acl_as_in_redis() -> None:
    """Redis looks a subcommand up before it checks the user's rules: a user
    allowed only OBJECT ENCODING who sends OBJECT NOSUCH hears that it is
    unknown, not NOPERM (the errors are redis-server 7.0.15's), and nothing
    reaches the ACL LOG."""
    with served() as server:
        address = ("127.0.0.1", server.port)
        with Raw(address) as admin, Raw(address) as user:
            rules = ("on", "nopass", "~*", "+object|encoding", "+xinfo|stream")
            admin.call("ACL", "SETUSER", "u", *rules)
            user.call("AUTH", "u", "any")
            for words, error in (
                (("OBJECT", "nosuch", "k"), "ERR unknown subcommand 'nosuch'. Try OBJECT HELP."),
                (("OBJECT", "freq"), "ERR wrong number of arguments for 'object|freq' command"),
                (("XINFO", "bogus", "s"), "ERR unknown subcommand 'bogus'. Try XINFO HELP."),
                (("XINFO", "stream"), "ERR wrong number of arguments for 'xinfo|stream' command"),
            ):
                reply = user.call(*words)
                assert isinstance(reply, hiredis.ReplyError) and str(reply) == error, words
            refused = user.call("OBJECT", "freq", "k")
            assert str(refused).startswith("NOPERM") and "'object|freq'" in str(refused)
            assert len(admin.call("ACL", "LOG")) == 1  # only the NOPERM
