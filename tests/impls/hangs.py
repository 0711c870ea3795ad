"""An implementation whose zero_pad never returns (and which lacks every other function).
With HANGS_MARKER set, its call first creates that file: a test can see that it is under way."""
import os
import time


def zero_pad(X, pad):
    if os.environ.get("HANGS_MARKER"):
        open(os.environ["HANGS_MARKER"], "w").close()
    while True:
        time.sleep(1)
