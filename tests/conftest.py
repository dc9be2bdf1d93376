"""Shared test configuration: a headless matplotlib, the quick mode of notebooks and reports, one OpenMP thread.

healpy bundles OpenMP; on a loaded 2-core machine its thread pool makes even an nside-4 ``anafast`` slow, so the
thread count is fixed before anything imports healpy (docs/guide/design.md#engineering-conventions: "set thread
counts").
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CR_ANISOTROPY_QUICK", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
