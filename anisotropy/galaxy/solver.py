r"""Full steady-state solver of the two-zone model in height z and kinetic energy per nucleon T, for the network.

For each species, with :math:`M = T\,N` (density per unit ln T) and :math:`u = \ln T`,

.. math:: -\partial_z(\kappa\,\partial_z M) + \partial_u(a M) + \Gamma M = T q,\qquad
          a = \dot T/T = -b(T)/T\ (\text{disk only}),\qquad M(z = \pm H) = 0,

:math:`\kappa = \alpha\kappa(R)` in the disk and :math:`\kappa(R)` in the halo, :math:`\Gamma` = decay (everywhere)
+ inelastic collisions on the disk gas, :math:`q` = primary injection (disk) or production by the parents
(fragmentation in the disk, decay everywhere).

Discretisation
--------------
* **z**: nodes on :math:`0 \le z \le H` with a node at h (uniform spacing in the disk and in the halo).  On each
  interval the coefficients are constant and the interval source is the mean of its end-node values; the three-point
  relation between neighbouring nodes is the *exact* one for constant coefficients (exponential fitting:
  :math:`\kappa N'` at an interval end from the local solution
  :math:`q/\Gamma + A\cosh kz + B\sinh kz`, :math:`k^2 = \Gamma/\kappa`), so the closed form of
  :func:`anisotropy.galaxy.two_zone_density` is reproduced to rounding error at any resolution, and the general
  case (sources varying in z) converges at second order.
* **u = ln T**: finite volumes of width :math:`\Delta u`; the loss flux through each face is taken upwind (from
  the cell above, since losses only lower T) with the linear (second-order) reconstruction
  :math:`M_{j+1/2} = \tfrac32 M_{j+1} - \tfrac12 M_{j+2}` (first order on the face below the top cell; the top face
  carries the top cell's own value, zero gradient, where losses are negligible against escape).  The face fluxes
  telescope (conservative scheme), and the solution is marched from the highest energy down, one tridiagonal solve
  in z per (energy, species).  The coupling between energy cells is lumped at the z nodes (control volume: half of
  each adjacent disk interval) so that the many energy steps do not accumulate a smoothing in z.

Convergence: second order in :math:`\Delta z` and in :math:`\Delta u` (measured in ``benchmarks/galaxy.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dgtsv

from anisotropy.errors import ParameterError, require_integer, require_range

from .cross_sections import inelastic_cross_section
from .network import Network, build_network
from .transport import (
    MYR_S,
    NUCLEON_REST_ENERGY_GEV,
    Medium,
    decay_rate,
    diffusion_coefficient,
    energy_loss_rate,
    momentum_per_nucleon,
    speed,
)

__all__ = ["GalaxyModel", "Solution", "solve"]

#: n [cm^-3] * sigma [mb] * c [cm/s] in 1/Myr
_RATE_PER_CM3_MB = 1e-27 * 2.99792458e10 * MYR_S
#: below this |k dz| the series of the exponential-fitting weights is used (truncation error < 1e-13)
_SERIES_ARGUMENT = 1e-3


@dataclass
class GalaxyModel:
    r"""Parameters of one model (lengths kpc, κ0 in kpc²/Myr at rigidity ``reference_rigidity`` GV, T in GeV/n).

    ``alpha`` is :math:`\kappa_\mathrm{disk}/\kappa_\mathrm{halo}`; ``injection_index`` is the source slope in
    rigidity, :math:`Q \propto R^{-s}`; resolution: ``disk_intervals`` and ``halo_intervals`` in z,
    ``energies_per_decade`` between ``energy_min`` and ``energy_max``.
    """

    h: float = 0.1
    H: float = 4.0
    kappa0: float = 0.03
    delta: float = 0.5
    alpha: float = 1.0
    reference_rigidity: float = 1.0
    injection_index: float = 2.3
    medium: Medium = field(default_factory=Medium)
    network: Network | None = None
    energy_min: float = 0.01
    energy_max: float = 1000.0
    energies_per_decade: int = 32
    disk_intervals: int = 8
    halo_intervals: int = 48
    energy_losses: bool = True

    def __post_init__(self):
        self.h = require_range("h", self.h, 0.0, None, low_open=True)
        self.H = require_range("H", self.H, 0.0, None, low_open=True)
        if self.h >= self.H:
            raise ParameterError("h", f"the disk half-height must be smaller than H = {self.H:g} kpc, got {self.h:g}")
        self.kappa0 = require_range("kappa0", self.kappa0, 0.0, None, low_open=True)
        self.delta = require_range("delta", self.delta, 0.0, 1.5)
        self.alpha = require_range("alpha", self.alpha, 0.0, None, low_open=True)
        self.reference_rigidity = require_range("reference_rigidity", self.reference_rigidity, 0.0, None,
                                                low_open=True)
        self.injection_index = require_range("injection_index", self.injection_index, 0.0, 6.0)
        self.energy_min = require_range("energy_min", self.energy_min, 0.0, None, low_open=True)
        self.energy_max = require_range("energy_max", self.energy_max, self.energy_min, None, low_open=True)
        self.energies_per_decade = require_integer("energies_per_decade", self.energies_per_decade, 2, 1000)
        self.disk_intervals = require_integer("disk_intervals", self.disk_intervals, 1, 10000)
        self.halo_intervals = require_integer("halo_intervals", self.halo_intervals, 1, 100000)
        if self.network is None:
            self.network = build_network()

    def heights(self):
        """Nodes 0 .. H with a node at h."""
        disk = np.linspace(0.0, self.h, self.disk_intervals + 1)
        halo = np.linspace(self.h, self.H, self.halo_intervals + 1)[1:]
        return np.concatenate([disk, halo])

    def energies(self):
        """Cell centres in T (GeV/n), uniform in ln T, and the cell width in ln T."""
        decades = np.log10(self.energy_max / self.energy_min)
        cells = max(2, round(decades * self.energies_per_decade))
        faces = np.geomspace(self.energy_min, self.energy_max, cells + 1)
        return np.sqrt(faces[:-1] * faces[1:]), faces, np.log(faces[1] / faces[0])

    def to_dict(self):
        return {key: (value.to_dict() if hasattr(value, "to_dict") else value)
                for key, value in self.__dict__.items()}


@dataclass
class Solution:
    """Steady state: ``density[name]`` is N(z, T) (per GeV/n, arbitrary overall normalisation), shape (nz, nT)."""

    z: np.ndarray
    energy: np.ndarray
    density: dict
    model: GalaxyModel

    def local(self, name):
        """N at the Sun (z = 0) against ``energy``."""
        if name not in self.density:
            raise ParameterError("isotope", f"unknown isotope {name!r}; the network has {sorted(self.density)}")
        return self.density[name][0]

    def flux(self, name):
        """Interstellar flux :math:`J = \\beta N/4\\pi` at z = 0 (velocity in units of c; per sr)."""
        return speed(self.energy) * self.local(name) / (4 * np.pi)

    def element(self, charge):
        """Summed local density of all isotopes of one element."""
        names = [item.name for item in self.model.network.species if item.charge == charge]
        if not names:
            raise ParameterError("isotope", f"no isotope with Z = {charge} in the network")
        return sum(self.local(name) for name in names)


def _fitting_weights(kappa, rate, width):
    r"""Exact three-point weights of one interval with constant :math:`\kappa,\Gamma`: returns (off, diag, source)
    with :math:`\kappa N'(\text{left end}) = \text{off}\,N_\text{right} - \text{diag}\,N_\text{left} + \text{source}
    \cdot q` (and mirrored at the right end)."""
    x = np.sqrt(rate / kappa) * width
    small = x < _SERIES_ARGUMENT
    xs = np.where(small, 1.0, x)
    big = xs > 600.0
    clipped = np.minimum(xs, 700.0)
    x_over_sinh = np.where(small, 1.0 - x**2 / 6.0, np.where(big, 2.0 * xs * np.exp(-clipped), xs / np.sinh(clipped)))
    x_over_tanh = np.where(small, 1.0 + x**2 / 3.0, xs / np.tanh(xs))
    tanh_half_ratio = np.where(small, 1.0 - x**2 / 12.0, np.tanh(0.5 * xs) / (0.5 * xs))
    return kappa / width * x_over_sinh, kappa / width * x_over_tanh, 0.5 * width * tanh_half_ratio


def _interval_mean(nodal):
    return 0.5 * (nodal[:-1] + nodal[1:])


def _assemble(kappa, rate, widths):
    """Tridiagonal matrices of all energies at once: (main diagonal, off-diagonal, interval source weights),
    shapes (nT, n), (nT, n - 1), (nT, n) for n intervals (unknowns: nodes 0 .. n-1; the node at H is 0)."""
    off, diag, weight = _fitting_weights(kappa, rate, widths)
    main = diag.copy()
    main[:, 1:] += diag[:, :-1]
    return main, -off[:, :-1], weight


def _solve_tridiagonal(main, off, rhs):
    """Symmetric tridiagonal solve (LAPACK gtsv, no pivoting needed: the matrix is diagonally dominant)."""
    _, _, _, values, info = dgtsv(off, main, off, rhs, overwrite_dl=False, overwrite_d=False, overwrite_du=False,
                                  overwrite_b=True)
    if info != 0:
        raise FloatingPointError(f"tridiagonal solve failed (LAPACK info {info})")
    return values


def _species_coefficients(item, model, energy, faces, beta):
    """Per-species rates on the energy grid: κ, decay, disk collisions, loss rate at the faces, injection,
    production from each parent and feeding by each decaying parent."""
    network = model.network
    gas = model.medium.n_hydrogen
    n_energy = energy.size
    kappa = diffusion_coefficient(energy, item.charge, item.mass_number, kappa0=model.kappa0, delta=model.delta,
                                  reference_rigidity=model.reference_rigidity)
    decay = decay_rate(energy, item.half_life_myr) if item.half_life_myr else np.zeros(n_energy)
    collisions = gas * inelastic_cross_section(energy, item.charge, item.mass_number) * beta * _RATE_PER_CM3_MB
    if model.energy_losses:
        face_rate = -energy_loss_rate(faces, item.charge, item.mass_number, model.medium) / faces  # a < 0
    else:
        face_rate = np.zeros(faces.size)
    injection = np.zeros(n_energy)
    if item.source_abundance > 0:
        # Q(R) = abundance R^-s per unit rigidity; per unit ln T: T Q(R) dR/dT, dR/dT = (A/Z)(T + m)/p_n
        p_n = momentum_per_nucleon(energy)
        rigidity = item.mass_number / item.charge * p_n
        d_rigidity = item.mass_number / item.charge * (energy + NUCLEON_REST_ENERGY_GEV) / p_n
        injection = item.source_abundance * energy * rigidity ** (-model.injection_index) * d_rigidity
    production = {parent.name: gas * network.cross_sections.production(
        (parent.charge, parent.mass_number), (item.charge, item.mass_number), energy) * beta * _RATE_PER_CM3_MB
        for parent in network.parents(item.name)}
    feeding = {parent.name: decay_rate(energy, parent.half_life_myr) for parent in network.decay_parents(item.name)}
    return kappa, decay, collisions, face_rate, injection, production, feeding


def solve(model: GalaxyModel | None = None, **parameters) -> Solution:
    """Steady state of the whole network on the model's (z, T) grid (see the module docstring for the scheme).

    Examples
    --------
    >>> from anisotropy.galaxy.solver import GalaxyModel, solve
    >>> solution = solve(GalaxyModel(alpha=0.2, energies_per_decade=4))
    >>> ratio = solution.element(5) / solution.element(6)   # B/C against T
    >>> bool(0.05 < ratio[len(ratio) // 2] < 1.0)
    True
    """
    model = GalaxyModel(**parameters) if model is None else model
    network = model.network
    z = model.heights()
    widths = np.diff(z)
    in_disk = z[1:] <= model.h + 1e-12 * model.H
    energy, faces, step = model.energies()
    beta = speed(energy)
    n_energy = energy.size

    coefficients = {item.name: _species_coefficients(item, model, energy, faces, beta) for item in network.species}

    density = {item.name: np.zeros((z.size, n_energy)) for item in network.species}  # holds M = T N
    disk_factor = in_disk.astype(float)
    # disk part of each node's control volume (half of each adjacent disk interval); the node at H is not solved
    disk_nodes = np.zeros(z.size - 1)
    disk_nodes[:-1] += 0.5 * widths[:-1] * disk_factor[:-1]
    disk_nodes[1:] += 0.5 * widths[:-1] * disk_factor[:-1]
    disk_nodes[-1] += 0.5 * widths[-1] * disk_factor[-1]
    disk_kappa = np.where(in_disk, model.alpha, 1.0)
    matrices = {}
    for item in network.species:
        kappa, decay, collisions = coefficients[item.name][:3]
        matrices[item.name] = _assemble(kappa[:, None] * disk_kappa, decay[:, None] + collisions[:, None] * disk_factor,
                                        widths)
    for j in range(n_energy - 1, -1, -1):
        for item in network.species:
            _, _, _, face_rate, injection, production, feeding = coefficients[item.name]
            main, off, weight = (array[j] for array in matrices[item.name])
            source = injection[j] * disk_factor
            for parent, value in production.items():
                source = source + value[j] * disk_factor * _interval_mean(density[parent][:, j])
            for parent, value in feeding.items():
                source = source + value[j] * _interval_mean(density[parent][:, j])
            weighted = source * weight
            rhs = weighted.copy()
            rhs[1:] += weighted[:-1]
            if model.energy_losses:
                # nodal (lumped) coupling between energy cells, so that repeated steps do not smooth in z.
                # lower face (upwind cell j): |a| (3/2 M_j - 1/2 M_{j+1}), first order for the top cell, whose
                # upper face carries its own value (zero gradient); other upper faces: 3/2 M_{j+1} - 1/2 M_{j+2}
                column = density[item.name]
                outflow, inflow = -face_rate[j] / step, -face_rate[j + 1] / step
                if j + 1 == n_energy:
                    main = main + disk_nodes * (outflow - inflow)
                else:
                    above = column[:-1, j + 1]
                    face_value = 1.5 * above - 0.5 * column[:-1, j + 2] if j + 2 < n_energy else above
                    main = main + disk_nodes * 1.5 * outflow
                    rhs += disk_nodes * (0.5 * outflow * above + inflow * face_value)
            density[item.name][:-1, j] = _solve_tridiagonal(main, off, rhs)
    return Solution(z, energy, {name: values / energy for name, values in density.items()}, model)
