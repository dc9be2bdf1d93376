"""The package version: the one place it is written (hatch reads it for the distribution's metadata).

It is recorded in every result and output file.
"""

__version__ = "0.1.0"
