from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_ambient_aws_settings() -> Iterator[None]:
    """Tests configure clients only through Hadron's generated files: drop AWS_* variables
    (a machine may set AWS_CA_BUNDLE, AWS_PROFILE, keys...) for the whole run."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)
