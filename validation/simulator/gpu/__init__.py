r"""The test-particle simulator on a CUDA GPU (numba-cuda, FP64): device selection.

The kernels (:mod:`validation.simulator.gpu.kernels`) are the CPU kernels of :mod:`validation.simulator.pusher`
written for ``numba.cuda``: the plane-wave field with the same polynomial cosine in turns
(:mod:`validation.simulator.fastmath`), the Boris push (reversed charge for backtracking), and the diffusion moments
reduced on the device.  The drivers (:mod:`validation.simulator.gpu.driver`) draw the turbulence and the particles
from the same :class:`numpy.random.SeedSequence` children as the CPU realisations, so a realisation is the same
turbulence and the same particles on both; results differ by rounding only (summation order, fused
multiply-adds), which chaotic orbits amplify, so they agree statistically, not bit for bit.

This module imports nothing from CUDA: ``numba.cuda`` is loaded only when a GPU is asked for, so the package
installs and tests without it.  numba-cuda is the optional extra ``gpu`` (``pip install 'cr-anisotropy[gpu]'``);
numba releases up to 0.6x still ship the deprecated built-in ``numba.cuda`` target, which also works.

Examples
--------
>>> from validation.simulator.gpu import resolve_device
>>> resolve_device("cpu")
'cpu'
"""

from __future__ import annotations

import os

import numpy as np

from anisotropy.errors import ParameterError

if not hasattr(np, "row_stack"):
    # numpy 2.5 removed row_stack (an alias of vstack); numba-cuda 0.30 still registers an overload of it when its
    # CUDA target loads, and fails without it
    setattr(np, "row_stack", np.vstack)  # noqa: B010

__all__ = ["DEVICES", "gpu_problem", "resolve_device"]

#: values of the ``--device`` option: ``auto`` is the GPU when one is usable, else the CPU
DEVICES = ("cpu", "gpu", "auto")


def _simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def gpu_problem(*, allow_simulator: bool = False) -> str | None:
    """Why the GPU path cannot run here, as one line, or ``None`` when it can.

    Parameters
    ----------
    allow_simulator : bool
        Count numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``: the kernels run as Python on the CPU, for tests)
        as usable.  ``--device auto`` never does; an explicit ``--device gpu`` does.
    """
    if _simulator_enabled() and not allow_simulator:
        return "NUMBA_ENABLE_CUDASIM=1 selects numba's CUDA simulator (for tests), not a GPU"
    try:
        from numba import cuda
    except ImportError as error:  # numba built without its CUDA target and no numba-cuda package
        return f"numba.cuda is not importable ({error}); install the extra: pip install 'cr-anisotropy[gpu]'"
    if _simulator_enabled():
        return None
    try:
        from numba.cuda.cudadrv.driver import driver

        if driver.get_device_count() < 1:
            return "no CUDA GPU is visible (the CUDA driver reports 0 devices)"
        cuda.get_current_device()
    except Exception as error:  # CudaSupportError and friends: no driver, no device, driver too old
        reason = " ".join(str(error).replace(":", " ").split()) or type(error).__name__
        return f"no usable CUDA GPU ({reason})"
    return None


def resolve_device(device: str) -> str:
    """``"cpu"`` or ``"gpu"`` for a ``--device`` value of :data:`DEVICES`.

    ``auto`` is the GPU when :func:`gpu_problem` finds none, else the CPU (the default without a GPU).

    Raises
    ------
    ParameterError
        For an unknown name, or ``"gpu"`` where no GPU is usable (the message says what is missing).
    """
    if device not in DEVICES:
        raise ParameterError("device", f"must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "gpu" if gpu_problem() is None else "cpu"
    problem = gpu_problem(allow_simulator=True)
    if problem is not None:
        raise ParameterError("device", f"'gpu' needs a CUDA GPU: {problem}")
    return "gpu"
