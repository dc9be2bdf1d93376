"""Input validation shared by the whole package.

Every public function checks its physical inputs with these helpers, so a bad value always produces the same kind
of message: the parameter's name, the value received and the allowed range.  The CLI turns a
:class:`ParameterError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["ParameterError", "require_integer", "require_range"]


class ParameterError(ValueError):
    """A parameter is outside its allowed range or of the wrong kind.

    Attributes
    ----------
    name : str
        The parameter's name as the user spelled it (keyword argument or CLI option).

    Examples
    --------
    >>> from anisotropy import ParameterError
    >>> from anisotropy.errors import require_range
    >>> try:
    ...     require_range("eta", 1.5, 0.0, 1.0)
    ... except ParameterError as error:
    ...     print(error.name)
    eta
    """

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    low_text = "-inf" if low is None else _number_text(low)
    high_text = "inf" if high is None else _number_text(high)
    return f"{left}{low_text}, {high_text}{right}"


def _number_text(value) -> str:
    # integers print in full (a seed bound of 2**63 - 1 must not read as 9.22337e+18)
    return str(value) if isinstance(value, int) else f"{value:g}"


def require_range(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float if it lies in the interval, else raise :class:`ParameterError`.

    Parameters
    ----------
    name : str
        Parameter name used in the message.
    value : object
        Anything ``float()`` accepts; strings such as ``"abc"`` are rejected with the allowed range in the message.
    low, high : float or None
        Interval ends; ``None`` means unbounded.
    low_open, high_open : bool
        Whether the corresponding end is excluded.
    """
    interval = _interval(low, high, low_open or low is None, high_open or high is None)
    if isinstance(value, bool):
        raise ParameterError(name, f"expected a number in {interval}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, f"expected a number in {interval}, got {value!r}") from None
    if not math.isfinite(number):
        raise ParameterError(name, f"must be finite and in {interval}, got {value!r}")
    too_low = low is not None and (number < low or (low_open and number == low))
    too_high = high is not None and (number > high or (high_open and number == high))
    if too_low or too_high:
        raise ParameterError(name, f"must be in {interval}, got {number:g}")
    return number


def require_integer(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``, else raise :class:`ParameterError`."""
    interval = _interval(low, high, low is None, high is None)
    if isinstance(value, bool) or not isinstance(value, (int, Real, str)):
        raise ParameterError(name, f"expected an integer in {interval}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, f"expected an integer in {interval}, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ParameterError(name, f"expected an integer in {interval}, got {value!r}")
    integer = int(number)
    if (low is not None and integer < low) or (high is not None and integer > high):
        raise ParameterError(name, f"must be an integer in {interval}, got {integer}")
    return integer
