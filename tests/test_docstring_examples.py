"""Every exported name of ``anisotropy`` and ``validation`` has a runnable ``Examples`` section, and it runs.

The exported names are those of ``anisotropy._EXPORTS`` (plus ``ParameterError``) and ``validation.__all__``; an
exported module carries its example in the module docstring.  The examples are the documentation's promise of how
to call each name, so they run here, in the default suite, with the standard-library doctest runner (not in the
docs build, which stays free of computation).  Each example is tiny: the slowest, ``predict_cl``, compiles the
pair-rate kernels on a cold start.
"""

import doctest
import importlib
import inspect

import pytest

import anisotropy
import validation

#: ELLIPSIS for long reprs, NORMALIZE_WHITESPACE for wrapped tuples
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

EXPORTED = [("anisotropy", name) for name in ["ParameterError", *sorted(anisotropy._EXPORTS)]] + [
    ("validation", name) for name in validation.__all__
]


def _target(package: str, name: str):
    module = importlib.import_module(package)
    return getattr(module, name)


@pytest.mark.parametrize(("package", "name"), EXPORTED, ids=[f"{package}.{name}" for package, name in EXPORTED])
def test_exported_name_has_examples_that_run(package, name, monkeypatch, tmp_path):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    target = _target(package, name)
    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    home = target if inspect.ismodule(target) else inspect.getmodule(target)
    tests = [test for test in finder.find(target, f"{package}.{name}", globs=dict(vars(home))) if test.examples]
    assert tests, f"{package}.{name} has no Examples section with >>> lines"
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in tests:
        runner.run(test)
    outcome = runner.summarize(verbose=False)
    assert outcome.failed == 0, f"{outcome.failed} failing example(s) in {package}.{name} (doctest report above)"
