"""A missing compiled extension fails at import time, saying how to build it."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_missing_extension_raises_import_error_with_build_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name == "kernels" or name.startswith("kernels.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "kernels._C", None)  # what Python sees when the .so is absent
    with pytest.raises(
        ImportError, match=r"(?s)kernels\._C\) are missing.*pip install --no-build-isolation --no-deps -e \."
    ):
        importlib.import_module("kernels")
