"""Every module lists its public names in ``__all__``, and every listed name exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hadron

_SKIP = ("hadron.__main__", "hadron.store.migrations")
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(hadron.__path__, "hadron.")
    if not info.name.startswith(_SKIP)
)


@pytest.mark.parametrize("name", MODULES)
def test_module_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item!r}"
