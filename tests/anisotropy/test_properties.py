"""Property-based tests (issue 14, item 4): every generated input to the CLI parsers and the public API either
succeeds with finite outputs or raises ParameterError naming a parameter -- never another exception, never a
negative, NaN or inf C_l (anisotropy/cli, errors.py, predict.py, solver.py, mixing.py, units.py)."""

from __future__ import annotations

import contextlib
import inspect
import io
import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import anisotropy as an  # noqa: E402
from anisotropy.cli import build_parser  # noqa: E402
from anisotropy.errors import ParameterError, require_integer, require_range  # noqa: E402

#: steady-state C_l that the rate does not feed come out as +-1e-17 of C_1: rounding, not negative power
#: (anisotropy.solver.NEGATIVE_ROUNDOFF_RTOL is the same bound)
NEGATIVE_ROUNDOFF_RTOL = 1e-10
#: fast properties: small example counts, no deadline (the first call pays numba/scipy imports)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: numbers at and beyond the edges of the float range, and ordinary ones
EXTREME_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 1e-320, -1e-320, 5e-324, 1.7976931348623157e308]),
)
EXTREME_INTEGERS = st.one_of(st.integers(), st.sampled_from([10**400, -(10**400), 2**63, 2**64 + 1]))
#: what a user may type: numbers in any spelling, words, unicode, empty strings, huge digit strings
OPTION_TEXT = st.one_of(
    EXTREME_FLOATS.map(repr),
    EXTREME_INTEGERS.map(str),
    st.text(max_size=30),
    st.sampled_from(["", " ", "nan", "-inf", "1e400", "0x10", "1_000", "10 TeV", "3 uG", "1e4 GeV", "9" * 500]),
)

#: numeric options of every command, with the argv that precedes them and the name used in messages
NUMERIC_OPTIONS = [
    (["predict"], option, name) for option, name in [
        ("--energy", "energy"), ("--charge", "charge"), ("--mass-number", "mass_number"), ("--b-rms", "b_rms"),
        ("--l-c", "l_c"), ("--eta", "eta"), ("--lmin-over-lmax", "lmin_over_lmax"),
        ("--modes-per-decade", "modes_per_decade"), ("--dipole", "dipole"), ("--gradient", "gradient"),
        ("--gradient-angle", "gradient_angle"), ("--pair-time-prefactor", "pair_time_prefactor"), ("--lmax", "lmax"),
    ]
] + [
    (["simulate", kind], option, name) for kind in ("anisotropy", "diffusion") for option, name in [
        ("--eta", "eta"), ("--rigidity", "rigidity"), ("--lmin-over-lmax", "lmin_over_lmax"),
        ("--modes-per-decade", "modes_per_decade"), ("--dt", "dt"), ("--realisations", "realisations"),
        ("--seed", "seed"), ("--workers", "workers"), ("--particles", "particles"), ("--time", "time"),
        ("--n-times", "n_times"),
    ]
] + [
    (["fit", "spectrum.csv"], option, name) for option, name in [
        ("--nside", "nside"), ("--energy", "energy"), ("--b-rms", "b_rms"), ("--grid-points", "grid_points"),
        ("--c1", "c1"), ("--lmin", "lmin"), ("--lmax", "lmax"), ("--mcmc-steps", "mcmc_steps"), ("--seed", "seed"),
    ]
] + [(["validate"], "--seed", "seed"), (["validate"], "--workers", "workers")]


