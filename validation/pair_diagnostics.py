r"""Which approximation of the pair-correlation closures fails: a decomposition on the pair instrument's data.

The closures of :mod:`anisotropy.pair_correlation` turn the exact identity

.. math:: C(x; T) = v^2\int_0^T\!\!\int_0^T \langle g_A(t_1)\,g_B(t_2)\rangle_x\,dt_1\,dt_2,
          \qquad g = \hat G\cdot\hat d,

into a prediction with three approximations (``docs/physics/pair_correlation.md``, sect. 2): (a) isotropic pair
statistics, (b) factorised ages, (c) a generator for the equal-age pair correlation.  One run of the pair
instrument (``cr-anisotropy simulate pairs``, which records every term of the identity) lets each be removed in
turn with *measured* input, for G along B0:

1. ``exact``: :math:`C_\ell` of :math:`\langle I_A I_B\rangle`, the map's own pair correlation (the identity);
2. ``two_time``: the trapezoid double integral of the recorded :math:`\langle g_A(t_i) g_B(t_j)\rangle` (checks
   that the output-age grid resolves the two-time correlation, so 3 and 4 are not limited by it);
3. ``factorised``: approximation (b) alone, with the measured equal-age correlation :math:`E(x; t) = \langle
   g_A(t)g_B(t)\rangle_x` and the measured single-particle regression
   :math:`\langle g_A(t_2) g_A(t_1)\rangle/\langle g_A(t_2)^2\rangle` for the unequal-age decay;
4. ``isotropised``: (a) and (b), :math:`E` replaced by :math:`\langle\hat d_A\cdot\hat d_B\rangle/3 =
   (E_\parallel + 2E_\perp)/3` (the two transverse axes are equivalent in the ensemble).

What is left, (c), is compared directly: the measured equal-age coefficients :math:`y_\ell(t) = M_{\ell 1}(t)`
(the ℓ₀ = 1 column of the measured mixing matrix) against :func:`anisotropy.pair_correlation.equal_age_correlation`
of each closure, and the closures' :math:`C_\ell/C_1` at the same T.

Error model: realisations are independent; every quantity is evaluated on the ensemble mean and its standard error
is the delete-one jackknife over realisations (ratios included, so the correlation of C_ℓ with C_1 is carried).
Sampling noise common to the four estimates (the same pairs) largely cancels in their differences, which the
jackknife of the differences would show; only the estimates' own errors are reported.

Results: ``docs/validation/pair_diagnostics.md``; ``python -m validation.pair_diagnostics DIR`` reruns the committed
cases (:data:`RUNS`, ~50 min on two cores; resumable) into ``DIR`` and rewrites the committed JSON and tables.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from anisotropy.legendre import legendre_table

from .simulator.pairs import mixing_matrix, pair_angular_power
from .simulator.store import read_realisation

__all__ = [
    "decompose",
    "equal_age_coefficients",
    "factorised_correlation",
    "load_realisations",
    "markdown_tables",
    "pair_separation",
    "relative_displacement",
    "run",
    "run_provenance",
    "trapezoid_weights",
    "two_time_pair_correlation",
]

#: index of G along B0 in the instrument's gradient axis (``validation.simulator.pairs.GRADIENT_NAMES``)
ALONG, ACROSS = 0, 1
#: multipoles reported; the 16-node instrument resolves ℓ well below 16 and ℓ ≤ 8 carries the closures' misfit
REPORT_LMAX = 8
#: ℓmax of the closures' equal-age coefficients and C_ℓ (absorbing boundary; as validation.closures.THEORY_LMAX
#: the compared ℓ ≤ 8 move by ≤ 10 % from 64 to 128, far below the ×3-10 misfits found)
THEORY_LMAX = 64
#: ages (in units of the QLT scattering time τ_s) at which y_ℓ(t) are tabulated
REPORT_AGES_TAU = (0.25, 0.5, 1.0, 2.0, 4.0)
#: the late-age summary: decay rate of y_1 between these two ages (units of τ_s), and the log-slope of y_ℓ/y_1 over
#: ℓ = 2…6 at the later one (the shape of the pair correlation's slowest mode, where the closures fail)
LATE_AGES_TAU = (1.0, 2.0)
SHAPE_ELLS = (2, 3, 4, 5, 6)
#: opening angles (degrees) of the pairs whose separation growth is tabulated: the closest nodes of a 16-node
#: instrument (8.3°), a middle one (30°) and a wide one (63°); the nearest node is used
SEPARATION_ANGLES = (8.3, 30.0, 62.7)
#: ℓ0 shown in the profile of ⟨P_ℓ0(x′)⟩/P_ℓ0(x) of the closest pairs
PROFILE_ORDERS = (1, 2, 4, 6, 8, 10, 12)
#: name of the package's default closure in the comparison (the mixing-matrix ODE at the default pair time)
ONE_DELTA_T = "one-ΔT"
#: suffix of a closure evaluated with only the resonant modes (k r_g ≥ Ω0/Ω) as turbulence and the rest of the power
#: in the guiding field (``slab_pair_increments(..., resonant_only=True)``; slab only)
RESONANT_SUFFIX = "-resonant"
#: closures compared: the default, the two age-dependent candidates of docs/validation/closures.md, and those two
#: with the large scales as a local mean field
CLOSURES = (ONE_DELTA_T, "born", "normalised", "born" + RESONANT_SUFFIX, "normalised" + RESONANT_SUFFIX)


def _ages(step: float, count: int) -> str:
    return ",".join(f"{step * index:.2f}" for index in range(1, count + 1))


#: the committed runs: ``cr-anisotropy simulate pairs`` arguments (G along B0 is analysed); the same L_min/L_max and
#: modes per decade as the stored report (docs/validation/closures.md) or the campaign at r_g/L_c = 0.01, T ≈ 5 τ_s
#: on 40 evenly spaced ages (the two-time quadrature needs them; ≤ 0.2 τ_s apart)
RUNS = {
    "slab_eta0.5_rho0.1": ["--turbulence", "slab", "--eta", "0.5", "--rigidity", "0.1", "--lmin-over-lmax", "0.01",
                           "--modes-per-decade", "64", "--realisations", "64", "--seed", "20261205",
                           "--pairs", "8192", "--times", _ages(0.2, 40)],
    "slab_eta0.5_rho0.3": ["--turbulence", "slab", "--eta", "0.5", "--rigidity", "0.3", "--lmin-over-lmax", "0.01",
                           "--modes-per-decade", "64", "--realisations", "64", "--seed", "20261207",
                           "--pairs", "8192", "--times", _ages(0.3, 40)],
    "slab_eta0.5_rho0.01": ["--turbulence", "slab", "--eta", "0.5", "--rigidity", "0.01", "--lmin-over-lmax",
                            "0.001", "--modes-per-decade", "32", "--realisations", "32", "--seed", "20261208",
                            "--pairs", "4096", "--times", _ages(0.19, 40)],
    "slab_eta0.1_rho0.1": ["--turbulence", "slab", "--eta", "0.1", "--rigidity", "0.1", "--lmin-over-lmax", "0.01",
                           "--modes-per-decade", "64", "--realisations", "32", "--seed", "20261209",
                           "--pairs", "4096", "--times", _ages(1.0, 39)],
    "isotropic_eta0.5_rho0.1": ["--turbulence", "isotropic", "--eta", "0.5", "--rigidity", "0.1",
                                "--lmin-over-lmax", "0.01", "--modes-per-decade", "64", "--realisations", "16",
                                "--seed", "20261206", "--pairs", "2048", "--times", _ages(0.2, 40)],
    "isotropic_eta0.5_rho0.01": ["--turbulence", "isotropic", "--eta", "0.5", "--rigidity", "0.01",
                                 "--lmin-over-lmax", "0.001", "--modes-per-decade", "32", "--realisations", "12",
                                 "--seed", "20261210", "--pairs", "2048", "--times", _ages(0.19, 40)],
}
#: arguments shared by every run (no --quiet: the ~50 min rerun shows its progress bar)
COMMON_ARGUMENTS = ["--nodes", "16", "--lmax-mixing", "12", "--device", "cpu"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation"


def load_realisations(directory) -> tuple[dict, list[dict]]:
    """The run record (``run.json``) and every stored realisation of a ``simulate pairs`` output directory, each
    checked against its recorded data checksum (:func:`validation.simulator.store.read_realisation`)."""
    directory = Path(directory)
    record = json.loads((directory / "run.json").read_text())
    realisations = []
    for path in sorted((directory / "ensemble_realisations").glob("realisation_*.h5")):
        realisations.append(read_realisation(path))
    if not realisations:
        raise FileNotFoundError(f"{directory}: no stored realisations in ensemble_realisations/")
    return record, realisations


def run_provenance(directory, record: dict, realisations) -> dict:
    """The keys every result of a ``simulate pairs`` directory starts with: its name, the run's parameters, the
    number of realisations read and the package version that produced them."""
    return {"directory": Path(directory).name,
            "parameters": {key: record[key] for key in ("turbulence", "eta", "reduced_rigidity", "lmin_over_lmax",
                                                        "modes_per_decade", "nodes", "pairs", "seed")},
            "realisations": len(realisations), "package_version": record.get("package_version")}


def trapezoid_weights(ages) -> np.ndarray:
    """Weights of the trapezoid rule on the (not necessarily uniform) age grid, first node 0."""
    ages = np.asarray(ages, dtype=float)
    widths = np.diff(ages)
    weights = np.zeros_like(ages)
    weights[:-1] += 0.5 * widths
    weights[1:] += 0.5 * widths
    return weights


def two_time_pair_correlation(direction_correlation, ages) -> np.ndarray:
    r""":math:`C(x; T) \approx \sum_{ij} w_i w_j \langle g_A(t_i) g_B(t_j)\rangle_x` with trapezoid weights w.

    The exact identity evaluated on the instrument's output ages; it equals :math:`\langle I_A I_B\rangle_x` up to
    the trapezoid error of the age grid, realisation by realisation (no sampling noise between the two).

    Parameters
    ----------
    direction_correlation : array (ages, ages, n)
        :math:`\langle g_A(t_i) g_B(t_j)\rangle_{x_k}` for one gradient, ages starting at 0.
    ages : array (ages,)

    Returns
    -------
    ndarray (n,)

    Examples
    --------
    A pair correlation frozen at its initial value integrates to :math:`T^2` times it:

    >>> bool(np.allclose(two_time_pair_correlation(np.full((3, 3, 2), 0.25), [0.0, 1.0, 3.0]), 0.25 * 9.0))
    True
    """
    weights = trapezoid_weights(ages)
    return np.einsum("i,j,ijx->x", weights, weights, np.asarray(direction_correlation, dtype=float))


def factorised_correlation(equal_age, autocorrelation) -> np.ndarray:
    r"""Approximation (b): :math:`\langle g_A(t_i)g_B(t_j)\rangle \approx E(t_m)\,A(t_m, t_n)/A(t_m, t_m)`.

    With :math:`m = \min(i, j)`, :math:`n = \max(i, j)`: the pair's correlation at the younger age carried to the
    older one by the single-particle regression of :math:`g` on its earlier value.  Exact when the later direction
    depends on the pair's state only through the earlier direction of that particle, linearly (e.g. an
    Ornstein-Uhlenbeck velocity, or any rigid rotation).

    Parameters
    ----------
    equal_age : array (ages, n)
        :math:`E(x_k; t_i)`.
    autocorrelation : array (ages, ages)
        :math:`A(t_i, t_j) = \langle g_A(t_i) g_A(t_j)\rangle`.

    Returns
    -------
    ndarray (ages, ages, n)

    Examples
    --------
    An exponential velocity memory, :math:`A \propto e^{-|t_i - t_j|}`, with a pair correlation fixed at age 0:

    >>> ages = np.linspace(0.0, 2.0, 5)
    >>> memory = np.exp(-np.abs(ages[:, None] - ages[None, :])) / 3
    >>> two_time = factorised_correlation(np.full((5, 1), 0.1), memory)
    >>> bool(np.isclose(two_time[4, 1, 0], 0.1 * np.exp(-1.5)))
    True
    """
    equal_age = np.asarray(equal_age, dtype=float)
    autocorrelation = np.asarray(autocorrelation, dtype=float)
    index = np.arange(equal_age.shape[0])
    younger = np.minimum(index[:, None], index[None, :])
    older = np.maximum(index[:, None], index[None, :])
    regression = autocorrelation[younger, older] / np.diagonal(autocorrelation)[younger]
    return equal_age[younger] * regression[..., None]


def equal_age_coefficients(mixing, cosines, weights, lmax: int) -> np.ndarray:
    r""":math:`y_\ell(t) = M_{\ell 1}(t)`: Legendre coefficients of :math:`\langle\hat d_A(t)\cdot\hat d_B(t)\rangle_x`.

    In the normalisation of :func:`anisotropy.pair_correlation.equal_age_correlation` (:math:`y_1(0) = 1`).

    Examples
    --------
    Undeflected pairs keep :math:`g(x) = x`:

    >>> from anisotropy.legendre import gauss_legendre
    >>> x, w = gauss_legendre(8)
    >>> y = equal_age_coefficients(legendre_table(3, x).T[None], x, w, 4)
    >>> bool(np.allclose(y, [[0, 1, 0, 0, 0]]))
    True
    """
    return mixing_matrix(mixing, cosines, weights, lmax)[..., 1]


def _estimates(realisation: dict, lmax: int) -> dict:
    """The four C_ℓ/C_1 estimates and y_ℓ(t) of one realisation, or of an ensemble mean (same keys)."""
    cosines, weights, ages = realisation["cosines"], realisation["weights"], realisation["ages"]
    table = 2.0 * math.pi * legendre_table(lmax, cosines) * weights
    two_time = realisation["direction_correlation"]

    def project(correlation):
        return two_time_pair_correlation(correlation, ages) @ table.T

    exact = pair_angular_power(realisation["integral_correlation"][ALONG, -1],
                               realisation["integral_square_a"][ALONG, -1],
                               realisation["integral_square_b"][ALONG, -1], cosines, weights, lmax)
    equal = realisation["equal_time_correlation"]
    along_auto = realisation["autocorrelation"][ALONG]
    return {
        "exact": exact,
        "two_time": project(two_time[ALONG]),
        "factorised": project(factorised_correlation(equal[ALONG], along_auto)),
        "isotropised": project(factorised_correlation((equal[ALONG] + 2.0 * equal[ACROSS]) / 3.0, along_auto)),
        "y": equal_age_coefficients(realisation["mixing"], cosines, weights, lmax),
    }


#: per-realisation arrays that are the same in every realisation (not averaged)
_SHARED = ("cosines", "weights", "ages")
#: the four estimates of the module docstring, in table order
ESTIMATES = ("exact", "two_time", "factorised", "isotropised")


def _jackknife(realisations, statistic, shared_keys=_SHARED) -> tuple[dict, dict]:
    """Every statistic of the ensemble mean and its delete-one jackknife standard error, in one pass.

    ``statistic(mean)`` returns a dict of arrays; each leave-one-out mean is the total less one realisation.  The
    ``shared_keys`` (grids common to every realisation) are passed through, not averaged.
    """
    count = len(realisations)
    shared = {key: realisations[0][key] for key in shared_keys}
    totals = {key: np.sum([r[key] for r in realisations], axis=0) for key in realisations[0]
              if key not in shared_keys}
    full = {key: np.asarray(item) for key, item in statistic({**{key: total / count for key, total in
                                                                  totals.items()}, **shared}).items()}
    if count < 2:
        return full, {key: np.full_like(item, np.nan, dtype=float) for key, item in full.items()}
    leave_out = [statistic({**{key: (total - realisation[key]) / (count - 1) for key, total in totals.items()},
                            **shared}) for realisation in realisations]
    errors = {}
    for key in full:
        samples = np.array([sample[key] for sample in leave_out])
        errors[key] = np.sqrt((count - 1) / count * np.sum((samples - samples.mean(axis=0)) ** 2, axis=0))
    return full, errors


def _closure_case(record: dict, final_age: float) -> dict:
    """The run's parameters in the stored-case layout that :mod:`validation.closures` builds its pair integrals from."""
    return {"case": {"kind": record["turbulence"], "eta": record["eta"],
                     "reduced_rigidity": record["reduced_rigidity"]},
            "omega_times": [final_age / record["reduced_rigidity"]],
            "config": {"turbulence": {"lmin_over_lmax": record["lmin_over_lmax"],
                                      "modes_per_decade": record["modes_per_decade"]}}}


