r"""Physical parameters in, steady-state :math:`\langle C_\ell\rangle` out: :func:`predict_cl` and :class:`ClResult`.

The chain (``DESIGN.md``, "Data flows one way"):

1. physical inputs (TeV, µG, pc) -> :func:`anisotropy.units.to_reduced`: :math:`r_g/L_c`, :math:`\eta`,
   :math:`\beta`;
2. transport (:mod:`anisotropy.transport`): the diffusion tensor :math:`K` and the scattering time
   :math:`\tau_s = 3\kappa_\parallel/v^2` (PHYSICS 4.6c);
3. the pair-rate model :math:`k(x)` (:class:`anisotropy.pair_rates.PairRate`, PHYSICS 4.4, 4.6) with the pair
   time :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}`;
4. the rate matrix :math:`\Gamma_{\ell\ell_0}` (PHYSICS 4.3) and the steady state of
   :math:`d\langle C_\ell\rangle/dt = \sum_{\ell_0}\Gamma_{\ell\ell_0}\langle C_{\ell_0}\rangle + S\delta_{\ell1}`
   with :math:`S = (8\pi/3)\,\mathbf G\cdot K\cdot\mathbf G` (PHYSICS 4.4).

**Units inside the solve.** Time in :math:`1/\Omega` (the gyrofrequency in :math:`B_\mathrm{tot}`: the pair rates
are in units of :math:`\Omega`), lengths in :math:`L_c`.  Then the speed is :math:`v = r_g/L_c` (because
:math:`\Omega = v/r_g`), :math:`K` is in :math:`L_c^2\Omega`, :math:`|\mathbf G|` in :math:`1/L_c` and :math:`S` in
:math:`\Omega`.  :math:`C_\ell` is dimensionless and does not depend on that choice (both :math:`\Gamma` and
:math:`S` scale with the time unit; ``tests/anisotropy/test_predict.py`` checks it).

**Normalisation.** :math:`C_\ell\propto|\mathbf G|^2`.  :math:`|\mathbf G|` is fixed either by the diffusive dipole
amplitude :math:`|\boldsymbol\delta| = 3|K\cdot\mathbf G|/v` (PHYSICS 3.1, 3.2c; default) or given directly.
Without pair correlations the steady state is the pure dipole :math:`C_1 = (4\pi/9)|\boldsymbol\delta|^2`.

**Closure with a regular field.** With :math:`B_0` the :math:`C_\ell` equation closes only after isotropising the
pair statistics (PHYSICS 4.5), so :math:`\Gamma` does not depend on the angle between :math:`\mathbf G` and
:math:`B_0`; that angle enters only through :math:`K\cdot\mathbf G`.  Both models with a regular field (slab, and
isotropic with η < 1) use :math:`\kappa_\perp = 0` (:func:`_transport`), so a gradient perpendicular to
:math:`B_0` produces neither a dipole nor a source.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import units
from ._version import __version__
from .errors import ParameterError, attribute_to_given, require_integer, require_range
from .io import atomic_output, jsonable

__all__ = [
    "DEFAULT_B_RMS",
    "DEFAULT_DIPOLE",
    "DEFAULT_ENERGY",
    "DEFAULT_ETA",
    "DEFAULT_LMAX",
    "DEFAULT_L_C",
    "MAX_LMAX",
    "MODELS",
    "ClResult",
    "cl_from_rate",
    "dipole_source",
    "predict_cl",
]

# ---------------------------------------------------------------------------------------------------- defaults
#: kinetic energy (TeV) of the default particle: the energy of the HAWC+IceCube combined all-sky analysis
DEFAULT_ENERGY = 10.0
#: total field B_tot = sqrt(B0² + δB²) in µG; the local ISM field is 3-6 µG in total [R: e.g. Beck 2016 review,
#: Jansson & Farrar 2012]; 3 µG is the customary round value
DEFAULT_B_RMS = 3.0
#: correlation length L_c (pc, L_c ≈ L_max/5): an outer scale L_max ≈ 5 pc, the "few parsec" outer scale measured
#: in the spiral arms (Haverkorn et al. 2008, ApJ 680, 362, arXiv:0802.2740); interarm regions show ~100 pc
DEFAULT_L_C = 1.0
#: turbulence level η = δB²/B_tot²: δB = B0, the middle of the Galactic estimates δB/B0 ~ 0.5-2 [R]
DEFAULT_ETA = 0.5
#: diffusive dipole amplitude |δ|: HAWC+IceCube at 10 TeV measure a horizontal dipole of 1.17e-3
#: (arXiv:1812.05682 abstract; components 9.16e-4 and 7.25e-4), a lower bound on |δ|
DEFAULT_DIPOLE = 1.0e-3
DEFAULT_LMAX = 200
#: dense O(lmax³) solve: beyond this one prediction takes tens of seconds and ~100 MB
MAX_LMAX = 2000
#: target k_max r_g when lmin_over_lmax is chosen automatically.  The gyro-resonance needs k_max r_g ≳ 10 (PHYSICS 6,
#: item 1), but the pair rate also feels the small-scale modes through the kink of k(x) at x = 1, which sets the
#: high-ℓ C_ℓ.  Measured at the default parameters (ℓmax = 200), C_ℓ change between k_max r_g = 30 -> 100 -> 300
#: -> 1000 -> 3000 by 14/2.6/0.4/0.05 % at ℓ = 10 and 37/9/2/0.3 % at ℓ = 100; 300 is within ~2.5 % of the limit
#: up to ℓ = 200 at ~1.5 s per prediction (the cost grows faster than linearly with k_max)
K_MAX_GYRORADIUS_TARGET = 300.0
#: upper end of the automatic L_min/L_max: at least two decades of Kolmogorov range even when r_g ≳ L_max
MAX_AUTO_LMIN_OVER_LMAX = 1e-2
#: ``converge=True`` monitors C_1..C_10 (the solver's default set) and accepts a relative change ≤ 1 % per doubling
CONVERGE_MULTIPOLES = 10
CONVERGE_RTOL = 0.01
#: largest ℓmax the doubling may reach: ℓmax = 1600 costs ~10 s for the default slab rate, 3200 over a minute
CONVERGE_LMAX_LIMIT = 2048
MODES_PER_DECADE = 256
MODELS = ("slab", "isotropic")
#: highest charge number accepted (uranium)
MAX_CHARGE = 92


@dataclass(frozen=True)
class ClResult:
    r"""A steady-state angular power spectrum with everything needed to reproduce it.

    Attributes
    ----------
    ell : ndarray of int, shape (lmax+1,)
        Multipoles 0..lmax.
    cl : ndarray of float, shape (lmax+1,)
        :math:`\langle C_\ell\rangle` of the relative intensity, healpy normalisation (PHYSICS 2); ``cl[0]`` is nan
        (the monopole decouples and grows without bound, PHYSICS 4.3).
    params : dict
        ``{"inputs": ..., "derived": ..., "package": ...}``.  ``inputs`` holds every argument of
        :func:`predict_cl` as passed (defaults resolved), so ``predict_cl(**params["inputs"])`` reproduces ``cl``
        exactly; ``derived`` holds the reduced parameters, transport coefficients, :math:`|\mathbf G|`, the source
        and the pair-rate model (all in time unit :math:`1/\Omega`, lengths in :math:`L_c`, unless a key names
        another unit); ``package`` the package name and version.  Nothing depends on the clock, so identical
        inputs give identical files.
    """

    ell: np.ndarray
    cl: np.ndarray
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        ell = np.array(self.ell, dtype=int)
        cl = np.array(self.cl, dtype=float)
        if ell.shape != cl.shape or ell.ndim != 1:
            raise ValueError("ell and cl must be 1-d arrays of the same length")
        ell.setflags(write=False)
        cl.setflags(write=False)
        object.__setattr__(self, "ell", ell)
        object.__setattr__(self, "cl", cl)
        object.__setattr__(self, "params", jsonable(self.params))

    @property
    def lmax(self) -> int:
        return int(self.ell[-1])

    # ------------------------------------------------------------------------------------------------ output
    def to_csv(self, path) -> Path:
        """Write columns ``ell,cl`` (full float precision, ``nan`` for ℓ = 0) atomically; return the path."""
        lines = ["ell,cl"] + [f"{ell},{cl!r}" for ell, cl in zip(self.ell.tolist(), self.cl.tolist())]
        return _atomic_write_text(path, "\n".join(lines) + "\n")

    def to_json(self, path) -> Path:
        """Write :attr:`params` as JSON atomically; return the path."""
        return _atomic_write_text(path, json.dumps(self.params, indent=2, sort_keys=True, allow_nan=True) + "\n")

    def plot(self, ax=None, *, kind: str = "dl", **line_kwargs):
        r"""Plot the spectrum against ℓ on log-log axes and return the axes.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure (pyplot) if None.
        kind : {"dl", "cl"}
            ``"dl"``: :math:`\ell(\ell+1)C_\ell/2\pi`; ``"cl"``: :math:`C_\ell`.
        **line_kwargs
            Passed to ``ax.loglog``.
        """
        if kind not in ("dl", "cl"):
            raise ParameterError("kind", f"must be 'dl' or 'cl', got {kind!r}")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
        ell = self.ell[1:]
        values = self.cl[1:]
        if kind == "dl":
            values = ell * (ell + 1) * values / (2.0 * math.pi)
            ax.set_ylabel(r"$\ell(\ell+1)\,C_\ell/2\pi$")
        else:
            ax.set_ylabel(r"$C_\ell$")
        ax.loglog(ell, values, **line_kwargs)
        # the truncation at lmax is an absorbing boundary (PHYSICS 4.3): the last octave is shaped by it, not physics
        ax.axvspan(self.lmax / 2, self.lmax, color="0.85", alpha=0.6, lw=0,
                   label=r"$\ell > \ell_\max/2$: shaped by the truncation")
        ax.legend(loc="lower left", fontsize="small", frameon=False)
        ax.set_xlabel(r"$\ell$")
        ax.set_title(self.title(), fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
        return ax

    def title(self) -> str:
        """One line naming the physical inputs (used as the plot title)."""
        inputs, derived = self.params.get("inputs", {}), self.params.get("derived", {})
        if not inputs:
            return f"steady-state C_l, lmax = {self.lmax}"
        field = "B0 = 0" if inputs["model"] == "isotropic" and inputs["eta"] == 1.0 else f"η = {inputs['eta']:g}"
        return (
            f"{inputs['model']}: E = {inputs['energy']:g} TeV (Z = {inputs['charge']}, A = {inputs['mass_number']}),"
            f" B = {inputs['b_rms']:g} µG, L_c = {inputs['l_c']:g} pc, {field},"
            f" δ = {derived.get('dipole', float('nan')):.3g}\n"
            f"r_g/L_c = {derived.get('reduced_rigidity', float('nan')):.3g},"
            f" Ωτ_s = {derived.get('omega_tau_s', float('nan')):.3g},"
            f" ΩΔT = {derived.get('omega_pair_time', float('nan')):.3g}, ℓmax = {self.lmax}"
        )

    def save(self, outdir, *, plot: bool = True) -> dict:
        """Write ``cl.csv``, ``params.json`` and (if ``plot``) ``cl.png`` into ``outdir``; return their paths."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = {"csv": self.to_csv(outdir / "cl.csv"), "json": self.to_json(outdir / "params.json")}
        if plot:
            paths["png"] = self._save_png(outdir / "cl.png")
        return paths

    def _save_png(self, path) -> Path:
        # a bare Figure (no pyplot): no GUI backend, no global state, safe in headless runs
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.4, 4.4), layout="constrained")
        self.plot(figure.add_subplot())
        return _atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=120))


