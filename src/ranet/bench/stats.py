"""Latency histogram with log buckets: cheap to record, exact to merge.

A latency in nanoseconds falls in a bucket whose width is 1/64 of its
magnitude (the 6 bits after the leading one are kept, the rest dropped), so
a percentile read from the histogram is within 1/64 (1.6%) of the true
sample's value, whatever the range: 20 µs and 2 s are equally precise. Values
below 128 ns have a bucket each.

Bucket counts add, so histograms recorded by separate load processes merge
into the histogram of all their samples, and percentiles are taken over the
merged whole, never averaged. On the wire a histogram is a sparse
``{bucket: count}`` mapping.

Rule: ``bucket_of`` is monotonic, so the k-th smallest sample lies in the
bucket where the cumulative count first reaches k.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

SUB_BUCKET_BITS = 7
HALF = 1 << (SUB_BUCKET_BITS - 1)  # buckets per doubling of the value: 64


def bucket_of(value_ns: int) -> int:
    """The bucket index of a latency (ns, >= 0)."""
    shift = value_ns.bit_length() - SUB_BUCKET_BITS
    if shift <= 0:
        return value_ns
    return (shift << (SUB_BUCKET_BITS - 1)) + (value_ns >> shift)


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The smallest and largest value (ns) that fall in ``bucket``."""
    if bucket < 2 * HALF:
        return bucket, bucket
    shift = bucket // HALF - 1
    mantissa = bucket - shift * HALF
    return mantissa << shift, ((mantissa + 1) << shift) - 1


class Histogram:
    """Counts of latencies per bucket."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0

    def record(self, values_ns: Iterable[int]) -> None:
        """Count latencies (ns)."""
        counts = self.counts
        total = 0
        for value in values_ns:
            bucket = bucket_of(value)
            counts[bucket] = counts.get(bucket, 0) + 1
            total += 1
        self.total += total

    def merge(self, other: Histogram | Mapping[int, int]) -> None:
        """Add another histogram's counts (or its wire form) to this one."""
        counts = other.counts if isinstance(other, Histogram) else other
        for bucket, count in counts.items():
            bucket = int(bucket)  # JSON object keys are strings
            self.counts[bucket] = self.counts.get(bucket, 0) + count
            self.total += count

    def to_wire(self) -> dict[str, int]:
        return {str(bucket): count for bucket, count in self.counts.items()}

    @classmethod
    def from_wire(cls, wire: Mapping[str, int]) -> Histogram:
        histogram = cls()
        histogram.merge({int(bucket): count for bucket, count in wire.items()})
        return histogram

    def percentile_ns(self, fraction: float) -> float | None:
        """The value below which ``fraction`` (0..1) of the samples lie, or
        None without samples: the midpoint of the bucket holding that sample."""
        if self.total == 0:
            return None
        rank = min(self.total, max(1, math.ceil(fraction * self.total - 1e-9)))  # nearest rank
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                low, high = bucket_bounds(bucket)
                return (low + high) / 2
        raise AssertionError("unreachable: counts add up to total")

    def percentile_ms(self, fraction: float) -> float | None:
        value = self.percentile_ns(fraction)
        return None if value is None else round(value / 1e6, 3)

    def mean_ms(self) -> float | None:
        if self.total == 0:
            return None
        weighted = sum(sum(bucket_bounds(b)) / 2 * count for b, count in self.counts.items())
        return round(weighted / self.total / 1e6, 3)

    def max_ms(self) -> float | None:
        if self.total == 0:
            return None
        return round(bucket_bounds(max(self.counts))[1] / 1e6, 3)
