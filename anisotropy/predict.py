r"""Physical parameters in, steady-state :math:`\langle C_\ell\rangle` out: :func:`predict_cl` and :class:`ClResult`.

The chain (docs/guide/design.md#layout):

1. physical inputs (TeV, µG, pc), checked once into :class:`PredictionInputs`, which holds the
   :class:`~anisotropy.Turbulence` of the prediction and :func:`anisotropy.units.to_reduced`: :math:`r_g/L_c`,
   :math:`\eta`, :math:`\beta`;
2. transport (:mod:`anisotropy.transport`): the scattering time :math:`\Omega\tau_s`, computed once and passed to
   everything that needs it (pair time, :math:`K`, the domain flags, the record), and the diffusion tensor
   :math:`K` with :math:`\kappa_\parallel = v^2\tau_s/3` (docs/physics/transport.md#slab-qlt);
3. the pair-rate model :math:`k(x)` (:class:`anisotropy.pair_rates.PairRate`, docs/physics/mixing_ode.md#pair-time,
   docs/physics/pair_rates.md) with the pair
   time :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}`;
4. the rate matrix :math:`\Gamma_{\ell\ell_0}` (docs/physics/mixing_ode.md#rate-matrix) and the steady state of
   :math:`d\langle C_\ell\rangle/dt = \sum_{\ell_0}\Gamma_{\ell\ell_0}\langle C_{\ell_0}\rangle + S\delta_{\ell1}`
   with :math:`S = (8\pi/3)\,\mathbf G\cdot K\cdot\mathbf G` (docs/physics/mixing_ode.md#ode, eq. (4.4)).

**Units inside the solve.** Time in :math:`1/\Omega` (the gyrofrequency in :math:`B_\mathrm{tot}`: the pair rates
are in units of :math:`\Omega`), lengths in :math:`L_c`.  Then the speed is :math:`v = r_g/L_c` (because
:math:`\Omega = v/r_g`), :math:`K` is in :math:`L_c^2\Omega`, :math:`|\mathbf G|` in :math:`1/L_c` and :math:`S` in
:math:`\Omega`.  :math:`C_\ell` is dimensionless and does not depend on that choice (both :math:`\Gamma` and
:math:`S` scale with the time unit; ``tests/anisotropy/test_predict.py`` checks it).

**Normalisation.** :math:`C_\ell\propto|\mathbf G|^2`.  :math:`|\mathbf G|` is fixed either by the diffusive dipole
amplitude :math:`|\boldsymbol\delta| = 3|K\cdot\mathbf G|/v` (docs/physics/simulator.md#liouville-mapping,
docs/physics/source.md#diffusive-dipole; default) or given directly.
Without pair correlations the steady state is the pure dipole :math:`C_1 = (4\pi/9)|\boldsymbol\delta|^2`.

**Closure with a regular field.** With :math:`B_0` the :math:`C_\ell` equation closes only after isotropising the
pair statistics (docs/physics/mixing_ode.md#closure), so :math:`\Gamma` does not depend on the angle between
:math:`\mathbf G` and
:math:`B_0`; that angle enters only through :math:`K\cdot\mathbf G`.  Both models with a regular field (slab, and
isotropic with η < 1) use :math:`\kappa_\perp = 0` (:func:`_transport`), so a gradient perpendicular to
:math:`B_0` produces neither a dipole nor a source.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import domain, units
from ._version import __version__
from .errors import ParameterError, attribute_to_given, require_integer, require_range
from .io import atomic_output, jsonable
from .turbulence import Turbulence
from .untruncated import CONTINUATION_FACTOR, inner_angle

__all__ = [
    "CLOSURES",
    "DEFAULT_B_RMS",
    "DEFAULT_CLOSURE",
    "DEFAULT_DIPOLE",
    "DEFAULT_ENERGY",
    "DEFAULT_ETA",
    "DEFAULT_LMAX",
    "DEFAULT_L_C",
    "DEFAULT_SOLVER",
    "MAX_LMAX",
    "MODELS",
    "SOLVERS",
    "ClResult",
    "PredictionInputs",
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
#: target k_max r_g when lmin_over_lmax is chosen automatically.  The gyro-resonance needs k_max r_g ≳ 10
#: (docs/physics/simulator.md,
#: item 1), but the pair rate also feels the small-scale modes through the kink of k(x) at x = 1, which sets how
#: power cascades.  With the untruncated solve (bracketed inner-scale continuation) C_20/C_1 at 10 TeV is 3.453,
#: 3.429, 3.416, 3.402, 3.384, 3.374 (×1e-4) at k_max r_g = 100, 150, 200, 300, 600, 1000: 200 is within 1.3 % of
#: the 1000 value for every ℓ ≤ 20 (1 TeV: within 0.8 % of 600) at a third of the cost of 300 (measured)
K_MAX_GYRORADIUS_TARGET = 200.0
#: upper end of the automatic L_min/L_max: at least two decades of Kolmogorov range even when r_g ≳ L_max
MAX_AUTO_LMIN_OVER_LMAX = 1e-2
#: ``converge=True`` monitors C_1..C_10 (the solver's default set) and accepts a relative change ≤ 1 % per doubling
CONVERGE_MULTIPOLES = 10
CONVERGE_RTOL = 0.01
#: largest ℓmax the doubling may reach: ℓmax = 1600 costs ~10 s for the default slab rate, 3200 over a minute
CONVERGE_LMAX_LIMIT = 2048
#: turbulence modes per decade of the pair-rate model.  A numerical resolution of the continuous spectrum: at the
#: defaults (10 and 1 TeV) 64, 128 and 256 per decade give C_l/C_1 (l <= 100) equal to 1e-4 and C_1 to 0.3 % (128)
#: and 0.9 % (64) of the 256 value (measured), and 128 halves the cost of the rate
MODES_PER_DECADE = 128
#: the untruncated solve reports the inner-scale spread (anisotropy.untruncated) over ℓ = 1..SPREAD_MULTIPOLES
SPREAD_MULTIPOLES = 20
MODELS = ("slab", "isotropic")
#: closures of the pair dynamics.  "markov": the one-ΔT Markov closure with ΩΔT = a (Ωτ_s)^{1/3}
#: (docs/physics/mixing_ode.md#pair-time); "age-dependent": the pair-correlation closure (anisotropy.pair_correlation,
#: "normalised"; no pair time).  The default theory of the whole package (predict, validate --case, fits) is
#: DEFAULT_CLOSURE: switch it here.
CLOSURES = ("markov", "age-dependent", "emulator")
DEFAULT_CLOSURE = "markov"
#: how the steady state is solved: "untruncated" (the ℓmax → ∞ limit by one quadrature, anisotropy.untruncated)
#: or "truncated" (the dense solve at ℓmax, an absorbing boundary: C_20/C_1 still rises 5-11 % per doubling of
#: ℓmax between 200 and 3200 at the defaults)
SOLVERS = ("untruncated", "truncated")
DEFAULT_SOLVER = "untruncated"
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
        :math:`\langle C_\ell\rangle` of the relative intensity, healpy normalisation
        (docs/physics/conventions.md#angular-power-spectrum); ``cl[0]`` is nan
        (the monopole decouples and grows without bound, docs/physics/mixing_ode.md#ode).
    params : dict
        ``{"inputs": ..., "derived": ..., "package": ...}``.  ``inputs`` holds every argument of
        :func:`predict_cl` as passed (defaults resolved), so ``predict_cl(**params["inputs"])`` reproduces ``cl``
        exactly; ``derived`` holds the reduced parameters, transport coefficients, :math:`|\mathbf G|`, the source
        and the pair-rate model (all in time unit :math:`1/\Omega`, lengths in :math:`L_c`, unless a key names
        another unit); ``package`` the package name and version.  Nothing depends on the clock, so identical
        inputs give identical files.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from anisotropy import ClResult
    >>> result = ClResult(ell=np.arange(4), cl=np.array([np.nan, 1e-6, 2e-7, 5e-8]), params={"inputs": {}})
    >>> result.lmax
    3
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     sorted(path.name for path in result.save(folder, plot=False).values())
    ['cl.csv', 'params.json']
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
        derived = self.params.get("derived", {})
        if derived.get("solver", "truncated") == "truncated":
            # the truncation at lmax is an absorbing boundary (docs/physics/mixing_ode.md#ode): the last octave is
            # shaped by it
            ax.axvspan(self.lmax / 2, self.lmax, color="0.85", alpha=0.6, lw=0,
                       label=r"$\ell > \ell_\max/2$: shaped by the truncation")
            ax.legend(loc="lower left", fontsize="small", frameon=False)
        flags = derived.get("domain", {})
        warnings_text = []
        if flags and not flags.get("validated", True):
            warnings_text.append("OUTSIDE the validated domain: " + "; ".join(flags["outside"]))
        if flags.get("c1_below_liouville_bound"):
            warnings_text.append(f"C_1 = {flags['c1_over_dipole_cl']:.3g} × (4π/9)δ², below the exact bound")
        if warnings_text:
            import textwrap

            wrapped = "\n".join(textwrap.fill(line, 70) for line in warnings_text)
            text = ax.text(0.98, 0.98, wrapped, transform=ax.transAxes, ha="right", va="top", fontsize="xx-small",
                           color="tab:red")
            text.set_in_layout(False)  # a flag inside the axes must not shrink them
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
    r"""Source of the ℓ = 1 equation, :math:`S = (8\pi/3)\,\mathbf G\cdot K\cdot\mathbf G`
    (docs/physics/mixing_ode.md#ode, eq. (4.4)).

    ``diffusion_tensor`` is :math:`K` with :math:`\langle\Delta r_i\Delta r_j\rangle \to 2K_{ij}t` (3×3) and
    ``gradient`` :math:`\mathbf G = \nabla n/n` (3,), in any consistent units.
    """
    tensor = np.asarray(diffusion_tensor, dtype=float).reshape(3, 3)
    gradient = np.asarray(gradient, dtype=float).reshape(3)
    return float(8.0 * math.pi / 3.0 * gradient @ tensor @ gradient)


def cl_from_rate(rate, *, diffusion_tensor, gradient, lmax: int, converge: bool = False,
                 solver: str = DEFAULT_SOLVER, continuation_angle: float | None = None):
    r"""Steady-state :math:`\langle C_\ell\rangle` for a pair rate, a diffusion tensor and a gradient
    (docs/physics/mixing_ode.md#ode).

    Any consistent units: ``rate`` (its :math:`k(x)` is a rate), ``diffusion_tensor`` (length²/time) and
    ``gradient`` (1/length) must share one time unit and one length unit; the :math:`C_\ell` do not depend on
    which.

    Parameters
    ----------
    rate : PairRate
        Pair-rate model :math:`k(x)` (docs/physics/mixing_ode.md#mixing-matrix).
    diffusion_tensor : array_like, shape (3, 3)
        :math:`K` (enters only the source).
    gradient : array_like, shape (3,)
        :math:`\mathbf G`.
    lmax : int
        Last multipole returned, ≥ 2; for ``solver="truncated"`` also the truncation (with ``converge`` the
        starting value of the doubling).
    converge : bool
        ``solver="truncated"`` only: double ℓmax until the low multipoles are stable
        (:func:`anisotropy.solver.converge_lmax`) and return the spectrum truncated to ``lmax``.
    solver : {"untruncated", "truncated"}
        ``"untruncated"`` (default): the ℓmax → ∞ limit (:func:`anisotropy.untruncated.bracketed_steady_state`,
        mean of the two inner-scale continuations); ``"truncated"``: the dense solve at ℓmax.
    continuation_angle : float, optional
        θ_c of the untruncated solve (radians), for physical rates with an inertial range: the result is the mean
        of the two bracketing continuations (:func:`anisotropy.untruncated.bracketed_steady_state`).  None: a
        generic rate, continued with its own local exponent below
        :data:`anisotropy.untruncated.DEFAULT_CONTINUATION_ANGLE`.

    Returns
    -------
    ell : ndarray, cl : ndarray, info : dict
        ``cl[0]`` is nan; ``info`` has the source, the solver and, untruncated, the continuation (angle, the two
        exponents, the largest relative half-difference of the two continuations for ℓ ≤ 20,
        ``inner_scale_spread_l20``); truncated, the ℓmax actually solved.
    """
    from .mixing import rate_matrix
    from .solver import steady_state

    lmax = require_integer("lmax", lmax, 2, MAX_LMAX)
    if solver not in SOLVERS:
        raise ParameterError("solver", f"must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if converge and solver != "truncated":
        raise ParameterError("converge", "applies only to solver='truncated' (the untruncated solve has no lmax)")
    source = dipole_source(diffusion_tensor, gradient)
    info = {"source": source, "solver": solver}
    if solver == "untruncated":
        from .untruncated import bracketed_steady_state, untruncated_steady_state

        if continuation_angle is None:
            # a generic rate: continued with its own local exponent below the default angle
            cl = untruncated_steady_state(rate, source, lmax)
            info["continuation"] = "local exponent below anisotropy.untruncated.DEFAULT_CONTINUATION_ANGLE"
        else:
            outcome = bracketed_steady_state(rate, source, lmax, continuation_angle=continuation_angle)
            cl = outcome["cl"]
            low = slice(1, min(lmax, SPREAD_MULTIPOLES) + 1)
            info.update({"continuation_angle": continuation_angle,
                         "continuation_exponents": list(outcome["exponents"]),
                         "inner_scale_spread_l20": float(np.max(outcome["spread"][low] / np.abs(cl[low])))})
        return np.arange(lmax + 1), np.asarray(cl, dtype=float), info
    info["lmax_solved"] = lmax
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
@dataclass(frozen=True)
class PredictionInputs:
    r"""The arguments of :func:`predict_cl`, checked once, with what follows from them alone.

    Construction converts astropy Quantities and strings (:func:`anisotropy.units.as_unit`) to plain floats in the
    documented units and checks every argument (one line naming the first that is out of range); the fields
    below then hold those floats.  ``dipole`` is resolved: :data:`DEFAULT_DIPOLE` when neither ``dipole`` nor
    ``gradient`` is given.  The remaining attributes are derived (not arguments).

    Attributes
    ----------
    energy, charge, mass_number, b_rms, l_c, eta, lmin_over_lmax, model
        As :func:`predict_cl` (TeV, µG, pc); ``lmin_over_lmax`` None means automatic.
    dipole, gradient, gradient_angle, pair_time_prefactor, lmax, modes_per_decade, converge, closure, solver
        As :func:`predict_cl` (``gradient`` in 1/pc, ``gradient_angle`` in degrees).
    turbulence : Turbulence
        The spectrum the prediction uses: kind = ``model``, ``eta``, ``modes_per_decade`` and the resolved
        :math:`L_\min/L_\max` (:data:`K_MAX_GYRORADIUS_TARGET` when automatic).
    gyroradius_pc : float
        :math:`r_g` in pc, in :math:`B_\mathrm{tot}`.
    reduced : ReducedParameters
        :math:`r_g/L_c`, :math:`\eta`, the resolved :math:`L_\min/L_\max` and :math:`\beta`
        (:func:`anisotropy.units.to_reduced`).
    outer_scale_pc, k_max_r_g : float
        :math:`L_\max` in pc and :math:`k_\max r_g = 2\pi r_g/L_\min`.

    Raises
    ------
    ParameterError
        One line naming the argument.

    Examples
    --------
    >>> from anisotropy.predict import PredictionInputs
    >>> inputs = PredictionInputs(energy="10 TeV", eta=0.5)
    >>> inputs.energy, inputs.dipole, inputs.turbulence.kind
    (10.0, 0.001, 'slab')
    >>> round(inputs.k_max_r_g)                     # the automatic L_min/L_max
    200
    >>> PredictionInputs(eta=1.0)
    Traceback (most recent call last):
    ...
    anisotropy.errors.ParameterError: eta: must be in (0, 1), got 1
    """

    energy: float = DEFAULT_ENERGY
    charge: int = 1
    mass_number: int = 1
    b_rms: float = DEFAULT_B_RMS
    l_c: float = DEFAULT_L_C
    eta: float = DEFAULT_ETA
    lmin_over_lmax: float | None = None
    model: str = "slab"
    dipole: float | None = None
    gradient: float | None = None
    gradient_angle: float = 0.0
    pair_time_prefactor: float | None = None
    lmax: int = DEFAULT_LMAX
    modes_per_decade: int = MODES_PER_DECADE
    converge: bool = False
    closure: str = DEFAULT_CLOSURE
    solver: str = DEFAULT_SOLVER
    turbulence: Turbulence = field(init=False, repr=False, compare=False)
    gyroradius_pc: float = field(init=False, repr=False, compare=False)
    reduced: units.ReducedParameters = field(init=False, repr=False, compare=False)
    outer_scale_pc: float = field(init=False, repr=False, compare=False)
    k_max_r_g: float = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        checked = self._checked_arguments()
        checked["converge"] = bool(self.converge)
        checked.update(self._checked_options())
        if checked["dipole"] is None and checked["gradient"] is None:
            checked["dipole"] = DEFAULT_DIPOLE
        _check_gradient_angle(checked)
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        self._derive()

    def _checked_arguments(self) -> dict:
        """The arguments in plain floats of the documented units, range-checked in the order of the signature."""
        # astropy Quantities and "10 TeV" strings are converted once, here
        energy, b_rms, l_c = (units.as_unit("energy", self.energy, "TeV"), units.as_unit("b_rms", self.b_rms, "uG"),
                              units.as_unit("l_c", self.l_c, "pc"))
        gradient = None if self.gradient is None else units.as_unit("gradient", self.gradient, "1/pc")
        gradient_angle = units.as_unit("gradient_angle", self.gradient_angle, "deg")
        model = self.model
        if model not in MODELS:
            raise ParameterError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
        checked = {
            "energy": require_range("energy", energy, 0.0, None, low_open=True),
            "charge": require_integer("charge", self.charge, 1, MAX_CHARGE),
            "mass_number": require_integer("mass_number", self.mass_number, 1, 300),
            "b_rms": require_range("b_rms", b_rms, 0.0, None, low_open=True),
            "l_c": require_range("l_c", l_c, 0.0, None, low_open=True),
            "eta": require_range("eta", self.eta, 0.0, 1.0, low_open=True, high_open=model == "slab"),
            "lmin_over_lmax": None if self.lmin_over_lmax is None else require_range(
                "lmin_over_lmax", self.lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True),
            "model": model,
            "dipole": None if self.dipole is None else require_range("dipole", self.dipole, 0.0, 1.0, low_open=True),
            "gradient": None if gradient is None else require_range("gradient", gradient, 0.0, None, low_open=True),
            "gradient_angle": require_range("gradient_angle", gradient_angle, 0.0, 180.0),
            "pair_time_prefactor": None if self.pair_time_prefactor is None else require_range(
                "pair_time_prefactor", self.pair_time_prefactor, 0.0, None, low_open=True),
            "lmax": require_integer("lmax", self.lmax, 2, MAX_LMAX),
            "modes_per_decade": require_integer("modes_per_decade", self.modes_per_decade, 1, None),
        }
        if checked["mass_number"] < checked["charge"]:
            raise ParameterError("mass_number",
                                 f"must be >= charge ({checked['charge']}), got {checked['mass_number']}")
        if self.dipole is not None and self.gradient is not None:
            raise ParameterError("gradient", "give either dipole or gradient (they fix the same |G|), not both")
        return checked

    def _checked_options(self) -> dict:
        if self.closure not in CLOSURES:
            raise ParameterError("closure", f"must be one of {', '.join(CLOSURES)}, got {self.closure!r}")
        _check_solver(self.closure, self.solver, bool(self.converge))
        return {"closure": self.closure, "solver": self.solver}

    def _derive(self) -> None:
        """The spectrum, the reduced parameters and the scales (functions of the arguments alone)."""
        gyroradius_pc = float(units.gyroradius(self.energy, self.b_rms, self.charge, self.mass_number))
        ratio = self.lmin_over_lmax
        if ratio is None:
            ratio = _auto_lmin_over_lmax(gyroradius_pc, self.l_c)
        turbulence = Turbulence(kind=self.model, eta=self.eta, lmin_over_lmax=ratio,
                                modes_per_decade=self.modes_per_decade)
        outer_pc = float(units.outer_scale(self.l_c, ratio, turbulence.spectral_index))
        derived = {
            "turbulence": turbulence,
            "gyroradius_pc": gyroradius_pc,
            "reduced": units.to_reduced(self.energy, self.b_rms, self.l_c, self.eta, self.charge, self.mass_number,
                                        lmin_over_lmax=ratio),
            "outer_scale_pc": outer_pc,
            "k_max_r_g": 2.0 * math.pi * gyroradius_pc / (outer_pc * ratio),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def record(self) -> dict:
        """The arguments as :func:`predict_cl` records them (``params["inputs"]``): ``predict_cl(**record())``
        repeats the prediction."""
        names = ("energy", "charge", "mass_number", "b_rms", "l_c", "eta", "lmin_over_lmax", "model", "dipole",
                 "gradient", "gradient_angle", "pair_time_prefactor", "lmax", "modes_per_decade", "converge",
                 "closure", "solver")
        return {name: getattr(self, name) for name in names}


def _check_gradient_angle(checked: dict) -> None:
    """With B0 and κ⊥ = 0 a dipole needs a gradient component along B0 (θ ≠ 90°)."""
    regular_field = checked["model"] == "slab" or checked["eta"] < 1.0
    perpendicular = abs(math.cos(math.radians(checked["gradient_angle"]))) < 1e-12
    if regular_field and checked["dipole"] is not None and perpendicular:
        raise ParameterError(
            "gradient_angle",
            f"must be in [0, 90) or (90, 180] for model {checked['model']!r} with B0 and a dipole: kappa_perp = 0, "
            "so a gradient perpendicular to B0 gives no dipole (pass gradient= for C_l = 0)",
        )


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
    closure: str = DEFAULT_CLOSURE,
    solver: str = DEFAULT_SOLVER,
) -> ClResult:
    r"""Steady-state :math:`\langle C_\ell\rangle` for physical parameters (docs/physics/mixing_ode.md#ode,
    docs/physics/pair_rates.md).

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
        :math:`B_0 = 0` (ballistic orbits, docs/physics/pair_rates.md#isotropic-pair-rate).
    lmin_over_lmax : float, optional
        :math:`L_\min/L_\max` of the discrete spectrum, a numerical resolution parameter: the physical inner
        scale is far below :math:`r_g`.  None (default) chooses :math:`k_\max r_g` = 200 (ratio at most 1e-2),
        which resolves the gyro-resonance (docs/physics/simulator.md, item 1) and, with the untruncated solver, puts
        :math:`C_{\ell\le20}` within 1.3 % of the k_max r_g = 1000 values (measured; see
        :data:`K_MAX_GYRORADIUS_TARGET`).
    model : {"slab", "isotropic"}
        Pair-rate model: slab turbulence with :math:`B_0` (docs/physics/pair_rates.md#slab-pair-rate; the setup of
        arXiv:2111.06419) or
        isotropic Kolmogorov turbulence, with :math:`B_0` for η < 1 (helical orbits in the interaction picture,
        :meth:`anisotropy.pair_rates.PairRate.isotropic`; ~1-3 s per prediction) and with :math:`B_0 = 0` on
        ballistic orbits for η = 1 (docs/physics/pair_rates.md#isotropic-pair-rate; arXiv:1909.09052).
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
        :math:`a` in :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}` (docs/physics/mixing_ode.md#pair-time).  None: the
        package default
        (:data:`anisotropy.pair_rates.DEFAULT_PAIR_TIME_PREFACTOR`), calibrated against the slab simulations:
        a = 2.46 ± 0.34 (:mod:`anisotropy.calibration`, with its caveats).  It is also used for ``"isotropic"``,
        but there it is not calibrated: for isotropic turbulence with :math:`B_0` the simulated best-fit
        :math:`\Omega\Delta T` do not follow one law :math:`a(\Omega\tau_s)^{1/3}` (χ² = 150 for 4 dof at the best
        a = 1.43; ``docs/validation/README.md``), so treat ``"isotropic"`` predictions with η < 1 as indicative.
    lmax : int
        Highest multipole returned, 2..2000.  With the default untruncated solver the :math:`C_\ell` do not
        depend on it; with ``solver="truncated"`` it is also the truncation.
    converge : bool
        ``solver="truncated"`` only: solve with ℓmax doubled from ``lmax`` until :math:`C_1..C_{10}` change by
        ≤ 1 % per doubling (up to ℓmax = 2048; :func:`anisotropy.solver.converge_lmax`, which warns if they do
        not) and return ℓ ≤ ``lmax`` of the last solve.  ``params["derived"]`` records ``lmax_solved``,
        ``converged`` and the last change.
    modes_per_decade : int
        Density of the discrete turbulence spectrum used for the correlation function (default 128; see
        :data:`MODES_PER_DECADE`).
    closure : {"markov", "age-dependent", "emulator"}
        Closure of the pair dynamics, one of :data:`CLOSURES`; default :data:`DEFAULT_CLOSURE`.
        ``"markov"`` (default): one rate k(x) = κ(x; ΔT)/ΔT at the pair time ΔT (docs/physics/mixing_ode.md#pair-time).
        ``"age-dependent"``: the steady state of the pair-correlation closure
        (:func:`anisotropy.pair_correlation.age_dependent_steady_state`, ``docs/physics/pair_correlation.md``): a
        generator that depends on the pair's age, the dipole decay and the source from the same
        :math:`\nu_1 = v^2/(3\kappa_\parallel)`, so :math:`C_1\ge(4\pi/9)|\delta|^2` exactly; no pair time
        (``pair_time_prefactor`` is ignored), ``converge`` not supported.  Its measured agreement with the simulator
        is in ``docs/validation/closures.md``.
        ``"emulator"``: the Gaussian-process emulator of the simulated C_ℓ/C_1 and C_1/((4π/9)δ²) over the campaign
        grid (:mod:`anisotropy.emulator`, ``docs/validation/emulator.md``); ℓ up to the largest trained ℓ only,
        refused outside the training box in (η, r_g/L_c); its predictive covariance is in ``params["derived"]``.
    solver : {"untruncated", "truncated"}
        ``"untruncated"`` (default): the ℓmax → ∞ steady state by one quadrature
        (:mod:`anisotropy.untruncated`), with the rate continued below :math:`\theta_c` =
        :data:`~anisotropy.untruncated.CONTINUATION_FACTOR` :math:`/(k_\max r_g\Omega\Delta T)` as an unbounded
        Kolmogorov range (mean of two bracketing exponents; ``derived["inner_scale_spread_l20"]`` is their largest
        half-difference for ℓ ≤ 20, a conservative systematic error).  ``"truncated"``: the dense solve at
        ``lmax`` (an absorbing boundary; low multipoles converge only like :math:`\ell_\max^{\beta-2}`).

    The result records ``params["derived"]["domain"]``: whether the inputs lie in the closure's validated domain
    (:data:`anisotropy.domain.VALIDATED_DOMAINS`, with the reasons if not) and whether :math:`C_1` falls below the
    exact bound :math:`(4\pi/9)|\boldsymbol\delta|^2`; the plot repeats both flags.

    Returns
    -------
    ClResult
        ``.ell``, ``.cl`` (``cl[0]`` nan), ``.params``; ``.plot()``, ``.save(outdir)``.

    Raises
    ------
    ParameterError
        Any input outside its range (the message names it and the range), and regimes the model cannot describe
        (:func:`anisotropy.domain.refusal`: ``"isotropic"`` with η = 1 needs ballistic orbits, r_g ≥ L_c).

    Notes
    -----
    Uncertainties, largest first:

    * The pair-time prefactor a is an O(1) constant of a scaling argument (docs/physics/mixing_ode.md#pair-time, [D/S])
      and sets how much
      power leaves the dipole; until the simulator calibrates it, absolute :math:`C_{\ell\ge2}` are model
      predictions at the factor-of-a-few level.
    * **Truncation** (``solver="truncated"`` only).  ℓmax is an absorbing boundary (docs/physics/mixing_ode.md#ode).
      For the
      default slab rate :math:`-k\propto(1-x)^{\beta/2}` with a local :math:`\beta\approx1.1\to1.6`, so the low
      multipoles approach the untruncated limit only like :math:`\ell_\max^{\beta-2}`: at the defaults
      :math:`C_{20}/C_1` rises by 11, 8, 6, 5 % per doubling of ℓmax from 200 to 3200.
    * The discrete inner scale: see :data:`K_MAX_GYRORADIUS_TARGET` (≤ 1.3 % for ℓ ≤ 20 at the default).
    * :math:`L_c`, :math:`\eta` and :math:`B_\mathrm{tot}` of the local ISM (above).  With the defaults slab
      QLT gives :math:`\kappa_\parallel\approx1.7\times10^{28}` cm²/s at 10 TeV, well below the Galactic
      average inferred from secondary-to-primary ratios (~3e28 (E/GeV)^(1/3..1/2) ≈ 1e30 cm²/s [R]); the :math:`C_\ell`
      depend on :math:`\kappa_\parallel` only through :math:`\Omega\tau_s` because the dipole fixes the
      normalisation.

    Examples
    --------
    >>> import math
    >>> import anisotropy as an
    >>> result = an.predict_cl(10.0, lmax=16)   # 10 TeV protons, default field and turbulence, slab model
    >>> result.ell[:3]
    array([0, 1, 2])
    >>> math.isclose(result.params["derived"]["dipole_cl"], 4 * math.pi / 9 * 1e-3**2)   # C_1 of a 1e-3 dipole
    True
    >>> bool(result.cl[2] < result.cl[1])
    True
    """
    inputs = PredictionInputs(energy, charge=charge, mass_number=mass_number, b_rms=b_rms, l_c=l_c, eta=eta,
                              lmin_over_lmax=lmin_over_lmax, model=model, dipole=dipole, gradient=gradient,
                              gradient_angle=gradient_angle, pair_time_prefactor=pair_time_prefactor, lmax=lmax,
                              modes_per_decade=modes_per_decade, converge=converge, closure=closure, solver=solver)
    reduced = inputs.reduced
    refused = domain.refusal(inputs.model, inputs.eta, reduced.reduced_rigidity, inputs.energy)
    if refused is not None:
        raise refused
    # Ωτ_s once per prediction: the pair time, the transport, the closure check and the record all use this value
    omega_tau_s = _omega_scattering_time(inputs.turbulence, reduced.reduced_rigidity)
    rate = _pair_rate(inputs.turbulence, reduced.reduced_rigidity, reduced.speed, inputs.pair_time_prefactor,
                      omega_tau_s)
    coefficients = _transport(inputs.turbulence, reduced.reduced_rigidity, omega_tau_s)

    # ODE units: time 1/Ω, length L_c, hence v = r_g/L_c (Ω = v/r_g)
    speed = reduced.reduced_rigidity
    kappa_parallel, kappa_perp = coefficients["kappa_parallel"], coefficients["kappa_perp"]
    diffusion = np.diag([kappa_perp, kappa_perp, kappa_parallel])
    theta = math.radians(inputs.gradient_angle)
    direction = np.array([math.sin(theta), 0.0, math.cos(theta)])  # B0 along z, G in the x-z plane
    if inputs.gradient is not None:
        gradient_lc = inputs.gradient * inputs.l_c
        dipole_amplitude = 3.0 * float(np.linalg.norm(diffusion @ direction)) * gradient_lc / speed
    else:
        dipole_amplitude = inputs.dipole
        gradient_lc = dipole_amplitude * speed / (3.0 * float(np.linalg.norm(diffusion @ direction)))
    dipole_cl = 4.0 * math.pi / 9.0 * dipole_amplitude**2
    pair_time = _pair_time(rate)
    ell, cl, info = _solve(inputs, rate, diffusion, gradient_lc * direction, dipole_cl, pair_time)

    omega = float(units.gyrofrequency(inputs.energy, inputs.b_rms, inputs.charge, inputs.mass_number))
    l_c_cm = inputs.l_c * units.PARSEC_M * 100.0
    derived = {
        "time_unit": "1/Omega (gyrofrequency in B_tot)",
        "length_unit": "L_c",
        "gyroradius_pc": inputs.gyroradius_pc,
        "gyrofrequency_per_s": omega,
        "reduced_rigidity": reduced.reduced_rigidity,
        "speed_over_c": reduced.speed,
        "eta": reduced.eta,
        "b_regular_uG": units.field_components(inputs.b_rms, inputs.eta)[0],
        "lmin_over_lmax": inputs.turbulence.lmin_over_lmax,
        "outer_scale_pc": inputs.outer_scale_pc,
        "k_min_r_g": 2.0 * math.pi * inputs.gyroradius_pc / inputs.outer_scale_pc,
        "k_max_r_g": inputs.k_max_r_g,
        "kappa_parallel": kappa_parallel,
        "kappa_perp": kappa_perp,
        "kappa_parallel_cm2_per_s": kappa_parallel * l_c_cm**2 * omega,
        "diffusion_tensor": diffusion,
        "omega_tau_s": omega_tau_s,
        "omega_pair_time": pair_time,
        "pair_time_prefactor": rate.params.get("pair_time_prefactor"),
        "gradient_angle_deg": inputs.gradient_angle,
        "gradient": gradient_lc,
        "gradient_per_pc": gradient_lc / inputs.l_c,
        "gradient_vector": gradient_lc * direction,
        "dipole": dipole_amplitude,
        "dipole_cl": dipole_cl,
        **info,
        "domain": _domain_flags(inputs, omega_tau_s, pair_time, cl[1] / dipole_cl),
        "rate_model": rate.name,
        "rate_params": rate.params,
    }
    params = {"inputs": inputs.record(), "derived": derived,
              "package": {"name": "cr-anisotropy", "version": __version__}}
    return ClResult(ell=ell, cl=cl, params=params)


def _solve(inputs: PredictionInputs, rate, diffusion, gradient, dipole_cl: float, pair_time):
    """(ell, cl, info) of the chosen closure, in the ODE units of :func:`predict_cl`."""
    if inputs.closure == "emulator":
        return _emulated(inputs.model, inputs.reduced, inputs.lmax, dipole_cl)
    if inputs.closure != "markov":
        return _age_dependent(inputs, diffusion, gradient)
    # θ_c of the untruncated solve; a model that records no pair time is treated as a generic rate
    continuation = None if pair_time is None else CONTINUATION_FACTOR * inner_angle(inputs.k_max_r_g, pair_time)
    return cl_from_rate(rate, diffusion_tensor=diffusion, gradient=gradient, lmax=inputs.lmax,
                        converge=inputs.converge, solver=inputs.solver, continuation_angle=continuation)


def _domain_flags(inputs: PredictionInputs, omega_tau_s: float, pair_time, c1_over_dipole_cl: float) -> dict:
    """The validated-domain flags (:mod:`anisotropy.domain`) and the Liouville bound on :math:`C_1`."""
    reduced = inputs.reduced
    flags = domain.domain_flags(inputs.closure, inputs.model, reduced.eta, reduced.reduced_rigidity)
    violation = None if pair_time is None else domain.closure_violation(inputs.closure, omega_tau_s, pair_time)
    flags["closure_assumption_violated"] = violation
    if violation is not None:
        flags["validated"] = False
        flags["outside"].append(violation)
    # Liouville (and Jensen) require <C_1> >= (4π/9)|<δ>|² (issue 12): a closure that breaks it is flagged
    flags["c1_over_dipole_cl"] = float(c1_over_dipole_cl)
    flags["c1_below_liouville_bound"] = bool(c1_over_dipole_cl < 1.0)
    return flags


def _check_solver(closure: str, solver: str, converge: bool) -> None:
    """The solver options that go together with the closure (one line naming the option otherwise)."""
    if solver not in SOLVERS:
        raise ParameterError("solver", f"must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if converge and solver != "truncated":
        raise ParameterError("converge", "applies only to solver='truncated' (the untruncated solve has no lmax)")
    if closure != "markov" and solver != DEFAULT_SOLVER:
        raise ParameterError("solver", f"the {closure} closure has its own steady state; use the default solver")


def _emulated(model, reduced, lmax, dipole_cl):
    """C_l from the simulation-calibrated emulator (anisotropy.emulator, docs/validation/emulator.md): C_1 =
    emulated C_1/((4π/9)δ²) times (4π/9)δ², C_l = emulated C_l/C_1 times C_1, for l up to the largest trained l."""
    from . import emulator

    state = emulator.load_emulator()
    trained_lmax = round(math.exp(max(row[0] for row in state["payload"]["kinds"][model]["x"])))
    lmax_emulated = min(lmax, trained_lmax)
    out = emulator.emulate(model, reduced.eta, reduced.reduced_rigidity, range(2, lmax_emulated + 1), state=state)
    c1 = out["c1_ratio"] * dipole_cl
    cl = np.concatenate([[0.0, c1], c1 * out["ratio"]])
    info = {"lmax_solved": lmax_emulated, "emulator_ratio_covariance": out["ratio_covariance"],
            "emulator_c1_ratio_variance": out["c1_ratio_variance"],
            "emulator_campaign_sha256": state["payload"]["provenance"]["campaign_sha256"]}
    return np.arange(lmax_emulated + 1), cl, info


def _age_dependent(inputs: PredictionInputs, diffusion, gradient):
    r"""Steady state of the age-dependent pair-correlation closure, scaled to the source of :func:`dipole_source`.

    The closure's :math:`C_\ell` are per unit :math:`v^2|G|^2` with :math:`K = v^2/(3\nu_1)` along the gradient;
    :math:`|G|^2\to\mathbf G\cdot K\cdot\mathbf G/\kappa_\parallel` gives the source
    :math:`(8\pi/3)\mathbf G\cdot K\cdot\mathbf G` (for κ⊥ = 0 only the component along B0 counts).
    """
    from .pair_correlation import age_dependent_steady_state

    reduced = inputs.reduced
    speed = reduced.reduced_rigidity  # v in L_c Ω
    kappa_parallel = float(diffusion[2, 2])
    decay_rate = speed**2 / (3.0 * kappa_parallel)
    unit_cl, details = age_dependent_steady_state(inputs.model, reduced.reduced_rigidity, reduced.eta, inputs.lmax,
                                                  decay_rate=decay_rate,
                                                  lmin_over_lmax=inputs.turbulence.lmin_over_lmax,
                                                  modes_per_decade=inputs.turbulence.modes_per_decade)
    effective_gradient_squared = float(gradient @ diffusion @ gradient) / kappa_parallel
    cl = unit_cl * speed**2 * effective_gradient_squared
    info = {"source": dipole_source(diffusion, gradient), "lmax_solved": inputs.lmax, "closure_details": details,
            "dipole_decay_rate": decay_rate}
    return np.arange(inputs.lmax + 1), cl, info


def _omega_scattering_time(turbulence: Turbulence, reduced_rigidity: float) -> float:
    r""":math:`\Omega\tau_s` of a prediction, computed once and passed to everything that needs it.

    With a regular field (slab, or isotropic with η < 1) the slab-QLT value
    (:func:`anisotropy.transport.omega_scattering_time`, docs/physics/transport.md#slab-qlt); isotropic with
    :math:`B_0 = 0` the Markov limit of the ballistic pair model
    (:func:`anisotropy.pair_rates.ballistic_omega_scattering_time` on the discrete modes).
    """
    if turbulence.kind == "isotropic" and turbulence.eta == 1.0:
        from .pair_rates import ballistic_omega_scattering_time
        from .spectrum import kolmogorov_modes

        wavenumbers, fractions = kolmogorov_modes(turbulence.lmin_over_lmax, turbulence.modes_per_decade,
                                                  turbulence.spectral_index)
        return ballistic_omega_scattering_time(reduced_rigidity, wavenumbers, fractions)
    from . import transport  # scipy.integrate: imported on first use, so the CLI answers --help and errors fast

    return transport.omega_scattering_time(reduced_rigidity, turbulence=turbulence)


def _transport(turbulence: Turbulence, reduced_rigidity: float, omega_tau_s: float) -> dict:
    r"""Diffusion coefficients in :math:`L_c^2\Omega` from :math:`\Omega\tau_s` (docs/physics/transport.md#slab-qlt,
    docs/physics/mixing_ode.md#ode-limits).

    :math:`\kappa_\parallel = v^2\tau_s/3` with :math:`v = r_g/L_c` in these units, i.e.
    :math:`\rho^2\,\Omega\tau_s/3` (:math:`\nu_1 = 1/\tau_s`, docs/physics/mixing_ode.md#ode), with the one
    :math:`\Omega\tau_s` of :func:`_omega_scattering_time`:

    * ``"slab"``: slab QLT (the same :math:`\kappa_\parallel` as :func:`anisotropy.transport.parallel_diffusion`,
      which is in :math:`cL_c`: :math:`K = \kappa\,c/(L_c\Omega) = \kappa\,\rho/\beta`).
      :math:`\kappa_\perp = 0` (slab QLT: field lines do not diffuse for a spectrum without k < k_min).
    * ``"isotropic"``, η = 1: :math:`B_0 = 0`, so :math:`K` is isotropic, with the model's own small-angle
      :math:`\tau_s` (:meth:`anisotropy.pair_rates.PairRate.isotropic`).
    * ``"isotropic"``, η < 1: the slab-QLT scattering time (the pair model's own Markov limit diverges
      logarithmically, see :meth:`~anisotropy.pair_rates.PairRate.isotropic`).  This is an approximation: QLT of
      isotropic turbulence differs from slab QLT by an O(1) geometry factor (not computed here).
      :math:`\kappa_\perp = 0`: across an isotropic field with :math:`B_0` particles follow wandering field
      lines, which is compound subdiffusion at late times (:func:`anisotropy.transport.heuristic_perpendicular_\
      diffusion`; the validation transport checks measure it), so there is no finite steady-state
      :math:`\kappa_\perp`.  The :math:`C_\ell` depend on K only through :math:`\mathbf G\cdot K\cdot\mathbf G`
      (normalisation) when the dipole is given.
    """
    kappa = reduced_rigidity**2 * omega_tau_s / 3.0
    isotropic_without_b0 = turbulence.kind == "isotropic" and turbulence.eta == 1.0
    return {"kappa_parallel": kappa, "kappa_perp": kappa if isotropic_without_b0 else 0.0,
            "omega_tau_s": omega_tau_s}


def _pair_rate(turbulence: Turbulence, reduced_rigidity: float, speed: float, pair_time_prefactor,
               omega_tau_s: float):
    """The pair-rate model k(x) in units of Ω (docs/physics/pair_rates.md#slab-pair-rate,
    docs/physics/pair_rates.md#isotropic-pair-rate) on the discrete spectrum of the simulator, with the
    prediction's Ωτ_s."""
    from .pair_rates import DEFAULT_PAIR_TIME_PREFACTOR, PairRate

    if pair_time_prefactor is None:
        pair_time_prefactor = DEFAULT_PAIR_TIME_PREFACTOR
    # float32 projections for slab: C_l change by < 1e-5 (tests/anisotropy/test_predict.py), half the cost
    return PairRate.from_turbulence(turbulence, reduced_rigidity, pair_time_prefactor=pair_time_prefactor,
                                    speed=speed, single_precision=turbulence.kind == "slab", omega_tau_s=omega_tau_s)


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


