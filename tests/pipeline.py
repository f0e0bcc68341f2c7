"""A real request pipeline (gateway + SQLite store + audit sink) for in-process tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from hadron.access import Authorizer, DenyAllAuthorizer
from hadron.credentials import CredentialResolver, UsageRecorder
from hadron.gateway import CallHandler, Connection, Gateway
from hadron.keys import new_ring
from hadron.store import SqlStore, open_store
from hadron.types import HttpRequest, HttpResponse

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
HOST = "127.0.0.1:8443"


@dataclass
class Pipeline:
    store: SqlStore
    gateway: Gateway
    akid: str
    secret: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def send(self, req: HttpRequest, conn: Connection | None = None) -> HttpResponse:
        conn = conn or Connection("127.0.0.1", {"tlsVersion": "TLSv1.3"})
        return self.gateway.handle(req, conn)

    def signed(
        self,
        service: str,
        body: bytes,
        headers: dict[str, str],
        *,
        secret: str | None = None,
        region: str = "us-east-1",
    ) -> HttpRequest:
        request = AWSRequest("POST", f"https://{HOST}/", data=body, headers=headers)
        creds = Credentials(self.akid, secret or self.secret)
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)
        ):
            SigV4Auth(creds, service, region).add_auth(request)
        pairs = [(k.lower(), v) for k, v in request.headers.items()] + [("host", HOST)]
        return HttpRequest("POST", "/", tuple(pairs), body)

    def query(self, service: str, form: str, **kwargs: Any) -> HttpRequest:
        ctype = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.signed(service, form.encode(), ctype, **kwargs)

    def proton(self, operation: str, body: bytes = b"{}", **kwargs: Any) -> HttpRequest:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AwsProton20200720.{operation}",
        }
        return self.signed("proton", body, headers, **kwargs)


def make_pipeline(
    tmp_path: Path,
    authorizer: Authorizer | None = None,
    call_handlers: dict[tuple[str, str], CallHandler] | None = None,
) -> Pipeline:
    store = open_store(f"sqlite:///{tmp_path / 'hadron.db'}", new_ring())
    store.create_account(ACCOUNT, NOW)
    store.create_user(ACCOUNT, "admin", "/", NOW)
    key = store.create_access_key(ACCOUNT, "admin", NOW)
    events: list[dict[str, Any]] = []
    gateway = Gateway(
        resolver=CredentialResolver(store),
        authorizer=authorizer or DenyAllAuthorizer(),
        audit_sink=events.append,
        usage=UsageRecorder(),
        regions=["us-east-1"],
        clock=lambda: NOW,
        call_handlers=call_handlers,
    )
    return Pipeline(store, gateway, key.access_key_id, key.secret, events)
