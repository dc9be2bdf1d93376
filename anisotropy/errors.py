"""Input validation shared by the whole package.

Every public function checks its physical inputs with these helpers, so a bad value always produces the same kind
of message: the parameter's name, the value received and the allowed range.  The CLI turns a
:class:`ParameterError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

import functools
import inspect
import math
from numbers import Real

__all__ = ["ParameterError", "attribute_to_given", "require_integer", "require_range"]


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
    # integers print in full (a seed bound of 2**63 - 1 must not read as 9.22337e+18), unless absurdly long
    if isinstance(value, int):
        if abs(value) < 10**21:
            return str(value)
        digits = len(str(abs(value))) if abs(value) < 10**4000 else None  # str() of > 4300 digits is refused
        if digits is None:
            return f"{'-' if value < 0 else ''}10^(>4000)"
        return f"{'-' if value < 0 else ''}{str(abs(value))[0]}.{str(abs(value))[1:3]}e+{digits - 1}"
    return f"{value:g}"


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
    if isinstance(value, (str, bytes)) and len(value) > 400:  # float() of a megabyte of digits is slow
        raise ParameterError(name, f"expected a number in {interval}, got {_short(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range (~1.8e308)
        raise ParameterError(name, f"must be finite and in {interval}, got {_short(value)}") from None
    except (TypeError, ValueError):
        raise ParameterError(name, f"expected a number in {interval}, got {_short(value)}") from None
    if not math.isfinite(number):
        raise ParameterError(name, f"must be finite and in {interval}, got {_short(value)}")
    too_low = low is not None and (number < low or (low_open and number == low))
    too_high = high is not None and (number > high or (high_open and number == high))
    if too_low or too_high:
        raise ParameterError(name, f"must be in {interval}, got {number:g}")
    return number


def require_integer(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``, else raise :class:`ParameterError`."""
    interval = _interval(low, high, low is None, high is None)
    if isinstance(value, bool) or not isinstance(value, (int, Real, str)):
        raise ParameterError(name, f"expected an integer in {interval}, got {_short(value)}")
    if isinstance(value, int):
        integer = int(value)  # exact, even beyond the float range
    else:
        try:
            integer = int(value.strip()) if isinstance(value, str) else None
        except ValueError:
            integer = None
        if integer is None:
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise ParameterError(name, f"expected an integer in {interval}, got {_short(value)}") from None
            if not math.isfinite(number) or number != int(number):
                raise ParameterError(name, f"expected an integer in {interval}, got {_short(value)}")
            integer = int(number)
    if (low is not None and integer < low) or (high is not None and integer > high):
        raise ParameterError(name, f"must be an integer in {interval}, got {_number_text(integer)}")
    return integer


def _short(value) -> str:
    """``repr`` of a value, shortened so that an error message stays one readable line."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _number_text(value)
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _log_distance(value, reference) -> float:
    value = getattr(value, "value", value)  # a Quantity: its number in the unit the caller chose
    try:
        value, reference = float(value), float(reference)
    except (TypeError, ValueError, OverflowError):
        return math.inf if isinstance(value, int) else -1.0  # an int beyond the float range is the most extreme
    if not (value > 0 and reference > 0 and math.isfinite(value)):
        return -1.0
    return abs(math.log(value) - math.log(reference))


def _is_default(value, default) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:  # arrays, quantities: compared elementwise, never "the default"
        return False


def attribute_to_given(references: dict, check=None):
    """Decorator: a failure deep inside a public function is reported against an argument the caller gave.

    A :class:`ParameterError` about an internal quantity (e.g. the spectrum's ``lmin_over_lmax`` chosen
    automatically, a ``source`` that overflowed), an ``OverflowError``, ``FloatingPointError`` or
    ``ZeroDivisionError`` is re-raised as a :class:`ParameterError` naming the argument the caller passed that is
    furthest, in log scale, from its entry in ``references`` (the value a typical call uses), with the original
    reason.  Errors that already name an argument with a value (passed or default, not None) pass unchanged.
    numpy floating-point warnings are silenced inside the call (its results are checked instead):
    ``check(result, arguments)`` may raise a :class:`ParameterError` for a result that is not finite, which is
    attributed the same way.

    Examples
    --------
    >>> @attribute_to_given({"x": 1.0})
    ... def reciprocal(x=1.0):
    ...     return require_range("y", 1.0 / x, high=1e300)
    >>> try:
    ...     reciprocal(x=1e-320)
    ... except ParameterError as error:
    ...     print(error.name)
    x
    """
    import numpy as np

    def decorate(function):
        signature = inspect.signature(function)

        def blame(given, used, error):
            if isinstance(error, ParameterError) and used.get(error.name) is not None:
                return error  # about an argument with a value (given or default), not one chosen internally
            candidates = {name: _log_distance(given[name], reference) for name, reference in references.items()
                          if name in given}
            if not candidates or max(candidates.values()) <= 0:
                return error if isinstance(error, ParameterError) else ParameterError("arguments", str(error))
            culprit = max(candidates, key=candidates.get)
            return ParameterError(culprit, f"{_short(given[culprit])} is outside what this computation can handle "
                                  f"({error})")

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
                passed = dict(bound.arguments)
                bound.apply_defaults()
                used = dict(bound.arguments)
                given = {name: value for name, value in passed.items()
                         if not _is_default(value, signature.parameters[name].default)}
            except TypeError:
                return function(*args, **kwargs)  # let Python report the wrong call
            try:
                with np.errstate(all="ignore"):
                    result = function(*args, **kwargs)
                    if check is not None:
                        check(result, given)
                return result
            except (ParameterError, OverflowError, FloatingPointError, ZeroDivisionError) as error:
                raise blame(given, used, error) from None

        return wrapper

    return decorate
