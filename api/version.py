"""The installed distribution's version, for ``yishi --version`` and the OpenAPI document."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str | None:
    """The version in the package metadata (``0.1.0``), or None when run from a checkout
    that was never installed."""
    try:
        return metadata.version("yishi")
    except metadata.PackageNotFoundError:
        return None
