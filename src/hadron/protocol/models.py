"""Service models: the AWS API descriptions the wire protocols are driven by.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store. Reads files only from the installed botocore package (STYLE.md §4).

The models come from the ``data/`` folder of the installed botocore package and from nowhere
else: the loader is built with ``include_default_search_paths=False`` so that neither
``~/.aws/models`` nor ``AWS_DATA_PATH`` can change what the server accepts. botocore itself is
pinned to a tested range in ``pyproject.toml``; ``tests/protocol/test_models.py`` fails if an
operation the project serves disappears from a model.
"""

from __future__ import annotations

import functools
import os
from typing import Final

import botocore
from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

__all__ = ["SERVED_SERVICES", "find_operation", "load_service"]

SERVED_SERVICES: Final = ("proton", "iam", "sts", "ec2")
"""Services whose wire protocol Hadron speaks: proton (json 1.0), iam and sts (query), ec2."""

_BOTOCORE_DATA: Final = os.path.join(os.path.dirname(botocore.__file__), "data")


@functools.cache
def _loader() -> Loader:
    # INVARIANT: the only search path is botocore's own data folder.
    loader = Loader(extra_search_paths=[], include_default_search_paths=False)
    loader.search_paths[:] = [_BOTOCORE_DATA]
    return loader


@functools.cache
def load_service(name: str) -> ServiceModel:
    """The botocore ``ServiceModel`` of served service ``name`` (loaded once, then cached)."""
    if name not in SERVED_SERVICES:
        raise ValueError(f"not a served service: {name!r}")
    description = _loader().load_service_model(name, "service-2")
    return ServiceModel(description, service_name=name)


def find_operation(service: ServiceModel, name: str) -> OperationModel | None:
    """The operation called exactly ``name`` in ``service``, or ``None``."""
    if name not in service.operation_names:
        return None
    return service.operation_model(name)
