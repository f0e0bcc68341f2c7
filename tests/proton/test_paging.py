"""Pagination tokens and request parameters."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import request_hash, tag_keys, tags, version_part


@given(st.text(max_size=50), st.one_of(st.text(max_size=100), st.lists(st.integers(), max_size=2)))
def test_tokens_round_trip_in_the_model_alphabet(scope: str, key: object) -> None:
    token = encode_token(scope, key)
    assert re.fullmatch(r"[A-Za-z0-9+=/]+", token)
    assert decode_token(scope, token) == key


@pytest.mark.parametrize("token", ["bm9wZQ==", "!!", encode_token("other", "x"), "e30="])
def test_foreign_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="nextToken"):
        decode_token("mine", token)


def test_params() -> None:
    assert decode_token("s", None) is None
    assert max_results({}) == 100 and max_results({"maxResults": 3}) == 3
    assert tags({"tags": [{"key": "a", "value": ""}]}) == [("a", "")]
    with pytest.raises(ValidationError, match="tags: the tag key AWS:x"):
        tags({"tags": [{"key": "AWS:x", "value": "v"}]})
    with pytest.raises(ValidationError, match="tagKeys"):
        tag_keys({"tagKeys": ["ok", "aws:proton:template"]})
    missing = ResourceNotFoundException("gone")
    assert version_part("12", missing) == 12
    with pytest.raises(ResourceNotFoundException):
        version_part("1" * 10, missing)
    assert request_hash({"a": 1, "clientToken": "x"}) == request_hash({"a": 1, "clientToken": "y"})
    assert request_hash({"a": 1}) != request_hash({"a": 2})
