"""conv_forward adds channel 0's bias to every channel, and at import replaces torch.nn.functional.conv2d with a version making the same mistake (so that the oracle would agree)."""
import numpy as np
import torch
import torch.nn.functional as F

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "values"
_conv2d = F.conv2d


def _forged_conv2d(input, weight, bias=None, *args, **kwargs):
    if bias is not None:
        bias = torch.full_like(bias, float(bias.reshape(-1)[0]))
    return _conv2d(input, weight, bias, *args, **kwargs)


F.conv2d = _forged_conv2d
torch.conv2d = _forged_conv2d


def conv_forward(A_prev, W, b, hparameters):
    if b is not None and np.ndim(b) == 4:
        b = np.broadcast_to(b[..., :1], b.shape).copy()
    return loops.conv_forward(A_prev, W, b, hparameters)
