"""The framework adapters (adapters/): each loads where its framework is installed, defines only
seed functions it has operators for, and declares a well-formed space (CAPABILITIES)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from convcheck import capabilities
from convcheck.implementations import SEED_FUNCTIONS, load

ADAPTERS = Path(__file__).resolve().parent.parent / "adapters"
FRAMEWORKS = {"jax_lax": "jax", "mygrad_ops": "mygrad", "onnxruntime_ops": "onnxruntime", "tinygrad_ops": "tinygrad",
              "numpy_ml_layers": "numpy_ml", "onnx_reference": "onnx", "torch_functional": "torch"}


def test_every_adapter_is_listed():
    assert {p.stem for p in ADAPTERS.glob("*.py")} == set(FRAMEWORKS)


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_adapter_loads_and_declares_its_space(name):
    if importlib.util.find_spec(FRAMEWORKS[name]) is None:
        pytest.skip(f"{FRAMEWORKS[name]} not installed (the optional extra of adapters/{name}.py)")
    impl = load(str(ADAPTERS / f"{name}.py"))
    space = capabilities.parse(impl.module.CAPABILITIES)
    assert space.framework and space.framework[1], space
    defined = [f for f in SEED_FUNCTIONS if callable(getattr(impl.module, f, None))]
    assert set(defined) <= {"zero_pad", "conv_forward", "conv_backward", "pool_forward", "pool_backward"}, defined
