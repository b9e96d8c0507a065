"""The package version (read by the build backend too)."""

__version__ = "0.9.0"