# ---------------------------------------------------------------------------------------------------- solving
def dipole_source(diffusion_tensor, gradient) -> float:
    r"""Source of the ℓ = 1 equation, :math:`S = (8\pi/3)\,\mathbf G\cdot K\cdot\mathbf G` (PHYSICS eq. 4.4).

    ``diffusion_tensor`` is :math:`K` with :math:`\langle\Delta r_i\Delta r_j\rangle \to 2K_{ij}t` (3×3) and
    ``gradient`` :math:`\mathbf G = \nabla n/n` (3,), in any consistent units.
    """
    tensor = np.asarray(diffusion_tensor, dtype=float).reshape(3, 3)
    gradient = np.asarray(gradient, dtype=float).reshape(3)
    return float(8.0 * math.pi / 3.0 * gradient @ tensor @ gradient)


def cl_from_rate(rate, *, diffusion_tensor, gradient, lmax: int, converge: bool = False):
    r"""Steady-state :math:`\langle C_\ell\rangle` for a pair rate, a diffusion tensor and a gradient (PHYSICS 4.3).

    Any consistent units: ``rate`` (its :math:`k(x)` is a rate), ``diffusion_tensor`` (length²/time) and
    ``gradient`` (1/length) must share one time unit and one length unit; the :math:`C_\ell` do not depend on
    which.

    Parameters
    ----------
    rate : PairRate
        Pair-rate model :math:`k(x)` (PHYSICS 4.2).
    diffusion_tensor : array_like, shape (3, 3)
        :math:`K` (enters only the source).
    gradient : array_like, shape (3,)
        :math:`\mathbf G`.
    lmax : int
        Truncation :math:`\ell_\max\ge 2`; with ``converge`` the starting value of the doubling.
    converge : bool
        Double ℓmax until the low multipoles are stable (:func:`anisotropy.solver.converge_lmax`) and return
        the spectrum truncated to ``lmax``.

    Returns
    -------
    ell : ndarray, cl : ndarray, info : dict
        ``cl[0]`` is nan; ``info`` has the source and the ℓmax actually solved.
    """
    from .mixing import rate_matrix
    from .solver import steady_state

    lmax = require_integer("lmax", lmax, 2, MAX_LMAX)
    source = dipole_source(diffusion_tensor, gradient)
    info = {"source": source, "lmax_solved": lmax}
    if converge:
        cl, convergence = _converged(rate, source, lmax)
        info.update(convergence)
    else:
        cl = np.asarray(steady_state(rate_matrix(rate, lmax), source=source), dtype=float)
    return np.arange(lmax + 1), cl[: lmax + 1].copy(), info


