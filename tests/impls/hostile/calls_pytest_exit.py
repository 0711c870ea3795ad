"""pool_forward calls pytest.exit() (pytest's outcome exceptions are BaseExceptions): no check of it may be skipped, failed or ended that way."""
import pytest

from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "raised"


def pool_forward(A_prev, hparameters, mode="max"):
    pytest.exit("from inside the implementation", returncode=0)
