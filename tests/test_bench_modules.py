"""Every benchmark module imports: ``make bench`` is not part of ``make test``, so a module
that lost a name it imports from another would otherwise fail only there."""

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(f"bench.{m.name}" for m in pkgutil.iter_modules(bench.__path__))


def test_the_benchmarks_are_found() -> None:
    assert {"bench.scale", "bench.tags", "bench.targets", "bench.soak"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_a_benchmark_module_imports(name: str) -> None:
    importlib.import_module(name)