def _converged(rate, source, lmax):
    """Steady state, ℓmax doubled from ``lmax`` until C_1..C_10 settle (:func:`anisotropy.solver.converge_lmax`)."""
    from .solver import converge_lmax

    monitored = range(1, min(lmax, CONVERGE_MULTIPOLES) + 1)
    outcome = converge_lmax(rate, source, ells=monitored, rtol=CONVERGE_RTOL, lmax_start=lmax,
                            lmax_limit=max(lmax, CONVERGE_LMAX_LIMIT))
    last = outcome.history[-1] if outcome.history else None
    return np.asarray(outcome.cl, dtype=float), {
        "lmax_solved": int(outcome.lmax),
        "converged": bool(outcome.converged),
        "convergence_rtol": float(outcome.rtol),
        "last_relative_change": None if last is None else float(last.max_change),
    }


# ---------------------------------------------------------------------------------------------------- physics
def _check_inputs(energy, charge, mass_number, b_rms, l_c, eta, lmin_over_lmax, model, dipole, gradient,
                  gradient_angle, pair_time_prefactor, lmax, modes_per_decade) -> dict:
    # astropy Quantities and "10 TeV" strings are converted once, here; plain floats are in the documented units
    energy, b_rms, l_c = units.as_unit("energy", energy, "TeV"), units.as_unit("b_rms", b_rms, "uG"), units.as_unit(
        "l_c", l_c, "pc")
    gradient = None if gradient is None else units.as_unit("gradient", gradient, "1/pc")
    gradient_angle = units.as_unit("gradient_angle", gradient_angle, "deg")
    if model not in MODELS:
        raise ParameterError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    checked = {
        "energy": require_range("energy", energy, 0.0, None, low_open=True),
        "charge": require_integer("charge", charge, 1, MAX_CHARGE),
        "mass_number": require_integer("mass_number", mass_number, 1, 300),
        "b_rms": require_range("b_rms", b_rms, 0.0, None, low_open=True),
        "l_c": require_range("l_c", l_c, 0.0, None, low_open=True),
        "eta": require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=model == "slab"),
        "lmin_over_lmax": None if lmin_over_lmax is None else require_range(
            "lmin_over_lmax", lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True),
        "model": model,
        "dipole": None if dipole is None else require_range("dipole", dipole, 0.0, 1.0, low_open=True),
        "gradient": None if gradient is None else require_range("gradient", gradient, 0.0, None, low_open=True),
        "gradient_angle": require_range("gradient_angle", gradient_angle, 0.0, 180.0),
        "pair_time_prefactor": None if pair_time_prefactor is None else require_range(
            "pair_time_prefactor", pair_time_prefactor, 0.0, None, low_open=True),
        "lmax": require_integer("lmax", lmax, 2, MAX_LMAX),
        "modes_per_decade": require_integer("modes_per_decade", modes_per_decade, 1, None),
    }
    if checked["mass_number"] < checked["charge"]:
        raise ParameterError("mass_number", f"must be >= charge ({checked['charge']}), got {checked['mass_number']}")
    if dipole is not None and gradient is not None:
        raise ParameterError("gradient", "give either dipole or gradient (they fix the same |G|), not both")
    return checked


