"""An in-process Hadron (gateway, SQLite store, live enforcement, STS) with a settable clock.

Requests are signed by botocore's SigV4 signer at the world's clock, so sessions can be aged
past their expiry without sleeping.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from hadron.authzmessage import encode
from hadron.credentials import CredentialResolver, SessionKeys, UsageRecorder
from hadron.enforcement import PolicyAuthorizer
from hadron.gateway import Connection, Gateway
from hadron.iam.account import AccountApi
from hadron.iam.api import IamApi
from hadron.iam.mfa import MfaApi
from hadron.keys import new_ring
from hadron.protocol.models import load_service
from hadron.store import SqlStore, open_store
from hadron.sts import StsApi
from hadron.types import HttpRequest

START = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
OTHER = "444455556666"
HOST = "127.0.0.1:8443"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def trust(*principals: str, condition: dict[str, Any] | None = None, actions: Any = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": actions or ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def policy(effect: str, action: Any, resource: Any = "*", condition: Any = None) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret: str
    token: str | None = None


@dataclass
class Reply:
    """A response as botocore's parser reads it (timestamps back in AWS's wire format)."""

    status: int
    parsed: dict[str, Any]

    @property
    def code(self) -> str | None:
        error = self.parsed.get("Error") or {}
        return error.get("Code")

    @property
    def message(self) -> str | None:
        error = self.parsed.get("Error") or {}
        return error.get("Message")

    def value(self, path: str) -> Any:
        node: Any = self.parsed
        for part in path.split("/"):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        if isinstance(node, datetime):
            return node.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return node

    def creds(self) -> Creds:
        akid, secret, token = (
            self.value(f"Credentials/{name}")
            for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")
        )
        assert akid and secret and token, self.parsed
        return Creds(akid, secret, token)


@dataclass
class World:
    store: SqlStore
    gateway: Gateway
    authorizer: PolicyAuthorizer
    admin: Creds
    now: datetime = START
    events: list[dict[str, Any]] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def call(self, creds: Creds, service: str, action: str, version: str, **params: Any) -> Reply:
        pairs: list[tuple[str, str]] = [("Action", action), ("Version", version)]
        pairs += _flatten(params)
        body = urllib.parse.urlencode(pairs).encode()
        request = AWSRequest(
            "POST",
            f"https://{HOST}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        signer = SigV4Auth(
            Credentials(creds.access_key_id, creds.secret, creds.token), service, "us-east-1"
        )
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=self.now.replace(tzinfo=None)
        ):
            signer.add_auth(request)
        headers = (*((k.lower(), v) for k, v in request.headers.items()), ("host", HOST))
        response = self.gateway.handle(
            HttpRequest("POST", "/", headers, body), Connection("127.0.0.1", {"tlsVersion": "1.3"})
        )
        service_model = load_service(service)
        model = service_model.operation_model(action)
        raw = {
            "body": response.body,
            "headers": dict(response.headers),
            "status_code": response.status,
        }
        return Reply(
            response.status, create_parser(service_model.protocol).parse(raw, model.output_shape)
        )

    def sts(self, creds: Creds, action: str, **params: Any) -> Reply:
        return self.call(creds, "sts", action, "2011-06-15", **params)

    def ec2(self, creds: Creds, action: str, **params: Any) -> Reply:
        return self.call(creds, "ec2", action, "2016-11-15", **params)

    def iam(self, creds: Creds, action: str, **params: Any) -> Reply:
        return self.call(creds, "iam", action, "2010-05-08", **params)

    def user(self, name: str, document: str | None = None, account: str = ACCOUNT) -> Creds:
        self.store.create_user(account, name, "/", self.now)
        if document is not None:
            self.store.put_user_policy(account, name, "p", document)
        key = self.store.create_access_key(account, name, self.now)
        return Creds(key.access_key_id, key.secret)

    def role(
        self,
        name: str,
        trust_policy: str,
        document: str | None = ALLOW_ALL,
        account: str = ACCOUNT,
        **kwargs: Any,
    ) -> str:
        role = self.store.create_role(account, name, "/", trust_policy, self.now, **kwargs)
        if document is not None:
            self.store.put_role_policy(account, name, "p", document)
        return role.arn


def _flatten(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, list):
            for i, item in enumerate(value, 1):
                if isinstance(item, dict):
                    out += _flatten(item, f"{name}.member.{i}.")
                else:
                    out.append((f"{name}.member.{i}", str(item)))
        elif isinstance(value, dict):
            out += _flatten(value, f"{name}.")
        else:
            out.append((name, str(value)))
    return out


def make_world(tmp_path: Path) -> World:
    store = open_store(f"sqlite:///{tmp_path / 'hadron.db'}", new_ring())
    for account in (ACCOUNT, OTHER):
        store.create_account(account, START)
    store.create_user(ACCOUNT, "admin", "/", START)
    store.put_user_policy(ACCOUNT, "admin", "all", ALLOW_ALL)
    key = store.create_access_key(ACCOUNT, "admin", START)
    keys = SessionKeys(lambda: store.ring, store.reload_ring)
    authorizer = PolicyAuthorizer(
        store, encode_failure=lambda message, account: encode(store.ring, message, account)
    )
    world: World
    events: list[dict[str, Any]] = []
    gateway = Gateway(
        resolver=CredentialResolver(store, sessions=keys),
        authorizer=authorizer,
        audit_sink=events.append,
        usage=UsageRecorder(),
        regions=["us-east-1"],
        clock=lambda: world.now,
        extra_handlers=IamApi(
            store, lambda: world.now, policies_changed=authorizer.invalidate
        ).handlers()
        | AccountApi(store, lambda: world.now, policies_changed=authorizer.invalidate).handlers()
        | MfaApi(store, lambda: world.now).handlers(),
        call_handlers=StsApi(
            store, authorizer, keys.seal, ring=lambda: store.ring, mfa=authorizer.mfa
        ).call_handlers(),
    )
    world = World(store, gateway, authorizer, Creds(key.access_key_id, key.secret), events=events)
    return world