def _closures(record: dict, ages, closures, lmax: int, theory_lmax: int, aligned_order: int) -> dict:
    from anisotropy.pair_correlation import (
        age_grid,
        equal_age_correlation,
        generator_from_increments,
        pair_correlation_cl,
        slab_pair_increments,
    )

    from .closures import _increments, _qlt_rate

    case = _closure_case(record, float(ages[-1]))
    omega_ages = np.asarray(ages) / record["reduced_rigidity"]  # Ω = c/r_g = 1/ρ in units of c/L_c
    pair_integrals = {"full": _increments(case, theory_lmax)}
    if record["turbulence"] == "slab" and any(name.endswith(RESONANT_SUFFIX) for name in closures):
        pair_integrals["resonant"] = slab_pair_increments(
            record["reduced_rigidity"], record["eta"], age_grid(omega_ages[-1]), theory_lmax,
            lmin_over_lmax=record["lmin_over_lmax"], modes_per_decade=record["modes_per_decade"],
            resonant_only=True)
    out = {}
    for name in closures:
        if name == ONE_DELTA_T:
            out[name] = _one_delta_t(record, omega_ages, lmax, theory_lmax, _qlt_rate(case), aligned_order)
            continue
        closure = name.removesuffix(RESONANT_SUFFIX)
        increments = pair_integrals.get("full" if closure == name else "resonant")
        if increments is None:  # the resonant-mode variant exists for slab turbulence only
            continue
        nu = increments.markov_self_rate if closure == "born" else _qlt_rate(case)
        generators = [generator_from_increments(increments, piece, closure, nu, theory_lmax)
                      for piece in range(increments.ages.size)]
        cl = pair_correlation_cl(generators, increments.ages, nu, [omega_ages[-1]])[0]
        coefficients = equal_age_correlation(generators, increments.ages, omega_ages)
        out[name] = {"decay_rate_omega": float(nu), "ratio": (cl / cl[1])[1 : lmax + 1],
                     "y": coefficients[:, : lmax + 1], "y_all": coefficients,
                     "aligned_column": equal_age_correlation(generators, increments.ages, omega_ages,
                                                             initial=aligned_order)}
    return out


