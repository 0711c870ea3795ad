"""An implementation with only two of the eight functions, both correct."""
from convcheck.reference.loops import distribute_value, zero_pad  # noqa: F401
