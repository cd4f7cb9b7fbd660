"""Fixtures of the kernel tests; CUDA-only tests are marked needs_cuda and skipped without a GPU."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _skip_without_cuda(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("needs_cuda") is not None and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded generator, so every random case is reproducible."""
    return torch.Generator().manual_seed(0)