def _one_delta_t(record: dict, omega_ages, lmax: int, theory_lmax: int, nu: float, aligned_order: int) -> dict:
    """The package's default closure (one ΔT at the default prefactor; Markov in the current pair cosine)."""
    import scipy.linalg

    from anisotropy.mixing import rate_matrix
    from anisotropy.pair_correlation import constant_generator_cl
    from anisotropy.pair_rates import PairRate

    modes = {"lmin_over_lmax": record["lmin_over_lmax"], "modes_per_decade": record["modes_per_decade"]}
    if record["turbulence"] == "slab":
        rate = PairRate.slab(record["reduced_rigidity"], record["eta"], **modes)
    else:  # as validation.closures and predict_cl
        rate = PairRate.isotropic(record["reduced_rigidity"], eta=record["eta"], resolution=0.5, **modes)
    gamma = rate_matrix(rate, theory_lmax)
    cl = constant_generator_cl(gamma, nu, [omega_ages[-1]])[0]
    coefficients = np.zeros((len(omega_ages), theory_lmax + 1))
    aligned = np.zeros_like(coefficients)
    for index, age in enumerate(omega_ages):
        propagator = scipy.linalg.expm(gamma[1:, 1:] * age)
        coefficients[index, 1:] = propagator[:, 0]
        aligned[index, 1:] = propagator[:, aligned_order - 1]
    return {"decay_rate_omega": float(nu), "ratio": (cl / cl[1])[1 : lmax + 1], "y": coefficients[:, : lmax + 1],
            "y_all": coefficients, "aligned_column": aligned}


