"""convcheck: property-based verification of NumPy CNN layers against PyTorch."""
