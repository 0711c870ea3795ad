"""An implementation whose zero_pad never returns (and which lacks every other function)."""
import time


def zero_pad(X, pad):
    while True:
        time.sleep(1)