def relative_displacement(integral_correlation, square_a, square_b, cosines, ages) -> np.ndarray:
    r""":math:`\langle(\Delta z_A - \Delta z_B)^2\rangle_x` over its unperturbed-helix value :math:`\tfrac23(1-x)t^2`.

    With :math:`I = \hat G\cdot\mathbf R` for G along B0 (:math:`I = \Delta z`), the pair's mean squared relative
    displacement along B0 is :math:`\langle I_A^2\rangle + \langle I_B^2\rangle_x - 2\langle I_AI_B\rangle_x`.  Born's
    closures assume unperturbed helices, :math:`\Delta z_A - \Delta z_B = v(\mu_A - \mu_B)t` with
    :math:`\langle(\mu_A-\mu_B)^2\rangle_x = \tfrac23(1-x)`; the ratio is 1 for them.

    Parameters
    ----------
    integral_correlation, square_b : array (ages, n)
    square_a : array (ages,)
    cosines : array (n,)
    ages : array (ages,)
        Ages > 0 (the ratio is undefined at age 0).

    Examples
    --------
    Helices with conserved μ (v = 1): :math:`I = \mu t`, so the ratio is 1 whenever the pair moments are those of
    random orientations, :math:`\langle\mu_A^2\rangle = \tfrac13`, :math:`\langle\mu_A\mu_B\rangle = x/3`:

    >>> ages, cosines = np.array([1.0, 2.0]), np.array([0.0, 0.9])
    >>> squares = ages[:, None] ** 2 / 3 * np.ones(2)
    >>> ratio = relative_displacement(squares * cosines, ages**2 / 3, squares, cosines, ages)
    >>> bool(np.allclose(ratio, 1.0))
    True
    """
    ages = np.asarray(ages, dtype=float)
    cosines = np.asarray(cosines, dtype=float)
    relative = (np.asarray(square_a, dtype=float)[:, None] + np.asarray(square_b, dtype=float)
                - 2.0 * np.asarray(integral_correlation, dtype=float))
    return relative / (2.0 / 3.0 * (1.0 - cosines)[None, :] * ages[:, None] ** 2)


