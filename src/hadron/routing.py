"""Which service a request is for: proton, sts, iam or ec2, all served on one port.

Layer 4 (pure). The request's own hints decide first, because they are what the client meant
(``X-Amz-Target`` names Proton's JSON target prefix; a Query ``Version`` names the API; the Host
names the endpoint); the SigV4 credential scope decides when there is no hint. If the scope then
names another service, the SigV4 check answers AWS's "Credential should be scoped to correct
service" error for the routed service.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from hadron.types import HttpRequest

__all__ = ["DEFAULT_SERVICE", "SERVICES", "route"]

SERVICES = ("proton", "sts", "iam", "ec2")
DEFAULT_SERVICE = "sts"

_TARGET_PREFIXES = {"AwsProton20200720": "proton"}
_VERSIONS = {"2011-06-15": "sts", "2010-05-08": "iam", "2016-11-15": "ec2"}
_SCOPE_RE = re.compile(r"Credential=[^/,\s]*/\d*/[^/,\s]*/([^/,\s]*)/")
_QUERY_SCOPE_RE = re.compile(
    r"(?:^|&)X-Amz-Credential=[^&]*?(?:/|%2F)[^&]*?(?:/|%2F)[^&]*?(?:/|%2F)([^&/%]*)"
)
_VERSION_RE = re.compile(rb"(?:^|&)Version=([0-9-]{10})(?:&|$)")


def _from_target(req: HttpRequest) -> str | None:
    target = req.header("x-amz-target")
    if target is None:
        return None
    return _TARGET_PREFIXES.get(target.partition(".")[0], "proton")


def _from_version(req: HttpRequest) -> str | None:
    for source in (req.body, req.query.encode("latin-1")):
        if source and b"Version=" in source:
            match = _VERSION_RE.search(source)
            if match:
                return _VERSIONS.get(match.group(1).decode())
    return None


def _from_host(req: HttpRequest) -> str | None:
    host = req.header("host") or ""
    label = host.partition(".")[0].lower()
    return label if label in SERVICES else None


def _from_scope(req: HttpRequest) -> str | None:
    auth = req.header("authorization")
    if auth is not None:
        match = _SCOPE_RE.search(auth)
    else:
        match = _QUERY_SCOPE_RE.search(req.query) if "X-Amz-Credential" in req.query else None
    if match is None:
        return None
    service = unquote_to_bytes(match.group(1)).decode("latin-1")
    return service if service in SERVICES else None


def route(req: HttpRequest) -> str:
    """The service ``req`` is for; ``DEFAULT_SERVICE`` (a Query API) when nothing says."""
    content_type = (req.header("content-type") or "").lower()
    return (
        _from_target(req)
        or _from_version(req)
        or _from_host(req)
        or _from_scope(req)
        or ("proton" if "json" in content_type else DEFAULT_SERVICE)
    )
