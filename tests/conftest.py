"""Shared test configuration: a headless matplotlib, the quick mode of notebooks and reports, one OpenMP thread.

healpy bundles OpenMP; on a loaded 2-core machine its thread pool makes even an nside-4 ``anafast`` slow, so the
thread count is fixed before anything imports healpy (docs/guide/design.md#engineering-conventions: "set thread
counts").
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CR_ANISOTROPY_QUICK", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import settings  # after the environment above: nothing may load OpenMP before it is set

# Property tests draw their examples from a fixed seed (derandomize) and keep no example database, so every run,
# on every machine, tries the same inputs: reproducible results and a bounded run time (a random draw of a valid
# but huge modes_per_decade, e.g. 10^5, makes one predict_cl take minutes)
settings.register_profile("cr-anisotropy", derandomize=True, database=None)
settings.load_profile("cr-anisotropy")
