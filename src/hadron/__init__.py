"""Hadron: a self-hosted AWS Proton."""

__all__ = ["__version__"]

__version__ = "0.1.0"
