r"""Plane-wave synthetic turbulence (Giacalone & Jokipii 1999; Tautz & Dosch 2013),
docs/physics/simulator.md#plane-wave-field item 1.

.. math:: \mathbf B(\mathbf r) = B_0\hat z + \sum_{n=1}^{N} A_n\,\hat\xi_n\cos(k_n\hat\kappa_n\cdot\mathbf r+\beta_n),
          \qquad A_n^2 = 2\langle\delta B^2\rangle f_n,

in units of :math:`B_\mathrm{tot}`: :math:`B_0 = \sqrt{1-\eta}`, :math:`\langle\delta B^2\rangle = \eta`
(docs/physics/conventions.md#correlation-length).  The wavenumbers :math:`k_n` (in :math:`1/L_c`) and power fractions
:math:`f_n` come from
:func:`anisotropy.spectrum.kolmogorov_modes`, the same modes the theory uses.

* ``"isotropic"``: :math:`\hat\kappa_n` uniform on the sphere; :math:`\hat\xi_n = \cos\alpha_n\,\hat e_\theta +
  \sin\alpha_n\,\hat e_\phi` with :math:`\alpha_n` uniform, so :math:`\hat\xi_n\perp\hat\kappa_n` and
  :math:`\nabla\cdot\delta\mathbf B = 0` exactly.
* ``"slab"``: :math:`\hat\kappa_n = \hat z`, :math:`\hat\xi_n = (\cos\alpha_n, \sin\alpha_n, 0)`.
* :math:`\beta_n` uniform in :math:`[0, 2\pi)`.

Random numbers: one :class:`numpy.random.Generator` (PCG64) seeded by the realisation's
:class:`numpy.random.SeedSequence`; draws in the fixed order :math:`\cos\theta_n`, :math:`\phi_n` (isotropic only),
:math:`\alpha_n`, :math:`\beta_n`, each a length-N vector, so a seed reproduces the realisation bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from anisotropy.errors import ParameterError
from anisotropy.spectrum import kolmogorov_modes

from .config import TurbulenceConfig
from .pusher import evaluate_field
from .simd import pad_modes
from .slab_table import SlabTable, check_slab_field

__all__ = ["TurbulenceField", "as_seed_sequence"]


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """A :class:`numpy.random.SeedSequence` from a SeedSequence or a non-negative int
    (docs/guide/design.md#engineering-conventions)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ParameterError("seed", f"expected a numpy SeedSequence or a non-negative int, got {seed!r}")


class TurbulenceField:
    r"""One realisation of plane-wave turbulence plus the regular field (docs/physics/simulator.md#plane-wave-field item
    1).

    Parameters
    ----------
    config : TurbulenceConfig
    seed : numpy.random.SeedSequence or int
    slab_field : {None, "table", "modes"}
        Overrides ``config.slab_field`` (``None``: use :attr:`TurbulenceConfig.field_evaluation`).  With
        ``"table"`` the field carries a :class:`validation.simulator.slab_table.SlabTable` (attribute ``table``,
        built on demand over the z the particles reach) that :mod:`validation.simulator.pusher` uses instead of
        the mode sum.

    Attributes
    ----------
    config : TurbulenceConfig or None
        ``None`` for fields made by :meth:`from_modes`.
    seed : numpy.random.SeedSequence or None
    wavenumbers : ndarray (N,)
        :math:`k_n` in :math:`1/L_c`.
    wavevectors : ndarray (N, 3)
        :math:`k_n\hat\kappa_n` in :math:`1/L_c`.
    polarisations : ndarray (N, 3)
        Amplitude times polarisation, :math:`A_n\hat\xi_n`, in units of :math:`B_\mathrm{tot}`.
    phases : ndarray (N,)
        :math:`\beta_n` in radians.
    b0 : ndarray (3,)
        Regular field :math:`(0, 0, \sqrt{1-\eta})`.
    table : SlabTable or None
        The slab table when the field is evaluated from it (``slab_field`` resolves to ``"table"``).

    Examples
    --------
    >>> import numpy as np
    >>> from validation import TurbulenceConfig, TurbulenceField
    >>> config = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    >>> field = TurbulenceField(config, seed=1)
    >>> field.n_modes
    16
    >>> field(np.zeros((1, 3))).shape   # B at the origin, in units of B_tot
    (1, 3)
    >>> round(field.turbulent_power(), 12)   # <dB^2> = sum of A_n^2 / 2 = eta
    0.5
    """

    def __init__(self, config: TurbulenceConfig, seed, *, slab_field: str | None = None):
        if not isinstance(config, TurbulenceConfig):
            raise ParameterError("config", f"expected a TurbulenceConfig, got {type(config).__name__}")
        self.config = config
        self.seed = as_seed_sequence(seed)
        wavenumbers, power_fraction = kolmogorov_modes(
            config.lmin_over_lmax, config.modes_per_decade, config.spectral_index
        )
        count = wavenumbers.size
        rng = np.random.default_rng(self.seed)
        if config.kind == "isotropic":
            cos_theta = rng.uniform(-1.0, 1.0, count)
            azimuth = rng.uniform(0.0, 2.0 * math.pi, count)
            sin_theta = np.sqrt(1.0 - cos_theta**2)
            direction = np.stack([sin_theta * np.cos(azimuth), sin_theta * np.sin(azimuth), cos_theta], axis=1)
            e_theta = np.stack([cos_theta * np.cos(azimuth), cos_theta * np.sin(azimuth), -sin_theta], axis=1)
            e_phi = np.stack([-np.sin(azimuth), np.cos(azimuth), np.zeros(count)], axis=1)
        else:
            direction = np.tile([0.0, 0.0, 1.0], (count, 1))
            e_theta = np.tile([1.0, 0.0, 0.0], (count, 1))
            e_phi = np.tile([0.0, 1.0, 0.0], (count, 1))
        polarisation_angle = rng.uniform(0.0, 2.0 * math.pi, count)
        phases = rng.uniform(0.0, 2.0 * math.pi, count)
        unit_polarisation = np.cos(polarisation_angle)[:, None] * e_theta + np.sin(polarisation_angle)[:, None] * e_phi
        amplitudes = np.sqrt(2.0 * config.eta * power_fraction)
        self._set_modes(
            wavevectors=wavenumbers[:, None] * direction,
            polarisations=amplitudes[:, None] * unit_polarisation,
            phases=phases,
            b0=np.array([0.0, 0.0, config.b0]),
        )
        evaluation = config.field_evaluation if slab_field is None else check_slab_field(slab_field)
        if evaluation == "table" and config.kind != "slab":
            raise ParameterError("slab_field", f"a table needs slab turbulence, not {config.kind!r}; use 'modes'")
        self.table = SlabTable.of_field(self) if evaluation == "table" else None

    @classmethod
    def from_modes(cls, wavevectors, polarisations, phases, b0, *, slab_field: str = "modes") -> TurbulenceField:
        r"""A field from explicit modes (e.g. a uniform field: zero modes), for tests and custom spectra.

        Parameters
        ----------
        wavevectors : array_like (N, 3)
            :math:`k_n\hat\kappa_n` in :math:`1/L_c`.
        polarisations : array_like (N, 3)
            :math:`A_n\hat\xi_n` in units of :math:`B_\mathrm{tot}` (not checked for :math:`\perp\hat\kappa_n`).
        phases : array_like (N,)
            :math:`\beta_n` in radians.
        b0 : array_like (3,)
            Regular field.
        slab_field : {"modes", "table"}
            ``"table"`` needs slab modes (wave vectors along z, polarisations in the x-y plane).
        """
        field = object.__new__(cls)
        field.config = None
        field.seed = None
        field._set_modes(wavevectors, polarisations, phases, b0)
        field.table = SlabTable.of_field(field) if check_slab_field(slab_field) == "table" else None
        return field

    def _set_modes(self, wavevectors, polarisations, phases, b0):
        wavevectors = np.asarray(wavevectors, dtype=np.float64).reshape(-1, 3)
        polarisations = np.asarray(polarisations, dtype=np.float64).reshape(-1, 3)
        phases = np.asarray(phases, dtype=np.float64).reshape(-1)
        b0 = np.asarray(b0, dtype=np.float64).reshape(3)
        if not (wavevectors.shape == polarisations.shape and phases.shape[0] == wavevectors.shape[0]):
            raise ParameterError("polarisations", "wavevectors, polarisations and phases need the same mode count")
        for name, array in (("wavevectors", wavevectors), ("polarisations", polarisations), ("phases", phases)):
            if not np.all(np.isfinite(array)):
                raise ParameterError(name, "must be finite")
        self.wavevectors = wavevectors
        self.wavenumbers = np.linalg.norm(wavevectors, axis=1)
        self.polarisations = polarisations
        self.phases = phases
        self.b0 = b0
        # phases in turns for the kernels (validation.simulator.pusher): t_n = nu_n . r + theta_n; padded once here with
        # zero-amplitude modes to whole SIMD vectors (validation.simulator.simd), which add exactly zero
        self._modes = pad_modes(
            np.concatenate([wavevectors.T / (2.0 * math.pi), phases[None, :] / (2.0 * math.pi), polarisations.T])
        )

    @property
    def n_modes(self) -> int:
        """Number of plane waves."""
        return self.phases.size

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(modes, b0)`` for :mod:`validation.simulator.pusher`: modes is C-contiguous (7, N') with the N modes
        padded by
        zero-amplitude columns to a multiple of :data:`validation.simulator.simd.LANES`, rows
        :math:`\nu_x,\nu_y,\nu_z,\theta,a_x,a_y,a_z` (wavevector and phase in turns;
        :math:`\mathbf a_n = A_n\hat\xi_n`).
        """
        return self._modes, self.b0

    @property
    def field_evaluation(self) -> str:
        """``"table"`` when the field is evaluated from its slab table, else ``"modes"``."""
        return "modes" if self.table is None else "table"

    def __call__(self, positions, kernel: str = "auto") -> np.ndarray:
        """:math:`\\mathbf B/B_\\mathrm{tot}` at ``positions`` (M, 3) in :math:`L_c`; ``kernel`` as in
        :func:`validation.simulator.pusher.kernel_selector` (``"libm"``: the reference twin of the mode sum; a
        field with a slab table uses the table whatever ``kernel``)."""
        return evaluate_field(self, positions, kernel=kernel)

    def turbulent_power(self) -> float:
        r""":math:`\sum_n A_n^2/2`: the spatial mean of :math:`|\delta\mathbf B|^2` (= :math:`\eta` by construction)."""
        return 0.5 * float(np.sum(self.polarisations**2))

    def correlation_length(self) -> float:
        r"""Correlation length of this realisation's modes in :math:`L_c`, in the convention of
        docs/physics/conventions.md#correlation-length.

        :math:`L_c = \int_{-\infty}^{\infty} R(r)\,dr` (two-sided), with the isotropic trace correlation
        :math:`R(r) = \sum_n w_n \sin(k_n r)/(k_n r)` (:func:`anisotropy.spectrum.isotropic_correlation`, weights
        :math:`w_n = A_n^2/\sum_m A_m^2`).  Since :math:`\int_0^\infty \sin(kr)/(kr)\,dr = \pi/2k`:

        .. math:: L_c = \pi \sum_n w_n / k_n .

        The continuum limit is :func:`anisotropy.units.correlation_length` (= 1 in these units); the discrete sum
        differs by the rectangle-rule error of the log-spaced mode grid.  For ``"slab"`` the number is the same
        (the slab shares the isotropic :math:`L_c` as length unit); its own two-sided integral of
        :math:`\sum_n w_n\cos(k_n z)` vanishes for any :math:`k_\min > 0`.
        """
        weights = np.sum(self.polarisations**2, axis=1)
        return float(math.pi * np.sum(weights / self.wavenumbers) / np.sum(weights))
