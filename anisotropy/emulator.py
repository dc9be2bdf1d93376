"""Gaussian-process emulator of the simulated C_l/C_1 over the campaign grid.

The emulated quantities are ``ln(C_l/C_1)`` as a function of ``(ln l, eta, log10 r_g/L_c)``
and ``ln(C_1/((4 pi/9) delta^2))`` as a function of ``(eta, log10 r_g/L_c)``, one emulator
per turbulence kind.  The training data are the campaign cases (docs/validation/campaign);
each case's measured covariance of C_l/C_1, propagated to the logarithm, is the
(heteroscedastic, block-diagonal) noise.  See docs/validation/emulator.md.

Kernel: a constant times an anisotropic squared exponential (one length per input).
The simulated spectra vary smoothly with all three inputs and the grid is coarse, so an
infinitely differentiable kernel with per-input lengths is the least-assumption choice;
hyperparameters (amplitude, lengths, constant mean) maximise the marginal likelihood.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from anisotropy.errors import ParameterError

EMULATOR_FILE = Path(__file__).parent / "data" / "cl_emulator.json"
# Floor on the relative noise of ln C_1 ratio: the campaign stores no error on C_1, so a
# fitted homoscedastic noise is used; this floor keeps the Cholesky well conditioned.
C1_NOISE_FLOOR = 1e-3
JITTER = 1e-10  # relative diagonal jitter for numerical positive definiteness
KINDS = ("slab", "isotropic")


def _sq_exp(x1, x2, amplitude, lengths):
    scaled1 = x1 / lengths
    scaled2 = x2 / lengths
    d2 = (np.sum(scaled1**2, 1)[:, None] + np.sum(scaled2**2, 1)[None, :]
          - 2.0 * scaled1 @ scaled2.T)
    return amplitude**2 * np.exp(-0.5 * np.maximum(d2, 0.0))


def gp_posterior(x_train, y_train, noise_cov, x_test, amplitude, lengths, mean):
    """Posterior mean and covariance of a GP with a constant mean (Rasmussen & Williams eq. 2.25-2.26).

    Parameters
    ----------
    x_train, x_test : ndarray, shape (n, d), (m, d)
    y_train : ndarray, shape (n,)
    noise_cov : ndarray, shape (n, n)
        Noise covariance of the training values.
    amplitude, lengths, mean : float, ndarray, float
        Kernel hyperparameters and the constant mean.

    Returns
    -------
    mean_test, cov_test : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0]])
    >>> m, c = gp_posterior(x, np.array([1.0, 1.0]), 1e-6 * np.eye(2), x, 1.0, np.array([1.0]), 1.0)
    >>> bool(np.allclose(m, 1.0))
    True
    """
    k = _sq_exp(x_train, x_train, amplitude, lengths) + noise_cov
    k += JITTER * amplitude**2 * np.eye(len(k))
    factor = cho_factor(k, lower=True)
    alpha = cho_solve(factor, y_train - mean)
    k_star = _sq_exp(x_test, x_train, amplitude, lengths)
    mean_test = mean + k_star @ alpha
    cov_test = _sq_exp(x_test, x_test, amplitude, lengths) - k_star @ cho_solve(factor, k_star.T)
    return mean_test, cov_test


def _neg_log_marginal(params, x, y, noise_cov):
    amplitude = np.exp(params[0])
    lengths = np.exp(params[1:-1])
    mean = params[-1]
    k = _sq_exp(x, x, amplitude, lengths) + noise_cov + JITTER * amplitude**2 * np.eye(len(y))
    try:
        lower, _ = cho_factor(k, lower=True)
    except np.linalg.LinAlgError:
        return 1e10
    alpha = cho_solve((lower, True), y - mean)
    return 0.5 * (y - mean) @ alpha + np.sum(np.log(np.diag(lower)))


def fit_hyperparameters(x, y, noise_cov):
    """Maximum marginal likelihood amplitude, lengths and mean (L-BFGS-B in log space).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 3, 12)[:, None]
    >>> h = fit_hyperparameters(x, np.sin(x[:, 0]), 1e-4 * np.eye(12))
    >>> sorted(h)
    ['amplitude', 'lengths', 'mean']
    """
    span = np.ptp(x, axis=0)
    span[span == 0] = 1.0
    start = np.concatenate([[np.log(np.std(y) + 1e-3)], np.log(span / 2.0), [np.mean(y)]])
    bounds = ([(-7.0, 4.0)] + [(np.log(s / 20.0), np.log(s * 20.0)) for s in span]
              + [(np.min(y) - 3.0, np.max(y) + 3.0)])
    result = minimize(_neg_log_marginal, start, args=(x, y, noise_cov), method="L-BFGS-B",
                      bounds=bounds)
    return {"amplitude": float(np.exp(result.x[0])), "lengths": np.exp(result.x[1:-1]).tolist(),
            "mean": float(result.x[-1])}


def _as_array(value):
    return np.asarray(json.loads(value) if isinstance(value, str) else value, dtype=float)


def case_training_rows(case):
    """(inputs, ln ratio, ln-space covariance) of one campaign case's usable, positive C_l/C_1.

    Examples
    --------
    >>> c = {"ells": [2, 3], "cl_ratio": [0.2, 0.1], "cl_ratio_covariance": [[1e-4, 0], [0, 1e-4]],
    ...      "usable_ells": [2], "eta": 0.5, "rigidity": 0.1}
    >>> case_training_rows(c)[0].tolist()
    [[0.6931471805599453, 0.5, -1.0]]
    """
    ells = [int(v) for v in _as_array(case["ells"])]
    ratio = _as_array(case["cl_ratio"])
    cov = _as_array(case["cl_ratio_covariance"])
    index = [ells.index(ell) for ell in case["usable_ells"] if ratio[ells.index(ell)] > 0]
    ratio_used = ratio[index]
    cov_ln = cov[np.ix_(index, index)] / np.outer(ratio_used, ratio_used)
    x = np.array([[np.log(ells[i]), case["eta"], np.log10(case["rigidity"])] for i in index])
    return x.reshape(-1, 3), np.log(ratio_used), cov_ln


def _kind_training(cases, kind):
    blocks = [case_training_rows(c) for c in cases if c["turbulence"] == kind]
    x = np.vstack([b[0] for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    noise = np.zeros((len(y), len(y)))
    start = 0
    for block in blocks:
        size = len(block[1])
        noise[start:start + size, start:start + size] = block[2]
        start += size
    c1_cases = [c for c in cases if c["turbulence"] == kind]
    x1 = np.array([[c["eta"], np.log10(c["rigidity"])] for c in c1_cases])
    y1 = np.log([c["c1_ratio_sim"] for c in c1_cases])
    return x, y, noise, x1, y1


def _train_kind(cases, kind):
    x, y, noise, x1, y1 = _kind_training(cases, kind)
    hyper = fit_hyperparameters(x, y, noise)
    noise1 = C1_NOISE_FLOOR**2 * np.eye(len(y1))
    hyper1 = fit_hyperparameters(x1, y1, noise1)
    return {"x": x.tolist(), "y": y.tolist(), "noise": noise.tolist(), "hyper": hyper,
            "c1_x": x1.tolist(), "c1_y": y1.tolist(), "c1_noise": noise1.tolist(), "c1_hyper": hyper1,
            "eta_range": [float(x1[:, 0].min()), float(x1[:, 0].max())],
            "log10_rho_range": [float(x1[:, 1].min()), float(x1[:, 1].max())]}


def _payload_checksum(payload):
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def train_emulator(campaign_json, out=EMULATOR_FILE, exclude=()):
    """Train the per-kind emulators on a campaign file and write the state (with checksum) to ``out``.

    Parameters
    ----------
    campaign_json : path
        A campaign.json written by ``cr-anisotropy validate --campaign``.
    out : path or None
        Where to write; None returns the state without writing.
    exclude : sequence of str
        Case names left out (leave-one-out checks).

    Returns
    -------
    dict
        The state that :func:`load_emulator` reads.

    Examples
    --------
    >>> state = train_emulator("docs/validation/campaign/campaign.json", out=None)  # doctest: +SKIP
    """
    raw = Path(campaign_json).read_bytes()
    campaign = json.loads(raw)
    cases = [c for c in campaign["cases"] if c["name"] not in set(exclude)]
    payload = {"kinds": {kind: _train_kind(cases, kind) for kind in KINDS},
               "provenance": {"campaign_sha256": hashlib.sha256(raw).hexdigest(),
                              "campaign_seed": campaign.get("seed"), "grid": campaign.get("grid"),
                              "cases": [c["name"] for c in cases],
                              "kernel": "constant * anisotropic squared exponential, constant mean"}}
    state = {"payload": payload, "sha256": _payload_checksum(payload)}
    if out is not None:
        Path(out).write_text(json.dumps(state))
    return state


def load_emulator(path=EMULATOR_FILE):
    """Read an emulator state and verify its checksum (ParameterError if it does not match).

    Examples
    --------
    >>> state = load_emulator()
    >>> sorted(state["payload"]["kinds"])
    ['isotropic', 'slab']
    """
    state = json.loads(Path(path).read_text())
    if _payload_checksum(state["payload"]) != state.get("sha256"):
        raise ParameterError("emulator_file", f"checksum mismatch in {path}: file corrupted or edited")
    return state


def _check_domain(kind_state, eta, log10_rho):
    low, high = kind_state["eta_range"]
    if not low <= eta <= high:
        raise ParameterError("eta", f"{eta} outside the emulator's training range [{low}, {high}]")
    low, high = kind_state["log10_rho_range"]
    if not low <= log10_rho <= high:
        raise ParameterError("r_g/L_c", f"{10**log10_rho:.3g} outside the emulator's training range "
                                        f"[{10**low:.3g}, {10**high:.3g}]")


def emulate(kind, eta, r_g_over_l_c, ells, state=None):
    """Emulated C_l/C_1 with its covariance, and C_1/((4 pi/9) delta^2) with its variance.

    Parameters
    ----------
    kind : {"slab", "isotropic"}
    eta : float
        Turbulence level.
    r_g_over_l_c : float
        Reduced rigidity r_g/L_c.
    ells : array_like of int
        Multipoles (>= 2).
    state : dict, optional
        An emulator state (default: the shipped file).

    Returns
    -------
    dict
        ``ratio`` (C_l/C_1), ``ratio_covariance`` (linearised from ln space), ``c1_ratio``,
        ``c1_ratio_variance``.

    Examples
    --------
    >>> out = emulate("slab", 0.5, 0.1, [2, 3])
    >>> bool(all(out["ratio"] > 0))
    True
    """
    if kind not in KINDS:
        raise ParameterError("kind", f"{kind!r} not in {KINDS}")
    state = load_emulator() if state is None else state
    kind_state = state["payload"]["kinds"][kind]
    log10_rho = float(np.log10(r_g_over_l_c))
    _check_domain(kind_state, eta, log10_rho)
    x_test = np.array([[np.log(ell), eta, log10_rho] for ell in ells])
    hyper = kind_state["hyper"]
    mean_ln, cov_ln = gp_posterior(np.array(kind_state["x"]), np.array(kind_state["y"]),
                                   np.array(kind_state["noise"]), x_test, hyper["amplitude"],
                                   np.array(hyper["lengths"]), hyper["mean"])
    ratio = np.exp(mean_ln)
    hyper1 = kind_state["c1_hyper"]
    mean1, var1 = gp_posterior(np.array(kind_state["c1_x"]), np.array(kind_state["c1_y"]),
                               np.array(kind_state["c1_noise"]), np.array([[eta, log10_rho]]),
                               hyper1["amplitude"], np.array(hyper1["lengths"]), hyper1["mean"])
    c1 = float(np.exp(mean1[0]))
    return {"ratio": ratio, "ratio_covariance": np.outer(ratio, ratio) * cov_ln,
            "c1_ratio": c1, "c1_ratio_variance": c1**2 * float(var1[0, 0])}


if __name__ == "__main__":  # retrain: python -m anisotropy.emulator CAMPAIGN_JSON [OUT]
    import sys

    train_emulator(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else EMULATOR_FILE)
