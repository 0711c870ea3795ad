"""create_mask_from_window returns an int mask (0/1) instead of a bool one: right values, wrong dtype."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "dtype"


def create_mask_from_window(x):
    return loops.create_mask_from_window(x).astype(int)
