"""ties_split.py without its CONVENTIONS: the same difference from torch, undeclared, is a failure."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location("_ties_split_declared", os.path.join(os.path.dirname(__file__), "ties_split.py"))
_declared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_declared)

conv_forward, conv_backward, pool_forward, pool_backward = (
    _declared.conv_forward, _declared.conv_backward, _declared.pool_forward, _declared.pool_backward)
