"""The release of this package (``mlineage.__version__``; pyproject.toml names the same)."""

__version__ = "0.4.0"
