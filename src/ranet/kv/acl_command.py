"""The ACL command, and the internal commands it becomes in the log.

A connection's ``ACL`` (server.py calls ``prepare``) is answered in one of
three ways:

- at once, from nothing replicated: WHOAMI, CAT, GENPASS, LOG (this
  node's, acl_log.py), HELP, and the errors of SAVE and LOAD (ranet keeps
  users in the log, not in a file);
- as a write, through the log: SETUSER becomes ``RANET.ACL SETUSER`` with
  every ``>password`` turned into ``#hash`` (and ``<password`` into
  ``!hash``) first, so that no log entry, snapshot or follower ever holds a
  password in clear; DELUSER becomes ``RANET.ACL DELUSER``;
- as a read, linearizable like any other (``RANET.ACL_RO``): GETUSER, LIST,
  USERS and DRYRUN, so that a user created through one node is seen at
  once through every node.

``RANET.AS user command ...`` (and ``RANET.AS_RO``) runs a script command as
``user``: the server wraps EVAL, EVALSHA and FCALL (and their read-only
forms) of a connection whose user is restricted, so that every node checks
each ``redis.call`` of the script against the same user's rules, as Redis
checks them (scripting.py). These internal commands are never a client's:
``resolve`` does not know them; only the store runs them (commands.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ranet.kv import acl_check
from ranet.kv.acl import (
    DEFAULT,
    RuleError,
    User,
    checked_hash,
    password_hash,
    rule_error,
    valid_name,
)
from ranet.kv.acl_catalog import CATEGORIES, CATEGORIES_OF
from ranet.kv.acl_log import AclLog
from ranet.kv.arguments import (
    arity_error,
    parse_int,
    subcommand_error,
    subcommand_syntax_error,
    text_of,
)
from ranet.kv.command_spec import READ, WRITE, CommandSpec, Kind
from ranet.kv.keyspace import Keyspace
from ranet.kv.reply import OK, ErrorReply, Reply

Resolve = Callable[[list[bytes]], "CommandSpec | ErrorReply"]

_ARITIES = {
    b"CAT": -2,
    b"DELUSER": -3,
    b"DRYRUN": -4,
    b"GENPASS": -2,
    b"GETUSER": 3,
    b"HELP": 2,
    b"LIST": 2,
    b"LOAD": 2,
    b"LOG": -2,
    b"SAVE": 2,
    b"SETUSER": -3,
    b"USERS": 2,
    b"WHOAMI": 2,
}
_READS = frozenset({b"GETUSER", b"LIST", b"USERS", b"DRYRUN"})
NO_ACL_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration."
)
_HELP = [
    b"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CAT [<category>]",
    b"    List all commands that belong to <category>, or all command categories",
    b"    when no category is specified.",
    b"DELUSER <username> [<username> ...]",
    b"    Delete a list of users.",
    b"DRYRUN <username> <command> [<arg> ...]",
    b"    Returns whether the user can execute the given command without executing the command.",
    b"GETUSER <username>",
    b"    Get the user's details.",
    b"GENPASS [<bits>]",
    b"    Generate a secure 256-bit user password. The optional `bits` argument can",
    b"    be used to specify a different size.",
    b"LIST",
    b"    Show users details in config file format.",
    b"LOAD",
    b"    Reload users from the ACL file (ranet keeps users in its log: an error).",
    b"LOG [<count> | RESET]",
    b"    Show the ACL log entries.",
    b"SAVE",
    b"    Save the current config to the ACL file (ranet keeps users in its log: an error).",
    b"SETUSER <username> <attribute> [<attribute> ...]",
    b"    Create or modify a user with the specified attributes.",
    b"USERS",
    b"    List all the registered usernames.",
    b"WHOAMI",
    b"    Return the current connection username.",
    b"HELP",
    b"    Prints this help.",
]
WRITE_COMMAND = b"RANET.ACL"
READ_COMMAND = b"RANET.ACL_RO"


def prepare(
    argv: list[bytes], whoami: bytes, served: Callable[[str], bool], log: AclLog
) -> Reply | tuple[Kind, list[bytes]]:
    """A connection's ``ACL ...``: its reply, or the kind and arguments of
    the internal command that answers it. ``served`` says whether ranet
    serves a command (ACL CAT lists only those); ``log`` is this node's
    ACL LOG."""
    error = subcommand_error(argv, _ARITIES)
    if error is not None:
        return error
    subcommand = argv[1].upper()
    if subcommand == b"SETUSER":
        return _setuser(argv)
    if subcommand == b"DELUSER":
        return WRITE, [WRITE_COMMAND, *argv[1:]]
    if subcommand in _READS:
        return READ, [READ_COMMAND, *argv[1:]]
    if subcommand == b"WHOAMI":
        return whoami
    if subcommand == b"CAT":
        return _cat(argv, served)
    if subcommand == b"GENPASS":
        return _genpass(argv)
    if subcommand in (b"SAVE", b"LOAD"):
        return ErrorReply(NO_ACL_FILE)
    if subcommand == b"LOG":
        return _log(argv, log)
    return list(_HELP)


def _log(argv: list[bytes], log: AclLog) -> Reply:
    """ACL LOG [count | RESET]: the newest ``count`` entries (10)."""
    if len(argv) > 3:
        return subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].upper() == b"RESET":
        log.reset()
        return OK
    count = parse_int(argv[2]) if len(argv) == 3 else 10
    if count is None:
        return ErrorReply("ERR value is not an integer or out of range")
    return log.reply(max(count, 0))


def _setuser(argv: list[bytes]) -> Reply | tuple[Kind, list[bytes]]:
    """Check the rules on a new user (errors answered before anything is
    proposed), and hash the passwords given in clear."""
    name = argv[2]
    if not valid_name(name):
        return ErrorReply("ERR Usernames can't contain spaces or null characters")
    try:
        for rule in argv[3:]:
            if rule[:1] == b"!":
                checked_hash(rule[1:])
    except RuleError as error:
        return rule_error(RuleError(error.reason, rule))
    rules = [_hashed(rule) for rule in argv[3:]]
    try:  # a removal's password may be the user's: only the log's order says
        User(name).with_rules([rule for rule in rules if rule[:1] != b"!"])
    except RuleError as error:
        return rule_error(error)
    return WRITE, [WRITE_COMMAND, b"SETUSER", name, *rules]


def _hashed(rule: bytes) -> bytes:
    if rule[:1] == b">":
        return b"#" + password_hash(rule[1:]).encode()
    if rule[:1] == b"<":
        return b"!" + password_hash(rule[1:]).encode()
    return rule


def _cat(argv: list[bytes], served: Callable[[str], bool]) -> Reply:
    if len(argv) == 2:
        return [category.encode() for category in CATEGORIES]
    if len(argv) > 3:
        return subcommand_syntax_error(argv)
    category = text_of(argv[2]).lower()
    if category not in CATEGORIES:
        return ErrorReply(f"ERR Unknown category '{text_of(argv[2])}'")
    return [
        name.encode()
        for name, categories in CATEGORIES_OF.items()
        if category in categories and served(name.split("|")[0])
    ]


def _genpass(argv: list[bytes]) -> Reply:
    bits = parse_int(argv[2]) if len(argv) == 3 else 256
    if bits is None:
        return ErrorReply("ERR value is not an integer or out of range")
    if not 0 < bits <= 4096:
        return ErrorReply(
            "ERR ACL GENPASS argument must be the number of bits for the output password, "
            "a positive number up to 4096"
        )
    return os.urandom((bits + 7) // 8).hex()[: (bits + 3) // 4].encode()


# -- in the store: what the log and the reads run --------------------------------


def write(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """RANET.ACL SETUSER name rule ... | DELUSER name ...: applied from the log."""
    subcommand, users = argv[1].upper(), keyspace.users
    if subcommand == b"SETUSER":
        name, rules = argv[2], argv[3:]
        if any(rule[:1] in (b">", b"<") for rule in rules):
            return ErrorReply("ERR RANET.ACL takes hashed passwords only (# and !)")
        existing = users.get(name)
        try:
            user = (existing or User(name)).with_rules(rules)
        except RuleError as error:
            return rule_error(error)
        users.set(user)
        keyspace.users_changed()
        return OK
    if subcommand == b"DELUSER":
        if DEFAULT in argv[2:]:
            return ErrorReply("ERR The 'default' user cannot be removed")
        deleted = users.delete(argv[2:])
        keyspace.users_changed()
        return deleted
    return ErrorReply(f"ERR unknown RANET.ACL subcommand '{text_of(argv[1])}'")


def read(keyspace: Keyspace, argv: list[bytes], resolve: Resolve) -> Reply:
    """RANET.ACL_RO GETUSER name | LIST | USERS | DRYRUN user command arg ..."""
    subcommand, users = argv[1].upper(), keyspace.users
    if subcommand == b"GETUSER":
        user = users.get(argv[2])
        return None if user is None else user.getuser()
    if subcommand == b"LIST":
        return [b"user " + user.name + b" " + user.describe() for user in users]
    if subcommand == b"USERS":
        return [user.name for user in users]
    if subcommand == b"DRYRUN":
        user = users.get(argv[2])
        if user is None:
            return ErrorReply(f"ERR User '{text_of(argv[2])}' not found")
        spec = resolve(argv[3:])
        if isinstance(spec, ErrorReply):
            if spec.message.startswith("ERR unknown command"):
                return ErrorReply(f"ERR Command '{text_of(argv[3])}' not found")
            return spec
        denied = acl_check.denial(user, spec, argv[3:])
        return OK if denied is None else denied.dry_run()
    return ErrorReply(f"ERR unknown RANET.ACL_RO subcommand '{text_of(argv[1])}'")


def run_as(keyspace: Keyspace, argv: list[bytes], resolve: Resolve, kind: Kind) -> Reply:
    """RANET.AS user command ...: run a script command with ``user``'s rules
    checked on each of its calls."""
    user = keyspace.users.get(argv[1])
    if user is None:
        return ErrorReply(f"NOPERM user '{text_of(argv[1])}' no longer exists")
    spec = resolve(argv[2:])
    if isinstance(spec, ErrorReply):
        return spec
    if spec.kind is not kind or spec.handler is None:
        return arity_error(argv[0])
    keyspace.acting_user = user
    try:
        return spec.handler(keyspace, argv[2:])
    finally:
        keyspace.acting_user = None


_SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def as_sent(argv: list[bytes]) -> list[bytes]:
    """The command a client sent, from what a read or the log runs for it
    (``as_user``'s script, ``prepare``'s ACL read, named ``ACL``): SLOWLOG
    shows it as sent."""
    name = argv[0]
    if name in (b"RANET.AS", b"RANET.AS_RO"):
        return argv[2:]
    if name == READ_COMMAND:
        return [b"ACL", *argv[1:]]
    return argv


def as_user(user: User, spec: CommandSpec, argv: list[bytes]) -> list[bytes]:
    """What the log or a read runs for ``argv`` of a restricted ``user``: a
    script command wrapped to run as that user, any other as it is."""
    if spec.name not in _SCRIPT_COMMANDS:
        return argv
    return [b"RANET.AS_RO" if spec.kind is READ else b"RANET.AS", user.name, *argv]
