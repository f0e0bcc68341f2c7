"""Is a new minor version's schema backward compatible with an earlier minor of its major?

Layer 4 (pure). Spec: proton.md §2.4 ("Minor-version compatibility check"): registering a minor
version makes a best-effort check, on the schema only, that specs valid for the earlier minors of
the same major stay valid. AWS does not publish its rules; these are ours (UNCONFIRMED, written
in the README): between the old and the new JSON Schema of each input (environment, service,
pipeline) —

* the input may not appear or disappear (for service templates: pipeline presence is fixed
  within a major);
* no property may be removed, change its ``type``, drop ``enum`` values, or narrow a bound
  (``minimum``/``minLength``/``minItems`` up, ``maximum``/``maxLength``/``maxItems`` down,
  ``exclusive*`` likewise), or change its ``pattern``;
* a property that becomes required must have a ``default``;
* nested objects and array items are compared the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["incompatibility"]

_LOWER: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
_INPUTS: Final = {"environment": "environment", "service": "service", "pipeline": "pipeline"}


def _compare(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> str | None:
    if old.get("type") != new.get("type"):
        return f"{where} changed type from {old.get('type')} to {new.get('type')}"
    if "enum" in new:
        dropped = [v for v in old.get("enum", []) if v not in new["enum"]]
        if "enum" not in old or dropped:
            shown = dropped[0] if dropped else "values it allowed before"
            return f"{where} no longer allows {shown!r}"
    if old.get("pattern") != new.get("pattern") and "pattern" in new:
        return f"{where} changed its pattern"
    for key in _LOWER:
        if key in new and (key not in old or new[key] > old[key]):
            return f"{where} raised its {key} to {new[key]}"
    for key in _UPPER:
        if key in new and (key not in old or new[key] < old[key]):
            return f"{where} lowered its {key} to {new[key]}"
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            return f"{where} no longer has the input '{name}'"
    was_required = set(old.get("required", []))
    for name in new.get("required", []):
        if name not in was_required and "default" not in new_props.get(name, {}):
            return f"{where} requires the input '{name}', which has no default"
    for name, sub in new_props.items():
        if name in old_props:
            problem = _compare(old_props[name], sub, f"input '{name}' of {where}")
            if problem:
                return problem
    if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
        return _compare(old["items"], new["items"], f"the items of {where}")
    return None


def incompatibility(
    old: Mapping[str, Mapping[str, Any] | None], new: Mapping[str, Mapping[str, Any] | None]
) -> str | None:
    """Why ``new`` (``{"environment"|"service"|"pipeline": JSON Schema | None}``) breaks specs
    valid for ``old``, or ``None`` when it does not."""
    for key, noun in _INPUTS.items():
        before, after = old.get(key), new.get(key)
        if (before is None) != (after is None):
            change = "added" if before is None else "removed"
            return f"the {noun} input type was {change} within a major version"
        if before is not None and after is not None:
            problem = _compare(before, after, str(after.get("title", key)))
            if problem:
                return problem
    return None