def pair_separation(pair_function, cosines) -> np.ndarray:
    r"""Growth of a pair's angular separation, :math:`(1 - \langle x'\rangle)/(1 - x)` at each node.

    1 while the pair is undeflected or rotates rigidly; :math:`1/(1 - x)` once the pair is uncorrelated
    (:math:`\langle x'\rangle = 0`).  For small angles it is :math:`\langle\theta'^2\rangle/\theta^2`.

    Parameters
    ----------
    pair_function : array (..., n)
        :math:`g(x_j) = \langle x'\rangle_{x_j}` (the instrument's ``mixing[..., 1]``, or a closure's
        :math:`\sum_\ell\frac{2\ell+1}{3}y_\ell P_\ell(x_j)`).
    cosines : array (n,)

    Examples
    --------
    >>> bool(np.allclose(pair_separation(np.array([0.5, 0.0]), np.array([0.5, 0.9])), [1.0, 10.0]))
    True
    """
    cosines = np.asarray(cosines, dtype=float)
    return (1.0 - np.asarray(pair_function, dtype=float)) / (1.0 - cosines)


def decompose(directory, closures=CLOSURES, lmax: int = REPORT_LMAX,
              theory_lmax: int = THEORY_LMAX) -> dict:
    """The decomposition of the module docstring for one ``simulate pairs`` output directory (G along B0)."""
    from .closures import _qlt_rate

    record, realisations = load_realisations(directory)
    ages, cosines = realisations[0]["ages"], realisations[0]["cosines"]
    tau_s = record["reduced_rigidity"] / _qlt_rate(_closure_case(record, float(ages[-1])))  # L_c/c
    rows = sorted({int(np.argmin(np.abs(ages - factor * tau_s))) for factor in REPORT_AGES_TAU
                   if factor * tau_s <= ages[-1] * 1.0001})
    early, late = (int(np.argmin(np.abs(ages - factor * tau_s))) for factor in LATE_AGES_TAU)
    shape_ells = np.array([ell for ell in SHAPE_ELLS if ell <= lmax])
    nodes = sorted({int(np.argmin(np.abs(np.degrees(np.arccos(cosines)) - angle))) for angle in SEPARATION_ANGLES},
                   reverse=True)
    closest = int(np.argmax(cosines))
    aligned_order = realisations[0]["mixing"].shape[-1] - 1  # the highest recorded ℓ0
    closest_legendre = legendre_table(max(theory_lmax, aligned_order), cosines[closest:closest + 1])[:, 0]

    def late_summary(y_of_t):
        # nan where noise makes a coefficient non-positive (then the number is not measured)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.log(y_of_t[early, 1] / y_of_t[late, 1]) / (ages[late] - ages[early]) * tau_s
            shape = np.log(y_of_t[late, shape_ells] / y_of_t[late, 1])
        slope = np.polyfit(np.log(shape_ells), shape, 1)[0] if np.all(np.isfinite(shape)) else np.nan
        return np.array([rate, slope])

    def statistics(mean):
        estimates = _estimates(mean, lmax)
        along = {name: mean[name][ALONG][rows] for name in ("integral_correlation", "integral_square_a",
                                                             "integral_square_b")}
        return {
            "ratio": np.array([estimates[key][1:] / estimates[key][1] for key in ESTIMATES]),
            "c1": np.array([estimates[key][1] / estimates["exact"][1] for key in ESTIMATES]),
            "y": estimates["y"],
            "late": late_summary(estimates["y"]),
            "separation": pair_separation(mean["mixing"][rows][:, nodes, 1], cosines[nodes]),
            "displacement": relative_displacement(along["integral_correlation"][:, nodes],
                                                  along["integral_square_a"], along["integral_square_b"][:, nodes],
                                                  cosines[nodes], ages[rows]),
            # ⟨g_A g_B⟩ along and across B0 relative to its undeflected value x/3
            "retention": mean["equal_time_correlation"][:, rows][:, :, nodes] / (cosines[nodes] / 3.0),
            "profile": mean["mixing"][rows, closest, 1:] / closest_legendre[1 : aligned_order + 1],
        }

    value, error = _jackknife(realisations, statistics)
    theory = _closures(record, ages, closures, lmax, theory_lmax, aligned_order)
    # closures: <P_L(x')> = Σ_ℓ (2ℓ+1)/(2L+1) M_ℓL P_ℓ(x) (anisotropy.pair_correlation.equal_age_correlation)
    column_weights = (2.0 * np.arange(theory_lmax + 1) + 1.0) / (2.0 * aligned_order + 1.0)
    closure_aligned = {name: ((column_weights * result["aligned_column"][rows]) @ closest_legendre[: theory_lmax + 1]
                              / closest_legendre[aligned_order]).tolist() for name, result in theory.items()}
    legendre = legendre_table(theory_lmax, cosines[nodes])  # (ℓ, nodes)
    weights = (2.0 * np.arange(theory_lmax + 1) + 1.0) / 3.0
    closure_separation = {name: pair_separation((weights * result["y_all"][rows]) @ legendre,
                                                cosines[nodes]).tolist() for name, result in theory.items()}
    late_value, late_error = value["late"], error["late"]
    return {
        **run_provenance(directory, record, realisations),
        "final_age": float(ages[-1]),
        "tau_s_qlt": float(tau_s),
        "ells": list(range(1, lmax + 1)),
        "ratio": {key: value["ratio"][index].tolist() for index, key in enumerate(ESTIMATES)},
        "ratio_error": {key: error["ratio"][index].tolist() for index, key in enumerate(ESTIMATES)},
        "c1_over_exact": dict(zip(ESTIMATES, value["c1"].tolist(), strict=True)),
        "c1_over_exact_error": dict(zip(ESTIMATES, error["c1"].tolist(), strict=True)),
        # null where a closure's C_ℓ are not finite (the isotropic Born self rate diverges beyond the last age of
        # its pair quadrature, validation.closures.MAX_ISOTROPIC_AGE, docs/validation/closures.md)
        "closure_ratio": {name: result["ratio"].tolist() if np.all(np.isfinite(result["ratio"])) else None
                          for name, result in theory.items()},
        "closure_decay_rate_omega": {name: result["decay_rate_omega"] for name, result in theory.items()},
        "y_ages": ages[rows].tolist(),
        "y": value["y"][rows, 1:].tolist(),
        "y_error": error["y"][rows, 1:].tolist(),
        "closure_y": {name: result["y"][rows, 1:].tolist() for name, result in theory.items()},
        "separation_angles_deg": np.degrees(np.arccos(cosines[nodes])).tolist(),
        "separation": value["separation"].tolist(),
        "separation_error": error["separation"].tolist(),
        "closure_separation": closure_separation,
        "component_retention": {"along": value["retention"][ALONG].tolist(),
                                "across": value["retention"][ACROSS].tolist()},
        "component_retention_error": {"along": error["retention"][ALONG].tolist(),
                                      "across": error["retention"][ACROSS].tolist()},
        "aligned": {"order": aligned_order, "angle_deg": float(np.degrees(np.arccos(cosines[closest]))),
                    "measured": value["profile"][:, -1].tolist(), "measured_error": error["profile"][:, -1].tolist(),
                    "profile": value["profile"].tolist(),
                    "closures": closure_aligned},
        "relative_displacement": value["displacement"].tolist(),
        "relative_displacement_error": error["displacement"].tolist(),
        "late": {"ages": [float(ages[early]), float(ages[late])],
                 "y1_decay_rate_tau_s": _measured(late_value[0], late_error[0]),
                 "y1_decay_rate_tau_s_error": _measured(late_error[0], late_value[0]),
                 "shape_slope": _measured(late_value[1], late_error[1]),
                 "shape_slope_error": _measured(late_error[1], late_value[1]),
                 "closures": {name: dict(zip(("y1_decay_rate_tau_s", "shape_slope"),
                                             late_summary(result["y"]).tolist(), strict=True))
                              for name, result in theory.items()}},
    }


