"""Proton TagResource, UntagResource and ListTagsForResource, for every taggable resource.

Layer: handlers (may use the store). Spec: proton.md §1.5. The ARN is parsed by
``hadron.proton.arns``; whether it names an existing resource is the store's
``resource_exists`` (one case per resource type, so later resource kinds plug in there). An ARN
of another account or region, or of nothing, is ResourceNotFoundException. Keys with the
reserved ``aws:`` prefix cannot be set or removed; at most 50 customer tags per resource.
"""

from __future__ import annotations

from typing import Any

from hadron.errors import ResourceNotFoundException
from hadron.proton.arns import ProtonArn, parse
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, tag_keys, tags
from hadron.store import SqlStore

__all__ = ["TaggingApi"]

Result = dict[str, Any]


class TaggingApi:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "TagResource"): self.tag_resource,
            ("proton", "UntagResource"): self.untag_resource,
            ("proton", "ListTagsForResource"): self.list_tags_for_resource,
        }

    @staticmethod
    def _resource(call: ProtonCall) -> ProtonArn:
        arn = call.params["resourceArn"]
        ref = parse(arn)
        if ref is None or ref.account_id != call.principal.account_id or ref.region != call.region:
            raise ResourceNotFoundException(f"The resource {arn} was not found.")
        return ref

    def tag_resource(self, call: ProtonCall) -> Result:
        self._store.tag_proton_resource(self._resource(call), tags(call.params))
        return {}

    def untag_resource(self, call: ProtonCall) -> Result:
        self._store.untag_proton_resource(self._resource(call), tag_keys(call.params))
        return {}

    def list_tags_for_resource(self, call: ProtonCall) -> Result:
        ref = self._resource(call)
        scope = f"tags:{ref.arn}"
        after = decode_token(scope, call.params.get("nextToken"))
        limit = max_results(call.params)
        found = [(k, v) for k, v in self._store.list_proton_tags(ref) if after is None or k > after]
        out: Result = {"tags": [{"key": k, "value": v} for k, v in found[:limit]]}
        if len(found) > limit:
            out["nextToken"] = encode_token(scope, found[limit - 1][0])
        return out
