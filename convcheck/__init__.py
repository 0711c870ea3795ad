"""convcheck: property-based verification of NumPy CNN layers against PyTorch."""

import os as _os

# Run from a source checkout without installing (e.g. PYTHONPATH=checkout for a replayed case):
# the top-level folders reference/, oracle/ and properties/ are this package's subpackages.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "reference", "params.py")) and _os.path.isfile(
    _os.path.join(_checkout, "oracle", "tolerances.py")
):
    __path__.append(_checkout)
