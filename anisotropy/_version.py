"""The installed package version, recorded in every result and output file."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cr-anisotropy")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