def _auto_lmin_over_lmax(gyroradius_pc: float, l_c_pc: float) -> float:
    r"""L_min/L_max giving :math:`k_\max r_g` = :data:`K_MAX_GYRORADIUS_TARGET`, at most
    :data:`MAX_AUTO_LMIN_OVER_LMAX`.

    :math:`k_\max = 2\pi/L_\min` and :math:`L_\max(L_c, L_\min/L_\max)` depends weakly on the ratio
    (:func:`anisotropy.units.outer_scale`), so a few fixed-point steps settle it.
    """
    ratio = MAX_AUTO_LMIN_OVER_LMAX
    for _ in range(4):
        outer = units.outer_scale(l_c_pc, ratio)
        ratio = min(MAX_AUTO_LMIN_OVER_LMAX, 2.0 * math.pi * gyroradius_pc / (K_MAX_GYRORADIUS_TARGET * outer))
    return ratio


#: typical value of each argument of predict_cl: a failure inside the computation is reported against the argument
#: the caller gave that lies furthest (in log scale) from these (anisotropy.errors.attribute_to_given)
_TYPICAL_ARGUMENTS = {
    "energy": DEFAULT_ENERGY, "b_rms": DEFAULT_B_RMS, "l_c": DEFAULT_L_C, "eta": DEFAULT_ETA, "charge": 1,
    "mass_number": 1, "lmin_over_lmax": 1e-2, "dipole": DEFAULT_DIPOLE, "gradient": 1e-3,
    "pair_time_prefactor": 2.5, "lmax": DEFAULT_LMAX, "modes_per_decade": MODES_PER_DECADE,
}


