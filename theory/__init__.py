"""Exact, slow references (sympy/mpmath) for the equations the fast code relies on.

Never imported by :mod:`anisotropy` at run time, and it imports nothing from it; the test suite compares the
numerical code against it.  Modules: :mod:`theory.angular` (3j, Gaunt, product and sum rules, angular-momentum
identities), :mod:`theory.closure` (second-order closure → mixing matrix and Γ), :mod:`theory.toy` (white-noise
rotation toy), :mod:`theory.cascade` (untruncated steady state, ℓ^{β−4} tail), :mod:`theory.transport` (slab QLT,
dipole, correlation length), :mod:`theory.heuristic` (field-line and heuristic perpendicular transport),
:mod:`theory.pair_models` (direct evaluation of docs/physics/pair_rates.md#slab-pair-rate, eq. (4.6),
docs/physics/pair_rates.md#isotropic-pair-rate, eq. (4.7)).
See ``theory/README.md`` for the map from derivations to the code they protect.
"""
