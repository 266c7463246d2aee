"""How long a client keeps trying, and how long it waits between attempts.

A failed attempt (a dead node, a node that knows no leader yet, a timeout)
is followed by a pause before the next one: exponential back-off, so that a
cluster in the middle of an election is not flooded, with jitter, so that
clients that failed together do not retry together. The pauses and the
attempts together never run past ``deadline`` seconds from the first
attempt: a call returns or raises within a bounded time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, bounded in total time.

    The pause after the n-th failed attempt (n = 1, 2, ...) is drawn
    uniformly from ``[d/2, d]`` with ``d = min(max_backoff,
    initial_backoff * multiplier ** (n - 1))``. ``deadline`` bounds the whole
    call, attempts included; ``RetryPolicy.never()`` makes one attempt only.
    """

    deadline: float = 15.0
    initial_backoff: float = 0.025
    max_backoff: float = 1.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.deadline < 0 or self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry times must not be negative")
        if self.multiplier < 1:
            raise ValueError("the back-off multiplier must be at least 1")

    @classmethod
    def never(cls) -> RetryPolicy:
        """No retry: the first failure is final."""
        return cls(deadline=0.0)

    def backoff(self, failures: int, rng: random.Random) -> float:
        """The pause after ``failures`` failed attempts (``failures >= 1``)."""
        exponent = min(failures - 1, 64)  # beyond this the cap has long been reached
        nominal = min(self.max_backoff, self.initial_backoff * self.multiplier**exponent)
        return rng.uniform(nominal / 2, nominal)
