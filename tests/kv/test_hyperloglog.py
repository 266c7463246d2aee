"""HyperLogLog where ranet's own choices show (kv/hyperloglog.py,
hll_sparse.py): the estimate's accuracy; sparse changes checked against a
plain array of registers; the decoded opcodes kept between commands never
changing a result; a corrupt HLL refused with nothing changed; PFCOUNT a
read. Bytes and replies are compared with redis-server in
test_hyperloglog_against_redis.py."""

from __future__ import annotations

import random

import pytest

from ranet.kv import hll_sparse, hyperloglog
from ranet.kv.commands import READ, WRITE, lookup
from ranet.kv.hll_sparse import SparseHLL
from ranet.kv.reply import OK, ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, moves_version


def _add_in_batches(store: KVStore, key: str, elements: list[str], batch: int = 1000) -> None:
    for start in range(0, len(elements), batch):
        call(store, "PFADD", key, *elements[start : start + batch])


@pytest.mark.parametrize("distinct", [10, 1_000, 100_000])
def test_the_estimate_is_within_the_standard_error(distinct: int) -> None:
    """HLL with 16,384 registers: standard error 0.81%; small counts are
    near exact. Every element added twice counts once."""
    store = KVStore()
    elements = [f"user:{n}" for n in range(distinct)]
    _add_in_batches(store, "h", elements + elements[::3])
    estimate = call(store, "PFCOUNT", "h")
    assert isinstance(estimate, int)
    assert abs(estimate - distinct) <= max(1, 0.025 * distinct)


def test_a_union_counts_the_elements_of_both() -> None:
    store = KVStore()
    _add_in_batches(store, "a", [f"x{n}" for n in range(30_000)])
    _add_in_batches(store, "b", [f"x{n}" for n in range(20_000, 50_000)])
    union = call(store, "PFCOUNT", "a", "b")
    assert isinstance(union, int) and abs(union - 50_000) <= 0.025 * 50_000
    assert call(store, "PFMERGE", "c", "a", "b") == OK
    assert call(store, "PFCOUNT", "c") == union


def _registers(sparse: SparseHLL) -> list[int]:
    registers = hyperloglog._registers(sparse.encode())
    assert registers is not None, "the runs no longer cover every register"
    return list(registers)


def test_sparse_changes_match_a_plain_array_of_registers() -> None:
    """Random raises - new registers, higher and lower values, neighbours
    of runs - on the decoded opcodes: the encoding always covers the 16,384
    registers, holds what an array would, and stays within Redis's bounds
    (VAL runs of 1-4 holding 1-32) until it reports that Redis would turn
    it dense."""
    rng = random.Random(9)
    for _ in range(40):
        sparse = SparseHLL.decode(hyperloglog._EMPTY)
        assert sparse is not None
        model = [0] * hll_sparse.REGISTERS
        center = rng.randrange(hll_sparse.REGISTERS)
        for _ in range(rng.randint(1, 1500)):
            index = (center + rng.randint(-200, 200)) % hll_sparse.REGISTERS
            count = rng.randint(1, 34)
            result = sparse.raise_register(index, count)
            if result is None:
                assert count > 32 or sparse.size > 2990
                break
            assert result == (1 if count > model[index] else 0)
            model[index] = max(model[index], count)
            assert sparse.size == len(sparse.encode())
        assert _registers(sparse) == model


def test_the_kept_opcodes_never_change_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same PFADDs and PFMERGEs on two stores at once (so each takes
    what the other kept), and on a store that keeps nothing: the same
    bytes."""
    rng = random.Random(4)
    commands = []
    for _ in range(600):
        key = rng.choice(["a", "b", "c"])
        if rng.random() < 0.1:
            commands.append(("PFMERGE", key, rng.choice(["a", "b", "c"])))
        else:
            commands.append(("PFADD", key, *[f"e{rng.randrange(5000)}" for _ in range(3)]))
    first, second = KVStore(), KVStore()
    for command in commands:
        assert call(first, *command) == call(second, *command)
    monkeypatch.setattr(hll_sparse, "keep", lambda value, sparse: None)
    plain = KVStore()
    for command in commands:
        call(plain, *command)
    for key in ("a", "b", "c"):
        assert call(first, "GET", key) == call(second, "GET", key) == call(plain, "GET", key)


CUT = b"HYLL\x01" + bytes(10) + b"\x80" + b"\x7f\xfe"  # runs cover 16,383 registers


def test_a_corrupt_hll_is_refused_and_left_as_it_was() -> None:
    store = KVStore()
    call(store, "SET", "cut", CUT)
    assert call(store, "PFCOUNT", "cut") == hyperloglog.CORRUPTED
    assert call(store, "PFMERGE", "m", "cut") == hyperloglog.CORRUPTED
    assert call(store, "EXISTS", "m") == 0
    # Register 16,383 is not covered: adding an element that falls there fails.
    element = next(
        e for n in range(100_000) if hyperloglog.register_of(e := b"%d" % n)[0] == 16_383
    )
    before = store.versions([b"cut"])
    assert call(store, "PFADD", "cut", "a", element) == ErrorReply(
        "INVALIDOBJ Corrupted HLL object detected"
    )
    assert call(store, "GET", "cut") == CUT
    assert store.versions([b"cut"]) == before


def test_pfcount_is_a_read_and_changes_nothing() -> None:
    assert lookup(b"PFCOUNT").kind is READ  # type: ignore[union-attr]
    assert lookup(b"PFADD").kind is WRITE and lookup(b"PFMERGE").kind is WRITE  # type: ignore[union-attr]
    store = KVStore()
    call(store, "PFADD", "h", "a", "b")
    value = call(store, "GET", "h")
    assert not moves_version(store, b"h", "PFCOUNT", "h")
    assert call(store, "GET", "h") == value  # the stale cache stays stale: the count is kept aside
    assert call(store, "PFCOUNT", "h") == 2
