"""An implementation that fails to import."""
raise RuntimeError("this module is broken on purpose")
