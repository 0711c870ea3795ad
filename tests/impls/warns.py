"""An implementation whose conv_backward raises a DeprecationWarning from its own code and is
otherwise the loops reference: right values, flagged under --strict-warnings only."""
import warnings

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403


def conv_backward(dZ, cache):
    warnings.warn("conv_backward will take the cache as a dict", DeprecationWarning)
    return loops.conv_backward(dZ, cache)
