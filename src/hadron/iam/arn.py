"""ARNs and the IAM wildcard language (``*`` and ``?``).

Layer 4 (pure): imports only the standard library; no I/O, no clock, no ``os.environ``.

Implements security.md §4.4 (action matching) and §4.5 (resource matching):

* An ARN is ``arn:partition:service:region:account:resource``, split with at most five splits on
  ``:``; the sixth part (the resource) may itself contain ``:`` and ``/``.
* Resource patterns match **segment by segment** and **case-sensitively**: in the partition,
  service, region and account segments ``*``/``?`` never cross a ``:``; in the resource part ``*``
  spans any characters including ``/`` and ``:`` ("arn:aws:s3:::B/*/test/*" matches
  "B//test/object.jpg" — IAM User Guide, Resource element).
* Action patterns are ``vendor:Name`` and match **case-insensitively**; ``*`` alone matches every
  action. A pattern with whitespace, a comma or an empty name never matches (iam-simulate corpus
  ``edgeCases/whitespaceActions``, ``commas``).

Everything here is compiled once, at policy-parse time, into regexes, sets and flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "RESOURCE_SEGMENT",
    "ActionMatcher",
    "Arn",
    "action_matches",
    "arn_like",
    "compile_regex",
    "format_arn",
    "parse_arn",
    "translate_glob",
    "try_parse_arn",
]

#: Index of the resource part among the six ``:``-separated ARN parts ("arn" is part 0).
RESOURCE_SEGMENT = 5


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return format_arn(self.partition, self.service, self.region, self.account, self.resource)


def format_arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def try_parse_arn(text: str) -> Arn | None:
    """The ARN's five parts, or ``None`` when ``text`` has fewer than six parts or no ``arn:``."""
    parts = text.split(":", RESOURCE_SEGMENT)
    if len(parts) != RESOURCE_SEGMENT + 1 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def parse_arn(text: str) -> Arn:
    arn = try_parse_arn(text)
    if arn is None:
        raise ValueError(f"not an ARN: {text!r}")
    return arn


def translate_glob(text: str, segment: int | None) -> tuple[str, int | None]:
    """Regex source for the IAM glob ``text``; returns it with the ARN segment reached.

    ``segment is None``: a plain glob (StringLike, actions): ``*`` is any run of characters and
    ``?`` exactly one. Otherwise ``text`` starts inside ARN part ``segment`` (0 = "arn"): before
    the resource part the wildcards stay inside their segment and each ``:`` moves to the next.
    """
    out: list[str] = []
    for ch in text:
        in_prefix = segment is not None and segment < RESOURCE_SEGMENT
        if ch == "*":
            out.append("[^:]*" if in_prefix else ".*")
        elif ch == "?":
            out.append("[^:]" if in_prefix else ".")
        else:
            if ch == ":" and segment is not None and in_prefix:
                segment += 1
            out.append(re.escape(ch))
    return "".join(out), segment


@lru_cache(maxsize=4096)
def compile_regex(source: str) -> re.Pattern[str]:
    """Compile (and cache) a translated glob. DOTALL: ``*`` also spans newlines."""
    return re.compile(source, re.DOTALL)


def arn_like(pattern: str, value: str) -> bool:
    """One-off segment-aware, case-sensitive match of an ARN pattern (no policy variables)."""
    if pattern == "*":
        return True
    if try_parse_arn(value) is None or pattern.count(":") < RESOURCE_SEGMENT:
        return False
    source, _ = translate_glob(pattern, 0)
    return compile_regex(source).fullmatch(value) is not None


def _never_matches(pattern: str) -> bool:
    # §4.4: whitespace, a comma or an empty action name: the entry matches nothing (so in a
    # NotAction it excludes nothing).
    vendor, colon, name = pattern.partition(":")
    return (
        not colon or not name or "," in pattern or any(ch.isspace() for ch in pattern) or not vendor
    )


class ActionMatcher:
    """The Action (or NotAction) list of one statement, compiled.

    ``matches`` takes the request action **already lower-cased** (the evaluator lowers it once per
    request).
    """

    __slots__ = ("_any", "_literals", "_regex")

    def __init__(self, patterns: Iterable[str]) -> None:
        literals: set[str] = set()
        sources: list[str] = []
        any_action = False
        for pattern in patterns:
            if pattern == "*":
                any_action = True
                continue
            if _never_matches(pattern):
                continue
            low = pattern.lower()
            if "*" in low or "?" in low:
                sources.append(translate_glob(low, None)[0])
            else:
                literals.add(low)
        self._any = any_action
        self._literals = frozenset(literals)
        self._regex = compile_regex("|".join(f"(?:{s})" for s in sources)) if sources else None

    def matches(self, action: str) -> bool:
        if self._any or action in self._literals:
            return True
        regex = self._regex
        return regex is not None and regex.fullmatch(action) is not None


def action_matches(pattern: str, action: str) -> bool:
    """One-off case-insensitive match of an action pattern."""
    return ActionMatcher((pattern,)).matches(action.lower())
