"""pool_forward calls os.abort() (SIGABRT, as a failed native assertion does)."""
import os

from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "crashed"


def pool_forward(A_prev, hparameters, mode="max"):
    os.abort()