def _check_result(result, given) -> None:
    """The C_l (l >= 1) must be finite and non-negative, and not all zero when the dipole is not (underflow)."""
    from .solver import NEGATIVE_ROUNDOFF_RTOL

    cl = np.asarray(result.cl[1:], dtype=float)
    if not np.all(np.isfinite(cl)):
        raise ParameterError("cl", "the solution is not finite (overflow)")
    if np.any(cl < -NEGATIVE_ROUNDOFF_RTOL * np.max(np.abs(cl), initial=0.0)):
        raise ParameterError("cl", f"the solution has negative C_l (min {cl.min():.3g}): no stable steady state")
    if result.params["derived"].get("dipole", 0.0) > 0 and not np.any(cl > 0):
        raise ParameterError("cl", "every C_l underflows to 0 (the normalisation is below the float range)")


@attribute_to_given(_TYPICAL_ARGUMENTS, check=_check_result)
def predict_cl(
    energy: float = DEFAULT_ENERGY,
    *,
    charge: int = 1,
    mass_number: int = 1,
    b_rms: float = DEFAULT_B_RMS,
    l_c: float = DEFAULT_L_C,
    eta: float = DEFAULT_ETA,
    lmin_over_lmax: float | None = None,
    model: str = "slab",
    dipole: float | None = None,
    gradient: float | None = None,
    gradient_angle: float = 0.0,
    pair_time_prefactor: float | None = None,
    lmax: int = DEFAULT_LMAX,
    converge: bool = False,
    modes_per_decade: int = MODES_PER_DECADE,
) -> ClResult:
    r"""Steady-state :math:`\langle C_\ell\rangle` for physical parameters (PHYSICS 4.3-4.6).

    Parameters
    ----------
    energy : float, astropy Quantity or str
        Kinetic energy of the nucleus in TeV (> 0).  ``energy``, ``b_rms``, ``l_c``, ``gradient`` and
        ``gradient_angle`` also accept astropy Quantities (``10 * u.TeV``) or strings (``"1e4 GeV"``), converted by
        :func:`anisotropy.units.as_unit`; plain numbers are in the documented units.  Default 10 TeV, the
        energy of the HAWC+IceCube all-sky spectrum.
    charge, mass_number : int
        Charge number :math:`|Z|` (1..92) and mass number A (Z..300).  Default: a proton.
    b_rms : float
        Total field :math:`B_\mathrm{tot} = \sqrt{B_0^2+\delta B^2}` in µG (> 0).  Default 3 µG: the local field
        is a few µG in total [R: Beck 2016; Jansson & Farrar 2012], uncertain by a factor ~2.
    l_c : float
        Correlation length :math:`L_c\approx L_\max/5` in pc (> 0).  Default 1 pc, i.e. an outer scale of
        ≈ 5 pc: Faraday-rotation structure functions give an outer scale of a few pc in the spiral arms and up to
        ~100 pc between arms (Haverkorn et al. 2008, ApJ 680, 362).  The local value is uncertain by more than an
        order of magnitude [R]; :math:`C_\ell` depend on it through :math:`r_g/L_c` and :math:`\Omega\tau_s`.
    eta : float
        Turbulence level :math:`\eta = \delta B^2/B_\mathrm{tot}^2` in (0, 1] ((0, 1) for ``"slab"``, which needs
        a regular field).  Default 0.5 (:math:`\delta B = B_0`); Galactic estimates give :math:`\delta B/B_0`
        ~ 0.5-2 [R], where quasi-linear theory is at the edge of its validity.  ``"isotropic"`` with η = 1 is
        :math:`B_0 = 0` (ballistic orbits, PHYSICS 4.6b).
    lmin_over_lmax : float, optional
        :math:`L_\min/L_\max` of the discrete spectrum, a numerical resolution parameter: the physical inner
        scale is far below :math:`r_g`.  None (default) chooses :math:`k_\max r_g` = 300 (ratio at most 1e-2),
        which resolves the gyro-resonance (PHYSICS 6, item 1) and puts the :math:`C_\ell` within ~2.5 % of the
        :math:`L_\min\to0` limit up to ℓ = 200 (measured; see :data:`K_MAX_GYRORADIUS_TARGET`).  For larger
        ℓmax check by lowering it.
    model : {"slab", "isotropic"}
        Pair-rate model: slab turbulence with :math:`B_0` (PHYSICS 4.6a; the setup of arXiv:2111.06419) or
        isotropic Kolmogorov turbulence, with :math:`B_0` for η < 1 (helical orbits in the interaction picture,
        :meth:`anisotropy.pair_rates.PairRate.isotropic`; ~1-3 s per prediction) and with :math:`B_0 = 0` on
        ballistic orbits for η = 1 (PHYSICS 4.6b; arXiv:1909.09052).
    dipole : float, optional
        Diffusive dipole amplitude :math:`|\boldsymbol\delta| = 3|K\cdot\mathbf G|/v` in (0, 1], which fixes
        :math:`|\mathbf G|`.  Default 1e-3 when ``gradient`` is not given (HAWC+IceCube measure a horizontal
        dipole of 1.2e-3 at 10 TeV, arXiv:1812.05682).  :math:`C_\ell\propto|\boldsymbol\delta|^2`.
    gradient : float, optional
        :math:`|\mathbf G| = |\nabla n|/n` in 1/pc instead of ``dipole`` (then :math:`C_\ell\propto|\mathbf G|^2`
        and, for slab, :math:`\propto\cos^2\theta`).
    gradient_angle : float
        Angle θ between :math:`\mathbf G` and :math:`B_0` in degrees, [0, 180].  With slab QLT
        (:math:`\kappa_\perp = 0`) a fixed dipole needs :math:`|\mathbf G|\propto1/|\cos\theta|` and the
        :math:`C_\ell` do not depend on θ; θ = 90° with ``dipole`` is rejected (no gradient gives a dipole there),
        with ``gradient`` it gives :math:`C_\ell = 0`.  The same for ``"isotropic"`` with η < 1
        (:math:`\kappa_\perp = 0` there too); no effect for ``"isotropic"`` with η = 1.
    pair_time_prefactor : float, optional
        :math:`a` in :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}` (PHYSICS 4.4).  None: the package default
        (:data:`anisotropy.pair_rates.DEFAULT_PAIR_TIME_PREFACTOR`), calibrated against the slab simulations:
        a = 2.46 ± 0.34 (:mod:`anisotropy.calibration`, with its caveats).  It is also used for ``"isotropic"``,
        but there it is not calibrated: for isotropic turbulence with :math:`B_0` the simulated best-fit
        :math:`\Omega\Delta T` do not follow one law :math:`a(\Omega\tau_s)^{1/3}` (χ² = 150 for 4 dof at the best
        a = 1.43; ``docs/validation/README.md``), so treat ``"isotropic"`` predictions with η < 1 as indicative.
    lmax : int
        Highest multipole, 2..2000.
    converge : bool
        Solve with ℓmax doubled from ``lmax`` until :math:`C_1..C_{10}` change by ≤ 1 % per doubling (up to
        ℓmax = 2048; :func:`anisotropy.solver.converge_lmax`, which warns if they do not) and return ℓ ≤ ``lmax``
        of the last solve.  ``params["derived"]`` records ``lmax_solved``, ``converged`` and the last change.
    modes_per_decade : int
        Density of the discrete turbulence spectrum used for the correlation function (``DESIGN.md``: 256).

    Returns
    -------
    ClResult
        ``.ell``, ``.cl`` (``cl[0]`` nan), ``.params``; ``.plot()``, ``.save(outdir)``.

    Raises
    ------
    ParameterError
        Any input outside its range (the message names it and the range).

    Notes
    -----
    Uncertainties, largest first:

    * The pair-time prefactor a is an O(1) constant of a scaling argument (PHYSICS 4.4, [D/S]) and sets how much
      power leaves the dipole; until the simulator calibrates it, absolute :math:`C_{\ell\ge2}` are model
      predictions at the factor-of-a-few level.
    * **Truncation.** ℓmax is an absorbing boundary (PHYSICS 4.3).  For the default slab rate the pair rate
      behaves as :math:`-k\propto(1-x)^{\beta/2}` with a local :math:`\beta\approx1.1\to1.6` for
      :math:`1-x = 10^{-1}\to10^{-5}` (and β → 2, analytic, below the inner scale), so the cascade converges
      slowly: measured at the defaults, each doubling of ℓmax from 200 to 6400 raises :math:`C_1` by 0.8 %,
      :math:`C_{10}` by 5-8 % and :math:`C_{100}` by 16-60 % (at ℓmax = 200 -> 400: ℓ = ℓmax/20 +8 %,
      ℓmax/4 +27 %, ℓmax ×27).  ``converge=True`` reports this instead of hiding it; compare spectra at the same
      ℓmax, and treat the last factor ~4 below ℓmax as truncation-dominated.
    * The discrete inner scale: see ``lmin_over_lmax`` (≤ 2.5 % at the default).
    * :math:`L_c`, :math:`\eta` and :math:`B_\mathrm{tot}` of the local ISM (above).  With the defaults slab
      QLT gives :math:`\kappa_\parallel\approx1.7\times10^{28}` cm²/s at 10 TeV, well below the Galactic
      average inferred from secondary-to-primary ratios (~3e28 (E/GeV)^(1/3..1/2) ≈ 1e30 cm²/s [R]); the :math:`C_\ell`
      depend on :math:`\kappa_\parallel` only through :math:`\Omega\tau_s` because the dipole fixes the
      normalisation.
    """
    inputs = _check_inputs(energy, charge, mass_number, b_rms, l_c, eta, lmin_over_lmax, model, dipole, gradient,
                           gradient_angle, pair_time_prefactor, lmax, modes_per_decade)
    inputs["converge"] = bool(converge)
    if inputs["dipole"] is None and inputs["gradient"] is None:
        inputs["dipole"] = DEFAULT_DIPOLE
    theta = math.radians(inputs["gradient_angle"])
    regular_field = model == "slab" or inputs["eta"] < 1.0
    if regular_field and inputs["dipole"] is not None and abs(math.cos(theta)) < 1e-12:
        raise ParameterError(
            "gradient_angle",
            f"must be in [0, 90) or (90, 180] for model {model!r} with B0 and a dipole: kappa_perp = 0, so a "
            "gradient perpendicular to B0 gives no dipole (pass gradient= for C_l = 0)",
        )

    resolved_ratio = inputs["lmin_over_lmax"]
    gyroradius_pc = float(units.gyroradius(inputs["energy"], inputs["b_rms"], inputs["charge"], inputs["mass_number"]))
    if resolved_ratio is None:
        resolved_ratio = _auto_lmin_over_lmax(gyroradius_pc, inputs["l_c"])
    reduced = units.to_reduced(inputs["energy"], inputs["b_rms"], inputs["l_c"], inputs["eta"], inputs["charge"],
                               inputs["mass_number"], lmin_over_lmax=resolved_ratio)

    if model == "isotropic" and not regular_field and reduced.reduced_rigidity < 1.0:
        warnings.warn(
            f"model 'isotropic' assumes ballistic orbits (r_g >~ L_c); here r_g/L_c = {reduced.reduced_rigidity:.3g}, "
            "so its tau_s and C_l are only indicative", UserWarning, stacklevel=2)
    rate = _pair_rate(model, reduced, inputs["modes_per_decade"], inputs["pair_time_prefactor"])
    coefficients = _transport(model, reduced, rate)

    # ODE units: time 1/Ω, length L_c, hence v = r_g/L_c (Ω = v/r_g)
    speed = reduced.reduced_rigidity
    kappa_parallel, kappa_perp = coefficients["kappa_parallel"], coefficients["kappa_perp"]
    diffusion = np.diag([kappa_perp, kappa_perp, kappa_parallel])
    direction = np.array([math.sin(theta), 0.0, math.cos(theta)])  # B0 along z, G in the x-z plane
    if inputs["gradient"] is not None:
        gradient_lc = inputs["gradient"] * inputs["l_c"]
        dipole_amplitude = 3.0 * float(np.linalg.norm(diffusion @ direction)) * gradient_lc / speed
    else:
        dipole_amplitude = inputs["dipole"]
        gradient_lc = dipole_amplitude * speed / (3.0 * float(np.linalg.norm(diffusion @ direction)))
    ell, cl, info = cl_from_rate(rate, diffusion_tensor=diffusion, gradient=gradient_lc * direction,
                                 lmax=inputs["lmax"], converge=inputs["converge"])

    omega = float(units.gyrofrequency(inputs["energy"], inputs["b_rms"], inputs["charge"], inputs["mass_number"]))
    l_c_cm = inputs["l_c"] * units.PARSEC_M * 100.0
    outer_pc = float(units.outer_scale(inputs["l_c"], resolved_ratio))
    derived = {
        "time_unit": "1/Omega (gyrofrequency in B_tot)",
        "length_unit": "L_c",
        "gyroradius_pc": gyroradius_pc,
        "gyrofrequency_per_s": omega,
        "reduced_rigidity": reduced.reduced_rigidity,
        "speed_over_c": reduced.speed,
        "eta": reduced.eta,
        "b_regular_uG": units.field_components(inputs["b_rms"], inputs["eta"])[0],
        "lmin_over_lmax": resolved_ratio,
        "outer_scale_pc": outer_pc,
        "k_min_r_g": 2.0 * math.pi * gyroradius_pc / outer_pc,
        "k_max_r_g": 2.0 * math.pi * gyroradius_pc / (outer_pc * resolved_ratio),
        "kappa_parallel": kappa_parallel,
        "kappa_perp": kappa_perp,
        "kappa_parallel_cm2_per_s": kappa_parallel * l_c_cm**2 * omega,
        "diffusion_tensor": diffusion,
        "omega_tau_s": coefficients["omega_tau_s"],
        "omega_pair_time": _pair_time(rate),
        "pair_time_prefactor": rate.params.get("pair_time_prefactor"),
        "gradient_angle_deg": inputs["gradient_angle"],
        "gradient": gradient_lc,
        "gradient_per_pc": gradient_lc / inputs["l_c"],
        "gradient_vector": gradient_lc * direction,
        "dipole": dipole_amplitude,
        "dipole_cl": 4.0 * math.pi / 9.0 * dipole_amplitude**2,
        **info,
        "rate_model": rate.name,
        "rate_params": rate.params,
    }
    params = {"inputs": inputs, "derived": derived, "package": {"name": "cr-anisotropy", "version": __version__}}
    return ClResult(ell=ell, cl=cl, params=params)