def _parse(argv):
    """(namespace, None) or (None, stderr text) for an argv; any other exception propagates (and fails)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            return build_parser().parse_args(argv), None
        except SystemExit as exit_:
            assert exit_.code == 2
            return None, stderr.getvalue()


@FAST
@given(st.sampled_from(NUMERIC_OPTIONS), OPTION_TEXT)
def test_every_numeric_option_parses_to_a_finite_number_or_one_line_naming_it(case, text):
    prefix, option, name = case
    namespace, error = _parse([*prefix, f"{option}={text}"])
    if namespace is not None:
        value = getattr(namespace, option.lstrip("-").replace("-", "_"))
        assert isinstance(value, int) or math.isfinite(value)
    else:
        assert error.count("\n") == 1 and name in error and "Traceback" not in error and len(error) < 600


@FAST
@given(EXTREME_FLOATS | EXTREME_INTEGERS | st.text(max_size=20) | st.none() | st.booleans())
def test_validators_return_a_finite_value_in_range_or_raise_naming_the_parameter(value):
    try:
        number = require_range("x", value, 0.0, 1e6, low_open=True)
        assert 0.0 < number <= 1e6
    except ParameterError as error:
        assert error.name == "x"
    try:
        integer = require_integer("n", value, 1, 10**6)
        assert 1 <= integer <= 10**6
    except ParameterError as error:
        assert error.name == "n"


PREDICT_PARAMETERS = set(inspect.signature(an.predict_cl).parameters)
#: arguments of predict_cl varied one at a time (the others at their defaults)
PREDICT_ARGUMENTS = st.one_of(
    st.tuples(st.sampled_from(["energy", "b_rms", "l_c", "eta", "dipole", "gradient", "gradient_angle",
                               "pair_time_prefactor", "lmin_over_lmax"]), EXTREME_FLOATS),
    st.tuples(st.sampled_from(["charge", "mass_number", "lmax", "modes_per_decade"]), EXTREME_INTEGERS),
    st.tuples(st.sampled_from(["energy", "b_rms", "l_c"]), st.floats(1e-3, 1e3)),
)


def _check_predict(name, value):
    arguments = {name: value} if name == "lmax" else {name: value, "lmax": 12}
    try:
        cl = an.predict_cl(**arguments).cl[1:]
    except ParameterError as error:
        assert error.name in PREDICT_PARAMETERS, str(error)
        assert "\n" not in str(error)
        return
    assert np.all(np.isfinite(cl)) and np.all(cl >= -NEGATIVE_ROUNDOFF_RTOL * np.max(np.abs(cl)))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PREDICT_ARGUMENTS)
def test_predict_gives_finite_non_negative_cl_or_names_a_parameter(case):
    with np.errstate(all="raise"):  # no floating-point warning escapes either
        _check_predict(*case)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PREDICT_ARGUMENTS)
def test_predict_gives_finite_non_negative_cl_or_names_a_parameter_many_examples(case):
    with np.errstate(all="raise"):
        _check_predict(*case)


@FAST
@given(
    st.integers(2, 12),
    st.floats(-1e3, 1e3) | EXTREME_FLOATS,
    st.floats(0.0, 1e3) | EXTREME_FLOATS,
    st.integers(0, 2**32 - 1),
)
def test_steady_state_of_any_real_matrix_is_finite_and_non_negative_or_refused(lmax, scale, source, seed):
    generator = np.random.default_rng(seed)
    with np.errstate(over="ignore"):  # scale * N(0, 1) may overflow to inf: Gamma must then be refused
        gamma = scale * generator.standard_normal((lmax + 1, lmax + 1))
    gamma[:, 0] = 0.0
    try:
        cl = an.steady_state(gamma, source)
    except ParameterError as error:
        assert error.name in {"Gamma", "source"}
        return
    negative_floor = -NEGATIVE_ROUNDOFF_RTOL * np.max(np.abs(cl[1:]))
    assert np.all(np.isfinite(cl[1:])) and np.all(cl[1:] >= negative_floor)


@FAST
@given(EXTREME_INTEGERS | st.integers(1, 40), st.none() | EXTREME_INTEGERS | st.integers(2, 200),
       st.sampled_from(["auto", "threej", "quadrature", "magic"]))
def test_rate_matrix_is_finite_or_refused_naming_a_parameter(lmax, n_nodes, method):
    try:
        gamma = an.rate_matrix(an.PairRate.toy(), lmax, method=method, n_nodes=n_nodes)
    except ParameterError as error:
        assert error.name in {"lmax", "n_nodes", "method"}
        return
    assert gamma.shape == (lmax + 1, lmax + 1) and np.all(np.isfinite(gamma))


@FAST
@given(st.one_of(EXTREME_FLOATS, st.text(max_size=30),
                 st.sampled_from(["10 TeV", "1e4 GeV", "3 m", "-1 TeV", "nan TeV", "1e400 TeV", "TeV"])))
def test_units_helper_returns_a_number_in_the_unit_or_names_the_parameter(value):
    from anisotropy.units import as_unit

    try:
        converted = as_unit("energy", value, "TeV")
    except ParameterError as error:
        assert error.name == "energy"
        return
    try:
        require_range("energy", converted)
    except ParameterError as error:
        assert error.name == "energy"
