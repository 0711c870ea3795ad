"""An implementation whose conv_forward kills its process (as a native crash would)."""
import os


def conv_forward(A_prev, W, b, hparameters):
    os._exit(134)
