"""Hypothesis: the audit chain detects any single edit, removal, duplication or reordering."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.audit import GENESIS, canonical_json, link, redact, verify_lines

Line = tuple[str, int, str]

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
events = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def build(records: list[dict[str, Any]], per_file: int) -> tuple[list[Line], tuple[int, str]]:
    lines: list[Line] = []
    prev = GENESIS
    for index, record in enumerate(records):
        text, prev = link(prev, index + 1, record)
        file_no, line_no = divmod(index, per_file)
        lines.append((f"2026-12-{file_no + 1:02d}.jsonl", line_no + 1, text))
    return lines, (len(records), prev)


def with_texts(lines: list[Line], texts: list[str]) -> list[Line]:
    # Positions (file, line number) stay where they are; only contents move.
    return [(name, number, texts[i]) for i, (name, number, _) in enumerate(lines[: len(texts)])]


chains = st.tuples(st.lists(events, min_size=1, max_size=6), st.integers(1, 3))


@settings(max_examples=100, deadline=None)
@given(chains)
def test_untouched_chain_verifies(args: tuple[list[dict[str, Any]], int]) -> None:
    lines, head = build(*args)
    result = verify_lines(lines, head)
    assert result.ok and result.records == len(lines)


@settings(max_examples=100, deadline=None)
@given(chains, st.data())
def test_any_character_edit_is_detected(
    args: tuple[list[dict[str, Any]], int], data: st.DataObject
) -> None:
    lines, head = build(*args)
    i = data.draw(st.integers(0, len(lines) - 1))
    text = lines[i][2]
    j = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(st.characters(exclude_characters=text[j], exclude_categories=["Cs"]))
    texts = [t for _, _, t in lines]
    texts[i] = text[:j] + new + text[j + 1 :]
    assert not verify_lines(with_texts(lines, texts), head).ok


@settings(max_examples=100, deadline=None)
@given(chains, st.data())
def test_any_record_value_edit_is_detected(
    args: tuple[list[dict[str, Any]], int], data: st.DataObject
) -> None:
    # A well-formed, canonical edit of the record that keeps the old chain fields.
    lines, head = build(*args)
    i = data.draw(st.integers(0, len(lines) - 1))
    doc = json.loads(lines[i][2])
    key = data.draw(st.text(max_size=10))
    value = data.draw(json_values)
    if doc["record"].get(key, object()) == value and key in doc["record"]:
        doc["record"].pop(key)
    else:
        doc["record"][key] = value
    texts = [t for _, _, t in lines]
    texts[i] = canonical_json(doc)
    assert not verify_lines(with_texts(lines, texts), head).ok


@settings(max_examples=100, deadline=None)
@given(chains, st.data())
def test_any_removal_is_detected(
    args: tuple[list[dict[str, Any]], int], data: st.DataObject
) -> None:
    lines, head = build(*args)
    i = data.draw(st.integers(0, len(lines) - 1))
    texts = [t for _, _, t in lines]
    del texts[i]
    assert not verify_lines(with_texts(lines, texts), head).ok


@settings(max_examples=100, deadline=None)
@given(chains, st.data())
def test_any_swap_or_duplication_is_detected(
    args: tuple[list[dict[str, Any]], int], data: st.DataObject
) -> None:
    records, per_file = args
    lines, head = build([*records, {}], per_file)  # at least two records
    i = data.draw(st.integers(0, len(lines) - 2))
    j = data.draw(st.integers(i + 1, len(lines) - 1))
    texts = [t for _, _, t in lines]
    if data.draw(st.booleans()):
        texts[i], texts[j] = texts[j], texts[i]
        moved = with_texts(lines, texts)
    else:
        texts.insert(j, texts[i])
        moved = [*lines, ("2026-12-31.jsonl", 1, "")]  # room for one more position
        moved = with_texts(moved, texts)
    assert not verify_lines(moved, head).ok


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_redacted_values_never_contain_sensitive_members(value: Any) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    doc = {"Outer": [value, {"SecretAccessKey": secret, "inner": {"sessiontoken": secret}}]}
    assert secret not in canonical_json(redact(doc))