def _measured(value, partner) -> float | None:
    """``value``, or None (JSON null) where it or its partner (value/error) is not finite: not measured."""
    return float(value) if np.isfinite(value) and np.isfinite(partner) else None


def _chi2(model, data, error) -> float:
    model, data, error = (np.asarray(v, dtype=float)[1:] for v in (model, data, error))  # ℓ ≥ 2
    return float(np.sum(((model - data) / error) ** 2))


def _title(result) -> str:
    p = result["parameters"]
    return (f"### {p['turbulence']} η = {p['eta']}, r_g/L_c = {p['reduced_rigidity']} "
            f"({result['realisations']} realisations × {p['pairs']} pairs × {p['nodes']} nodes, "
            f"T = {result['final_age']:g} L_c/c = {result['final_age'] / result['tau_s_qlt']:.2f} τ_s)")


def _ratio_table(result) -> list[str]:
    lines = ["C_ℓ/C_1 at T, ℓ = 2…8 (± jackknife); χ² against `exact` over ℓ = 2…8, diagonal; C_1 relative to "
             "`exact` (the closures' C_1 is in other units and not compared here)", "",
             "| estimate | " + " | ".join(f"ℓ={ell}" for ell in result["ells"][1:]) + " | χ²/dof | C_1/exact |",
             "|---|" + "---|" * (len(result["ells"]) + 1)]
    exact, exact_error = result["ratio"]["exact"], result["ratio_error"]["exact"]
    for key, values in result["ratio"].items():
        cells = [f"{v:.4f} ± {e:.4f}" for v, e in zip(values[1:], result["ratio_error"][key][1:], strict=True)]
        chi2 = "–" if key == "exact" else f"{_chi2(values, exact, exact_error):.1f}/{len(values) - 1}"
        dipole = (f"{result['c1_over_exact'][key]:.3f} ± {result['c1_over_exact_error'][key]:.3f}"
                  if key != "exact" else "1")
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {chi2} | {dipole} |")
    for name, values in result["closure_ratio"].items():
        if values is None:
            cells, chi2 = ["not finite"] * (len(result["ells"]) - 1), "–"
        else:
            cells = [f"{v:.4f}" for v in values[1:]]
            chi2 = f"{_chi2(values, exact, exact_error):.1f}/{len(values) - 1}"
        lines.append(f"| closure: {name} | " + " | ".join(cells) + f" | {chi2} | – |")
    return lines