def _transport(model: str, reduced, rate) -> dict:
    r"""Diffusion coefficients in :math:`L_c^2\Omega` and :math:`\Omega\tau_s` (PHYSICS 4.6c, 4.3 limits).

    * ``"slab"``: slab QLT from :mod:`anisotropy.transport`, which gives :math:`\kappa_\parallel` in
      :math:`cL_c`; in the ODE units :math:`K = \kappa\,c/(L_c\Omega) = \kappa\,(r_g/L_c)/\beta` because
      :math:`\Omega = \beta c/r_g`.  :math:`\kappa_\perp = 0` (slab QLT).
    * ``"isotropic"``, η = 1: :math:`B_0 = 0`, so :math:`K` is isotropic, :math:`\kappa = v^2\tau_s/3`
      (:math:`\nu_1 = 1/\tau_s`, PHYSICS 4.3) with the model's own small-angle :math:`\tau_s`
      (``rate.params["omega_tau_s"]``, :meth:`anisotropy.pair_rates.PairRate.isotropic`); :math:`v = r_g/L_c`.
    * ``"isotropic"``, η < 1: :math:`\kappa_\parallel = v^2\tau_s/3` with the model's :math:`\tau_s`, which is
      the slab-QLT scattering time (so :math:`\kappa_\parallel` equals the slab-QLT value; the pair model's own
      Markov limit diverges logarithmically, see :meth:`~anisotropy.pair_rates.PairRate.isotropic`).  This is an
      approximation: QLT of isotropic turbulence differs from slab QLT by an O(1) geometry factor (not computed
      here).  :math:`\kappa_\perp = 0`: across an isotropic field with :math:`B_0` particles follow wandering field
      lines, which is compound subdiffusion at late times (:func:`anisotropy.transport.heuristic_perpendicular_\
      diffusion`; the validation transport checks measure it), so there is no finite steady-state
      :math:`\kappa_\perp`.  The :math:`C_\ell` depend on K only through :math:`\mathbf G\cdot K\cdot\mathbf G`
      (normalisation) when the dipole is given.
    """
    from . import transport  # scipy.integrate: imported on first use, so the CLI answers --help and errors fast

    rigidity, speed = reduced.reduced_rigidity, reduced.speed
    if model == "slab":
        kappa_light = transport.parallel_diffusion(rigidity, reduced.eta, lmin_over_lmax=reduced.lmin_over_lmax,
                                                   speed=speed)
        omega_tau_s = transport.omega_scattering_time(rigidity, reduced.eta, lmin_over_lmax=reduced.lmin_over_lmax)
        # slab QLT: no perpendicular transport (field lines do not diffuse for a spectrum without k < k_min)
        return {"kappa_parallel": kappa_light * rigidity / speed, "kappa_perp": 0.0, "omega_tau_s": omega_tau_s}
    omega_tau_s = float(rate.params["omega_tau_s"])
    kappa = rigidity**2 * omega_tau_s / 3.0
    if reduced.eta < 1.0:
        return {"kappa_parallel": kappa, "kappa_perp": 0.0, "omega_tau_s": omega_tau_s}
    return {"kappa_parallel": kappa, "kappa_perp": kappa, "omega_tau_s": omega_tau_s}


