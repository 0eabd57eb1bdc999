"""fmbot's version: one source, read by pyproject.toml without importing the package, and by
the package (`bot.__version__`) and the project scaffold without importing the public API."""

__version__ = "0.3.0"
