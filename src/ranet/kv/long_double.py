"""INCRBYFLOAT's arithmetic, as Redis does it: in x87 extended precision.

Redis reads the value and the increment with ``strtold``, adds them as C
``long double`` (on x86-64: 64-bit significand, 15-bit exponent) and writes
the sum with ``%.17Lf``, trailing zeros removed. The 17 decimals show the
extended precision's rounding: ``INCRBYFLOAT k 1000.1`` on 0 answers
``1000.09999999999999998``. Clients compare such text, so ranet computes the
same, exactly, with ``Fraction``: each operand rounded to the nearest
extended value (ties to even, as ``strtold``), the sum rounded again, then
rounded half to even at 17 decimals (as glibc's ``printf``).

It is also what makes the result the same on every replica: the replicas
run the same exact arithmetic, whatever their hardware.
"""

from __future__ import annotations

from fractions import Fraction

from ranet.kv.arguments import DECIMAL_TEXT, INFINITY_TEXT

_SIGNIFICAND_BITS = 64
_MAX_EXPONENT = 16384  # an extended value is below 2**16384
_MIN_EXPONENT = -16445  # the smallest subnormal is 2**-16445
_MAX_EXPONENT_TEXT = 5000  # past 10**5000 (or below 10**-5000) a text is out of range
_DIGITS = 17
_SCALE = 10**_DIGITS


class _Overflow(ArithmeticError):
    """Past the largest long double."""


INFINITY = float("inf")
Number = Fraction | float  # a long double's exact value, or an infinity


def parse(text: bytes) -> Number | None:
    """The long double ``text`` spells, as ``strtold`` reads a whole string:
    ``inf`` and ``infinity`` (any case, signed) are infinities; ``None`` for
    no number, NaN, a number too large for a long double or too small to be
    told from zero (Redis refuses those), and hexadecimal floats, which
    ``strtold`` reads but ranet does not."""
    if INFINITY_TEXT.fullmatch(text):
        return -INFINITY if text.startswith(b"-") else INFINITY
    match = DECIMAL_TEXT.fullmatch(text)
    if match is None or abs(int(match.group(1) or 0)) > _MAX_EXPONENT_TEXT + len(text):
        return None
    exact = Fraction(text.decode("ascii"))
    try:
        value = round_extended(exact)
    except _Overflow:
        return None
    return None if value == 0 and exact != 0 else value


def round_extended(exact: Fraction) -> Fraction:
    """``exact`` rounded to the nearest long double, ties to even."""
    if exact == 0:
        return exact
    magnitude = abs(exact)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1  # now 2**exponent <= magnitude < 2**(exponent + 1)
    if exponent >= _MAX_EXPONENT:
        raise _Overflow
    unit = Fraction(2) ** max(exponent - (_SIGNIFICAND_BITS - 1), _MIN_EXPONENT)
    rounded = round(magnitude / unit) * unit  # round() on a Fraction: ties to even
    if rounded >= Fraction(2) ** _MAX_EXPONENT:
        raise _Overflow
    return rounded if exact > 0 else -rounded


def add(value: Number, increment: Number) -> Fraction | None:
    """The long double sum of two long doubles; ``None`` if it is infinite
    (Redis: "increment would produce NaN or Infinity")."""
    if isinstance(value, float) or isinstance(increment, float):
        return None
    try:
        return round_extended(value + increment)
    except _Overflow:
        return None


def format_human(value: Fraction) -> bytes:
    """``value`` as Redis writes it (``%.17Lf``, then the trailing zeros and
    a bare point removed; ``-0`` is ``0``)."""
    scaled = round(value * _SCALE)  # ties to even
    sign = b"-" if scaled < 0 else b""
    whole, fraction = divmod(abs(scaled), _SCALE)
    digits = (b"%0*d" % (_DIGITS, fraction)).rstrip(b"0")
    text = sign + b"%d" % whole + (b"." + digits if digits else b"")
    return b"0" if text == b"-0" else text
