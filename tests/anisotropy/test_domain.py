"""anisotropy.domain: the validated box of the default closure and the refusals, and how predict_cl records them."""

import pytest

from anisotropy import domain, predict
from anisotropy.errors import ParameterError


def test_every_closure_has_a_validated_domain_with_a_source():
    for closure in predict.CLOSURES:
        box = domain.VALIDATED_DOMAINS[closure]
        assert box.source and (not box.models or box.eta[0] < box.eta[1])
    assert predict.DEFAULT_CLOSURE in domain.VALIDATED_DOMAINS


def test_the_markov_closure_is_validated_nowhere_and_says_why():
    # validate --case with 16-24 realisations fails even at the report's passing cases (module constants)
    for case in domain.REPORT_PASSING_CASES:
        flags = domain.domain_flags("markov", *case)
        assert flags["validated"] is False and "nowhere" in flags["outside"][0]


@pytest.mark.parametrize(("model", "eta", "rigidity", "validated"), [
    ("slab", 0.1, 0.1, True), ("slab", 0.1, 0.3, True), ("slab", 0.05, 0.2, True),
    ("slab", 0.5, 0.3, False), ("slab", 0.1, 1.0, False), ("slab", 0.1, 0.01, False), ("isotropic", 0.1, 0.2, False),
])
def test_flags_of_a_box_follow_its_edges(model, eta, rigidity, validated):
    # a box like the one the report suggested (slab, eta in (0, 0.1], r_g/L_c in [0.1, 0.3])
    box = {"markov": domain.ValidatedDomain(("slab",), (0.0, 0.1), (0.1, 0.3), "test")}
    flags = domain.domain_flags("markov", model, eta, rigidity, domains=box)
    assert flags["validated"] is validated
    assert bool(flags["outside"]) is not validated


def test_default_prediction_is_flagged_outside_and_below_the_liouville_bound():
    result = predict.predict_cl(lmax=5, lmin_over_lmax=1e-3, modes_per_decade=32)
    flags = result.params["derived"]["domain"]
    assert flags["validated"] is False and flags["outside"]
    # the Markov closure's dipole decays faster than the source's QLT diffusion (issue 12: 0.60-0.74)
    assert flags["c1_below_liouville_bound"] is True and 0.5 < flags["c1_over_dipole_cl"] < 0.8


def test_refusal_names_energy_and_is_none_inside_the_model_assumptions():
    error = domain.refusal("isotropic", 1.0, 0.5, 100.0)
    assert isinstance(error, ParameterError) and error.name == "energy" and "200 TeV" in str(error)
    assert domain.refusal("isotropic", 1.0, 1.0, 100.0) is None
    assert domain.refusal("isotropic", 0.5, 0.01, 100.0) is None


def test_markov_closure_flags_a_pair_time_longer_than_the_scattering_time():
    # slab eta 0.5 at r_g/L_c = 3 (8.3 PeV in 3 µG, L_c = 1 pc): Omega tau_s = 1.65 < Omega DeltaT = 2.9, where the
    # prediction has C_1 = 13 x (4π/9)δ²; at r_g/L_c = 0.3 (Omega tau_s = 7.8, Omega DeltaT = 4.9) it holds
    from anisotropy import units

    flags = predict.predict_cl(float(units.energy_from_gyroradius(3.0, 3.0)), lmax=5,
                               modes_per_decade=32).params["derived"]["domain"]
    assert flags["closure_assumption_violated"].startswith("Omega*DeltaT")
    assert flags["validated"] is False and flags["closure_assumption_violated"] in flags["outside"]
    assert domain.closure_violation("markov", 7.8, 4.9) is None
