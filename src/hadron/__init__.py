"""Hadron: a self-hosted AWS Proton."""

__version__ = "0.1.0"
