"""Extreme values at the API edge (issue 14): 1e308, 1e-320, integers beyond the float range and absurd sizes
either give finite results or raise ParameterError naming the argument the caller gave; C_l are never returned
negative, NaN or inf (anisotropy/errors.py, predict.py, solver.py, mixing.py, spectrum.py, data/)."""

from __future__ import annotations

import numpy as np
import pytest

import anisotropy as an
from anisotropy.data import load_spectrum
from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.mixing import MEMORY_LIMIT_BYTES, estimated_bytes
from anisotropy.spectrum import mode_count

HUGE_INTEGER = 10**400  # beyond the float range: float() raises OverflowError


def _refused(call, name):
    with pytest.raises(ParameterError) as error:
        call()
    assert error.value.name == name, str(error.value)
    assert "\n" not in str(error.value) and len(str(error.value)) < 400
    return error.value


@pytest.mark.parametrize("value", [HUGE_INTEGER, -HUGE_INTEGER, str(HUGE_INTEGER), 1e308, "1e400", "9" * 5000])
def test_validators_refuse_values_beyond_the_float_range_naming_the_parameter(value):
    _refused(lambda: require_integer("lmax", value, 2, 2000), "lmax")
    _refused(lambda: require_range("energy", value, 0.0, 1e6), "energy")


def test_huge_python_integers_are_compared_exactly_not_through_float():
    assert require_integer("seed", 2**80, 0) == 2**80
    _refused(lambda: require_integer("seed", 2**63, 0, 2**63 - 1), "seed")


@pytest.mark.parametrize(
    "name, value",
    [
        ("energy", 1e-320), ("energy", 1e308), ("b_rms", 1e308), ("b_rms", 1e-320), ("l_c", 1e308),
        ("l_c", 1e-320), ("lmin_over_lmax", 1e-320), ("modes_per_decade", 10**308), ("modes_per_decade", HUGE_INTEGER),
        ("gradient", 1e308), ("gradient", 1e-320), ("dipole", 1e-320), ("pair_time_prefactor", 1e308),
        ("pair_time_prefactor", 1e-320), ("eta", 1e-320), ("lmax", HUGE_INTEGER), ("charge", HUGE_INTEGER),
    ],
)
def test_predict_refuses_extreme_values_naming_the_argument_given(name, value):
    with np.errstate(all="raise"):  # no numpy warning may escape either
        error = _refused(lambda: an.predict_cl(**{name: value}, lmax=20) if name != "lmax" else
                         an.predict_cl(lmax=value), name)
    assert "Traceback" not in str(error)


def test_predict_results_near_the_extremes_that_work_are_finite_and_non_negative():
    for arguments in ({"energy": 1e5}, {"dipole": 1e-100}, {"gradient_angle": 1e-320}, {"b_rms": 1e-1}):
        cl = an.predict_cl(**arguments, lmax=20).cl[1:]
        assert np.all(np.isfinite(cl)) and np.all(cl >= 0) and np.any(cl > 0), arguments


def test_rate_matrix_refuses_a_request_above_the_memory_limit_before_allocating():
    error = _refused(lambda: an.rate_matrix(an.PairRate.toy(), lmax=10**5), "lmax")
    assert "GiB" in str(error)
    _refused(lambda: an.rate_matrix(an.PairRate.toy(), lmax=HUGE_INTEGER), "lmax")
    _refused(lambda: an.rate_matrix(an.PairRate.toy(), lmax=10, n_nodes=10**12), "n_nodes")
    # the documented limit: lmax = 2048 (the converge ceiling) fits, 10**5 (~0.9 TB) does not
    assert estimated_bytes(2048) < MEMORY_LIMIT_BYTES < estimated_bytes(10**5)


def test_mode_count_refuses_an_absurd_spectrum_naming_modes_per_decade():
    _refused(lambda: mode_count(1e-3, 10**308), "modes_per_decade")
    assert mode_count(1e-3, 256) == 768  # 3 decades x 256


@pytest.mark.parametrize("content", [b"ell,cl,cl_err\n1,\xff\xfe,1\n", "ell,cl\n".encode("utf-16")])
def test_non_utf8_spectrum_is_refused_in_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / "spectrum.csv"
    path.write_bytes(content)
    error = _refused(lambda: load_spectrum(path), "spectrum")
    assert str(path) in str(error) and "UTF-8" in str(error)
