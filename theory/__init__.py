"""Exact, slow references (sympy/mpmath) for the equations the fast code relies on.

Never imported by :mod:`anisotropy` at run time; the test suite compares the numerical code against it.
See ``theory/README.md`` for the map from derivations to the code they protect.
"""