def _pair_rate(model: str, reduced, modes_per_decade: int, pair_time_prefactor):
    """The pair-rate model k(x) in units of Ω (PHYSICS 4.6a-b) on the discrete spectrum of the simulator."""
    from .pair_rates import DEFAULT_PAIR_TIME_PREFACTOR, PairRate

    if pair_time_prefactor is None:
        pair_time_prefactor = DEFAULT_PAIR_TIME_PREFACTOR
    common = {"lmin_over_lmax": reduced.lmin_over_lmax, "modes_per_decade": modes_per_decade,
              "pair_time_prefactor": pair_time_prefactor, "speed": reduced.speed}
    if model == "slab":
        return PairRate.slab(reduced.reduced_rigidity, reduced.eta, **common)
    return PairRate.isotropic(reduced.reduced_rigidity, eta=reduced.eta, **common)


def _pair_time(rate):
    """ΩΔT the pair-rate model used (recorded by the model), or None if it does not say."""
    for key in ("omega_pair_time", "pair_time"):
        if rate.params.get(key) is not None:
            return rate.params[key]
    return None


# ---------------------------------------------------------------------------------------------------- files
def _atomic_write(path, write) -> Path:
    """Call ``write(binary_handle)`` on a temporary file next to ``path``, then rename it over ``path``."""
    path = Path(path)
    with atomic_output(path) as temporary, open(temporary, "wb") as handle:
        write(handle)
    return path


def _atomic_write_text(path, text: str) -> Path:
    return _atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


