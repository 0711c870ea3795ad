"""narrow.py's correct functions behind another narrow space: average pooling in float32 only and
without count_include_pad=False (it raises NotImplementedError there). The laws that derive an
average pooling from a drawn max pooling, or rewrite count_include_pad (test_pooling_laws,
test_pool_backward_conserves_gradient), must stay inside it too."""

import importlib.util
import os

import numpy as np

_spec = importlib.util.spec_from_file_location("_narrow_average_narrow", os.path.join(os.path.dirname(__file__), "narrow.py"))
_narrow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_narrow)

CAPABILITIES = {"framework": ["narrow-average", "1.0"], "dtypes": {"average_pool": ["float32"]},
                "average_pool": {"count_include_pad": False}}
RAISES_ON = ("average_pool float64", "average_pool count include pad")
conv_forward, conv_backward = _narrow._impl.conv_forward, _narrow._impl.conv_backward


def _refuse(A_prev, hparameters, mode):
    average = mode == "average"
    _narrow._refuse(["average_pool float64"] * (average and np.asarray(A_prev).dtype == np.float64)
                    + ["average_pool count include pad"] * (average and hparameters.get("count_include_pad", True) is False))


def pool_forward(A_prev, hparameters, mode="max"):
    result = _narrow._impl.pool_forward(A_prev, hparameters, mode)  # invalid input: its ValueError first
    _refuse(A_prev, hparameters, mode)
    return result


def pool_backward(dA, cache, mode="max"):
    result = _narrow._impl.pool_backward(dA, cache, mode)
    _refuse(cache[0], cache[1], mode)
    return result
