"""Proton CreateRepository, GetRepository, DeleteRepository and ListRepositories.

Layer: handlers (may use the store). Spec: proton.md §2.10, §1.3 (pagination), §1.4, §1.5.
A repository is keyed by (provider, name) per account and region; its ARN is
``repository/{provider lower-cased}:{owner/repo}``. The ``connectionArn`` must have the shape of
an AWS CodeStar Connections (or AWS CodeConnections) connection ARN in the caller's account; it
is stored and returned, not used (no sync engine runs yet). A repository that a sync
configuration or the account's pipeline provisioning repository uses cannot be deleted
(ConflictException).
"""

from __future__ import annotations

import re
from typing import Any, Final

from hadron.errors import ValidationError
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags
from hadron.store import SqlStore
from hadron.store.proton_repositories import ProtonRepository, repository_missing

__all__ = ["RepositoriesApi", "check_connection_arn", "repository_result"]

Result = dict[str, Any]

_CONNECTION: Final = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov):(codestar-connections|codeconnections):([a-z0-9-]+):(\d{12}):"
    r"connection/[0-9A-Za-z-]+"
)


def check_connection_arn(arn: str, account_id: str) -> None:
    """``connectionArn`` names a connection of CodeStar Connections / CodeConnections in the
    caller's account (ValidationException otherwise)."""
    match = _CONNECTION.fullmatch(arn)
    if match is None:
        raise ValidationError(
            f"connectionArn: {arn} is not an AWS CodeStar Connections connection ARN "
            "(arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID)."
        )
    if match.group(4) != account_id:
        raise ValidationError(
            f"connectionArn: the connection {arn} belongs to another account ({match.group(4)})."
        )


def repository_result(r: ProtonRepository, *, summary: bool = False) -> Result:
    out: Result = {
        "arn": r.arn,
        "provider": r.provider,
        "name": r.name,
        "connectionArn": r.connection_arn,
    }
    if not summary and r.encryption_key is not None:
        out["encryptionKey"] = r.encryption_key
    return out


class RepositoriesApi:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateRepository"): self.create,
            ("proton", "GetRepository"): self.get,
            ("proton", "DeleteRepository"): self.delete,
            ("proton", "ListRepositories"): self.list,
        }

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account = call.principal.account_id
        check_connection_arn(p["connectionArn"], account)
        created = self._store.create_proton_repository(
            account,
            call.region,
            p["provider"],
            p["name"],
            connection_arn=p["connectionArn"],
            encryption_key=p.get("encryptionKey"),
            tags=tags(p),
            request_hash=request_hash(p),
            now=call.now,
        )
        return {"repository": repository_result(created)}

    def get(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.get_proton_repository(
            call.principal.account_id, call.region, p["provider"], p["name"]
        )
        if found is None:
            raise repository_missing(p["provider"], p["name"])
        return {"repository": repository_result(found)}

    def delete(self, call: ProtonCall) -> Result:
        p = call.params
        deleted = self._store.delete_proton_repository(
            call.principal.account_id, call.region, p["provider"], p["name"], call.now
        )
        return {} if deleted is None else {"repository": repository_result(deleted)}

    def list(self, call: ProtonCall) -> Result:
        scope = "repositories"
        after = decode_token(scope, call.params.get("nextToken"))
        key: tuple[str, str] | None = None
        if after is not None:
            if not (
                isinstance(after, list)
                and len(after) == 2
                and all(isinstance(x, str) for x in after)
            ):
                raise ValidationError(
                    "nextToken: the pagination token is invalid for this request."
                )
            key = (after[0], after[1])
        limit = max_results(call.params)
        found = self._store.list_proton_repositories(
            call.principal.account_id, call.region, key, limit + 1
        )
        out: Result = {"repositories": [repository_result(r, summary=True) for r in found[:limit]]}
        if len(found) > limit:
            last = found[limit - 1]
            out["nextToken"] = encode_token(scope, [last.provider, last.name])
        return out