def _age_table(result, header: str, columns: list[str], cell) -> list[str]:
    """One row per tabulated age: ``cell(row, column)`` for each column."""
    lines = ["", header, "", "| age (L_c/c) | t/τ_s | " + " | ".join(columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for row, age in enumerate(result["y_ages"]):
        cells = [cell(row, column) for column in range(len(columns))]
        lines.append(f"| {age:.2f} | {age / result['tau_s_qlt']:.2f} | " + " | ".join(cells) + " |")
    return lines


def _late_line(result) -> str:
    late = result["late"]

    def measured(key):
        value, error = late[key], late[key + "_error"]
        return "not measured (noise)" if value is None else f"{value:.2f} ± {error:.2f}"

    closures = "; ".join(f"{name} {value['y1_decay_rate_tau_s']:.2f} and {value['shape_slope']:.2f}"
                         for name, value in late["closures"].items())
    return (f"Late ages: y_1 decays at {measured('y1_decay_rate_tau_s')} per τ_s between t = {late['ages'][0]:.2f} "
            f"and {late['ages'][1]:.2f} L_c/c; at the later age y_ℓ/y_1 ∝ ℓ^s over ℓ = 2…6 with s = "
            f"{measured('shape_slope')} (closures: {closures}).")


def markdown_tables(results) -> str:
    """Tables of :func:`run`'s results for ``docs/validation/pair_diagnostics.md``."""
    lines = []
    for result in results:
        names = list(result["closure_y"])
        shown = min(6, len(result["ells"]))
        angles = [f"{angle:.1f}°" for angle in result["separation_angles_deg"]]

        def y_cell(row, ell, result=result):
            theory = " / ".join(f"{result['closure_y'][name][row][ell]:.3g}" for name in result["closure_y"])
            return f"{result['y'][row][ell]:.3g} ± {result['y_error'][row][ell]:.2g} / {theory}"

        def separation_cell(row, node, result=result):
            theory = " / ".join(f"{values[row][node]:.3g}" for values in result["closure_separation"].values())
            return f"{result['separation'][row][node]:.3g} ± {result['separation_error'][row][node]:.2g} / {theory}"

        def displacement_cell(row, node, result=result):
            return (f"{result['relative_displacement'][row][node]:.3g} ± "
                    f"{result['relative_displacement_error'][row][node]:.2g}")

        lines += [_title(result), "", *_ratio_table(result)]
        lines += _age_table(result, f"Equal-age pair correlation y_ℓ(t) = M_ℓ1(t), ℓ = 1…{shown}: measured "
                            "(± jackknife) / " + " / ".join(names), [f"ℓ={ell}" for ell in range(1, shown + 1)],
                            y_cell)
        lines += _age_table(result, "Separation growth (1 − ⟨x′⟩)/(1 − x) of pairs opened by " + ", ".join(angles)
                            + ": measured (± jackknife) / " + " / ".join(names)
                            + " (1: rigid; 1/(1 − x): uncorrelated)", angles, separation_cell)
        def retention_cell(row, node, result=result):
            along, across = result["component_retention"]["along"], result["component_retention"]["across"]
            errors = result["component_retention_error"]
            return (f"{along[row][node]:.3g} ± {errors['along'][row][node]:.2g} / "
                    f"{across[row][node]:.3g} ± {errors['across'][row][node]:.2g}")

        lines += _age_table(result, "Equal-age correlation along / across B0, ⟨g_A g_B⟩ over its undeflected value "
                            "x/3 (the isotropisation (a) treats them alike)", angles, retention_cell)
        aligned = result["aligned"]

        def aligned_cell(row, column, result=result):
            aligned = result["aligned"]
            if column == 0:
                return f"{aligned['measured'][row]:.3g} ± {aligned['measured_error'][row]:.2g}"
            return f"{list(aligned['closures'].values())[column - 1][row]:.3g}"

        lines += _age_table(result, f"Pairs still aligned: ⟨P_L(x′)⟩/P_L(x) at L = {aligned['order']} for the "
                            f"{aligned['angle_deg']:.1f}° pairs (1: rigid; a plateau in L means a fraction that has "
                            "not moved; a diffusive spread gives e^(−L²σ²/2))",
                            ["measured", *aligned["closures"]], aligned_cell)
        orders = [order for order in PROFILE_ORDERS if order <= aligned["order"]]
        lines += _age_table(result, "The same pairs, ⟨P_ℓ0(x′)⟩/P_ℓ0(x) against ℓ0 (measured; a diffusive spread "
                            "falls off with ℓ0, a population that has not moved makes a plateau)",
                            [f"ℓ0={order}" for order in orders],
                            lambda row, column, result=result, orders=orders:
                            f"{result['aligned']['profile'][row][orders[column] - 1]:.3g}")
        lines += _age_table(result, "Relative displacement along B0 of the same pairs, ⟨(Δz_A − Δz_B)²⟩ over its "
                            "unperturbed-helix value (2/3)(1 − x)v²t² (1 for every closure here; ± jackknife)",
                            angles, displacement_cell)
        lines += ["", _late_line(result), ""]
    return "\n".join(lines)


def simulate(root, names=None, executor: str = "process", workers: int | None = None, *,
             runs: dict | None = None) -> list[Path]:
    """Run (or resume) the committed cases of ``runs`` (default :data:`RUNS`) into ``root/NAME`` with the package's
    CLI, each with :data:`COMMON_ARGUMENTS` (a run's own arguments come later and override them)."""
    from anisotropy.cli import main

    runs = RUNS if runs is None else runs
    directories = []
    for name in names or runs:
        out = Path(root) / name
        argv = ["simulate", "pairs", *COMMON_ARGUMENTS, *runs[name], "--executor", executor, "--out", str(out)]
        if workers is not None:
            argv += ["--workers", str(workers)]
        status = main(argv)
        if status:
            raise RuntimeError(f"simulate pairs failed for {name} (exit {status})")
        directories.append(out)
    return directories


def run(directories, out_json, out_markdown=None, **options) -> list[dict]:
    """Decompose every run directory; write the JSON (and the tables) atomically."""
    from anisotropy.io import atomic_output

    results = [decompose(directory, **options) for directory in directories]
    with atomic_output(Path(out_json)) as temporary:
        Path(temporary).write_text(json.dumps(results, indent=1) + "\n")
    if out_markdown is not None:
        with atomic_output(Path(out_markdown)) as temporary:
            Path(temporary).write_text(markdown_tables(results))
    return results


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    import sys

    if len(sys.argv) != 2:
        print("usage: python -m validation.pair_diagnostics DIR (the run directories go under DIR)", file=sys.stderr)
        raise SystemExit(2)
    run(simulate(sys.argv[1]), DOCS / "pair_diagnostics.json", DOCS / "pair_diagnostics_tables.md")
