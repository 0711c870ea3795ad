"""narrow.py's functions, but declaring conv dilation it does not have: a configuration inside
the declared space that raises is a finding, so an adapter cannot pass by raising."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location("_overclaims_narrow", os.path.join(os.path.dirname(__file__), "narrow.py"))
_narrow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_narrow)

CAPABILITIES = {**_narrow.CAPABILITIES, "conv": {**_narrow.CAPABILITIES["conv"], "dilation": True}}
conv_forward, conv_backward, pool_forward, pool_backward = (
    _narrow.conv_forward, _narrow.conv_backward, _narrow.pool_forward, _narrow.pool_backward)
