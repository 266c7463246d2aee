"""The latency histogram: every percentile within 1/64 of the true sample, and
histograms from separate processes merge into the histogram of all samples."""

from __future__ import annotations

import math
import random

from ranet.bench.stats import Histogram, bucket_bounds, bucket_of


def exact_percentile(samples: list[int], fraction: float) -> int:
    rank = max(1, math.ceil(fraction * len(samples) - 1e-9))  # nearest rank
    return sorted(samples)[rank - 1]


def test_every_value_falls_inside_its_bucket_and_buckets_are_ordered() -> None:
    values = [*range(0, 5000), *(int(1.07**k) for k in range(400))]
    previous_bucket = -1
    for value in sorted(values):
        bucket = bucket_of(value)
        low, high = bucket_bounds(bucket)
        assert low <= value <= high
        assert (high - low) <= max(0, value / 64)
        assert bucket >= previous_bucket
        previous_bucket = bucket


def test_percentiles_are_within_one_sixty_fourth_of_the_exact_ones() -> None:
    rng = random.Random(7)
    samples = [int(rng.lognormvariate(13.5, 1.2)) for _ in range(20_000)]  # ~0.7 ms median
    histogram = Histogram()
    histogram.record(samples)
    assert histogram.total == len(samples)
    for fraction in (0.5, 0.9, 0.99, 0.999):
        exact = exact_percentile(samples, fraction)
        assert abs(histogram.percentile_ns(fraction) - exact) <= exact / 64  # type: ignore[operator]


def test_merged_histograms_equal_the_histogram_of_all_samples() -> None:
    rng = random.Random(3)
    parts = [[rng.randrange(10_000, 50_000_000) for _ in range(3_000)] for _ in range(3)]
    merged = Histogram()
    for part in parts:
        histogram = Histogram()
        histogram.record(part)
        merged.merge(Histogram.from_wire(histogram.to_wire()))  # as sent between processes
    whole = Histogram()
    whole.record([value for part in parts for value in part])
    assert merged.counts == whole.counts and merged.total == whole.total
    assert merged.percentile_ms(0.99) == whole.percentile_ms(0.99)


def test_an_empty_histogram_has_no_percentiles() -> None:
    histogram = Histogram()
    assert histogram.percentile_ms(0.5) is None
    assert histogram.mean_ms() is None and histogram.max_ms() is None


def test_a_single_sample_is_every_percentile() -> None:
    histogram = Histogram()
    histogram.record([2_000_000])
    for fraction in (0.0, 0.5, 0.999, 1.0):
        assert abs(histogram.percentile_ms(fraction) - 2.0) <= 2.0 / 64  # type: ignore[operator]
