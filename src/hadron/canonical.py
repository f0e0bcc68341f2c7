"""SigV4 canonical forms of a request's URI, query string and headers (security.md §1.2).

Layer 4 (pure core), split out of ``hadron.sigv4`` which re-exports the public names. Imports only
the standard library and the layer-5 leaves. Mirrors botocore's ``SigV4Auth`` steps for non-S3
services: dot-segment removal and double URI encoding, RFC 3986 query encoding sorted by name then
value, header values trimmed and repeated headers joined in received order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote_from_bytes, unquote_to_bytes

from hadron.errors import InvalidURIPath, MalformedQueryString, ServiceError
from hadron.types import Headers

__all__ = [
    "MSG_ABOVE_ROOT",
    "MSG_INCOMPLETE_ESCAPE",
    "canonical_headers",
    "canonical_query_string",
    "canonical_uri",
    "join_query",
    "query_pairs",
]

MSG_INCOMPLETE_ESCAPE = "Incomplete trailing escape % sequence"
MSG_ABOVE_ROOT = "Relative path entry '..' navigates above root"

# A '%' not followed by two hex digits (checked before any decoding; §1.2 step 5, §1.9 row 17).
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# An element that is already canonical: only RFC 3986 unreserved characters, nothing to decode.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _wire_bytes(text: str) -> bytes:
    # HttpRequest carries the target latin-1 decoded, so latin-1 gives back the bytes on the wire.
    # A caller that passed real Unicode (beyond U+00FF) gets UTF-8, like botocore's ``quote``.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _check_escapes(text: str, error: type[ServiceError]) -> None:
    bad = _BAD_ESCAPE.search(text)
    if bad is not None:
        at = bad.start()
        if len(text) - at < 3:
            raise error(MSG_INCOMPLETE_ESCAPE)
        raise error(f"Illegal hex character in escape % pattern: {text[at : at + 3]}")


def _remove_dot_segments(path: str) -> str:
    # botocore.utils.remove_dot_segments (RFC 3986 §5.2.4 plus AWS's collapsing of empty
    # segments), except that '..' above the root is rejected instead of silently dropped: no SDK
    # emits it, so it is an attack or a bug (§1.2 step 3). Only literal '.'/'..' count, as in
    # botocore; '%2E%2E' is an ordinary segment.
    segments: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if not segments:
                raise InvalidURIPath(MSG_ABOVE_ROOT)
            segments.pop()
        else:
            segments.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and segments else ""
    return first + "/".join(segments) + last


def canonical_uri(path: str) -> str:
    """CanonicalURI for non-S3 services: ``quote(remove_dot_segments(path), safe='/~')``.

    ``path`` is the path *as received* (still percent-encoded), so anything escaped on the wire
    is escaped again: ``%20`` becomes ``%2520``. That double encoding is what every SDK signs for
    non-S3 services (botocore ``SigV4Auth._normalize_url_path``). Malformed escapes and '..'
    above the root raise ``InvalidURIPath``.
    """
    if path == "/" or not path:  # every JSON/Query API call: fast path
        return "/"
    _check_escapes(path, InvalidURIPath)
    return quote_from_bytes(_wire_bytes(_remove_dot_segments(path)), safe="/~")


def _canonical_query_element(raw: str) -> str:
    if _UNRESERVED.fullmatch(raw) is not None:
        return raw
    # A raw '+' is a form-encoded space (what ``urlencode`` sends and what scratchstack observed of
    # AWS), so it canonicalises to %20 while '%2B' stays a plus. Spec §1.2 step 2 suggested the
    # opposite; botocore's ``AWSRequest(params=...)`` puts '+' on the wire for spaces and signs
    # '%20', and no SDK puts a raw '+' on the wire for a plus sign, so this reading is the one
    # that verifies real traffic. Escapes were validated by the caller.
    return quote_from_bytes(unquote_to_bytes(_wire_bytes(raw).replace(b"+", b" ")), safe="")


def query_pairs(query: str) -> list[tuple[str, str]]:
    """(name, value) pairs in received order, each re-encoded canonically."""
    if not query:
        return []
    _check_escapes(query, MalformedQueryString)
    pairs = []
    for part in query.split("&"):
        if not part:  # 'a=1&&b=2' or a trailing '&': no parameter (scratchstack; parse_qsl)
            continue
        name, _, value = part.partition("=")  # no '=' means an empty value, still signed as 'k='
        pairs.append((_canonical_query_element(name), _canonical_query_element(value)))
    return pairs


def join_query(pairs: list[tuple[str, str]], presigned: bool) -> str:
    # Sorted by encoded name, then encoded value, as byte strings. Sorting the pairs (not the
    # 'k=v' strings) is what puts 'Param' before 'Param-3' (vector get-vanilla-query-order-*).
    if presigned:  # the signature cannot sign itself (§1.2 step 3)
        pairs = [pair for pair in pairs if pair[0] != "X-Amz-Signature"]
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_query_string(query: str, *, presigned: bool = False) -> str:
    """CanonicalQueryString of a raw query; ``presigned`` drops ``X-Amz-Signature``."""
    return join_query(query_pairs(query), presigned)


def canonical_headers(headers: Headers, signed_headers: Sequence[str]) -> str:
    """``name:value\\n`` per signed header, in the order of ``signed_headers`` (sorted).

    Values are trimmed and runs of whitespace collapsed exactly as botocore does
    (``' '.join(value.split())``, which also folds obsolete line continuations); quotes are not
    special. Repeated headers are joined with ',' in the order received, never sorted. A signed
    header that is absent contributes an empty value and the signature fails on its own.
    Header names in ``headers`` must already be lower-case (``HttpRequest``'s invariant).
    """
    if not signed_headers:  # botocore's '\n'.join(...) + '\n' of nothing
        return "\n"
    wanted: dict[str, str | None] = dict.fromkeys(signed_headers)
    for name, value in headers:
        if name in wanted:
            trimmed = " ".join(value.split())
            seen = wanted[name]
            wanted[name] = trimmed if seen is None else f"{seen},{trimmed}"
    return "".join([f"{name}:{value or ''}\n" for name, value in wanted.items()])
