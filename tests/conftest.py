"""Shared test configuration: a headless matplotlib and the quick mode of the notebooks and reports."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CR_ANISOTROPY_QUICK", "1")
