"""Claims challenges: the claims an API's ``401`` asks for (Continuous Access Evaluation).

In: a ``401`` response of a CAE-enabled API such as Microsoft Graph (``requests`` or
``httpx``), or its ``WWW-Authenticate`` header value.
Out: the claims request (a JSON object as a ``str``) that ``get_token``'s
``claims_challenge`` takes, or ``None``.

The header is read by one left-to-right scan (RFC 9110, section 11.6.1: ``#challenge``,
each an auth-scheme then a token68 or ``#auth-param``), linear in its length; what comes
from the network is bounded, checked and never raises."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Protocol

MAX_HEADER_LENGTH = 16 * 1024
MAX_CLAIMS_LENGTH = 8 * 1024

# RFC 9110, section 5.6.2: the characters of a token (scheme and parameter names).
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# RFC 9110, section 11.2: a token68 (a scheme's single credential), before its "="s.
_TOKEN68 = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_BASE64 = frozenset("+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"
_CONTROL = frozenset(chr(code) for code in [*range(0x20), 0x7F]) - {"\t"}


class _Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


class ResponseLike(Protocol):
    """What :func:`claims_challenge` reads of a response: ``requests.Response`` and
    ``httpx.Response`` have it (``headers.get`` is case-insensitive in both)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> _Headers: ...


class _Malformed(Exception):
    """The header breaks RFC 9110's grammar where no sender Microsoft runs breaks it."""


def claims_challenge(response_or_header: ResponseLike | str) -> str | None:
    """The claims an API's ``401`` asks the next access token to carry, else ``None``.

    Pass the response of a call to Microsoft Graph or another CAE-enabled API (a
    ``requests`` or ``httpx`` response: anything with ``status_code`` and
    case-insensitive ``headers``) or its ``WWW-Authenticate`` header value. A response
    other than a ``401`` is ``None``. The header may hold several challenges; the first
    ``Bearer`` challenge with ``error="insufficient_claims"`` and a ``claims`` parameter
    is the claims challenge, and its ``claims`` (standard base64, as Graph sends it, or
    base64url, padded or not) decoded is returned: a JSON object as a ``str``, to pass on
    as ``get_token(request, scopes, claims_challenge=...)``.

    Only ``error="insufficient_claims"`` counts: Microsoft's "Claims challenges, claims
    requests, and client capabilities" says ``error`` is required and must be
    ``insufficient_claims`` for a claims challenge, and its CAE guide tells apps to check
    for exactly that error and a ``claims`` parameter. A ``claims`` beside another error
    (``invalid_token``, ``interaction_required``) or no ``error`` is ``None``.

    Whatever comes from the network never raises: a header over 16 KB, a ``claims`` over
    8 KB, control characters, a header that breaks the grammar, bad base64, a value that
    is not UTF-8 JSON or not a JSON object (a nesting bomb included) are ``None``.

    >>> claims_challenge(
    ...     'Bearer realm="", error="insufficient_claims", '
    ...     'claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwg'
    ...     'InZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0="'
    ... )
    '{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}'
    >>> claims_challenge('Bearer error="invalid_token"') is None
    True

    Raises :exc:`TypeError` for an argument that is neither a ``str`` nor a response.
    """
    if isinstance(response_or_header, str):
        header: object = response_or_header
    elif hasattr(response_or_header, "status_code") and hasattr(response_or_header, "headers"):
        if response_or_header.status_code != 401:
            return None
        header = response_or_header.headers.get("WWW-Authenticate")
    else:
        raise TypeError(
            "claims_challenge() takes a requests or httpx response, or the value of a "
            f"WWW-Authenticate header (a str), not {type(response_or_header).__name__}"
        )
    if not isinstance(header, str) or len(header) > MAX_HEADER_LENGTH:
        return None
    if any(char in _CONTROL for char in header):
        return None
    try:
        challenges = _parse(header)
    except _Malformed:
        return None
    for scheme, params in challenges:
        if (
            scheme == "bearer"
            and params.get("error", "").lower() == "insufficient_claims"
            and "claims" in params
        ):
            return _decoded(params["claims"])
    return None


def _parse(header: str) -> list[tuple[str, dict[str, str]]]:
    """``[(scheme in lower case, {parameter name in lower case: value}), ...]``."""
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    at = 0
    while True:
        at = _skip(header, at, _OWS + ",")
        if at == len(header):
            return challenges
        name, at = _token(header, at)
        after = _skip(header, at, _OWS)
        if params is not None and after < len(header) and header[after] == "=":
            value, at = _value(header, _skip(header, after + 1, _OWS))
            if name.lower() in params:
                raise _Malformed  # RFC 9110: a parameter name occurs once per challenge.
            params[name.lower()] = value
        else:
            params = {}
            challenges.append((name.lower(), params))
            at = _token68_end(header, after)
            if at == after:
                continue  # its parameters follow, the first without a comma before it
        at = _skip(header, at, _OWS)
        if at < len(header) and header[at] != ",":
            raise _Malformed


def _skip(header: str, at: int, chars: str) -> int:
    while at < len(header) and header[at] in chars:
        at += 1
    return at


def _token(header: str, at: int) -> tuple[str, int]:
    start = at
    while at < len(header) and header[at] in _TCHAR:
        at += 1
    if at == start:
        raise _Malformed
    return header[start:at], at


def _token68_end(header: str, at: int) -> int:
    """Past the token68 after a scheme (``Basic dXNlcg==``), or ``at`` if there is none."""
    end = at
    while end < len(header) and header[end] in _TOKEN68:
        end += 1
    if end == at:
        return at
    end = _skip(header, end, "=")
    after = _skip(header, end, _OWS)
    return end if after == len(header) or header[after] == "," else at


def _value(header: str, at: int) -> tuple[str, int]:
    """A quoted-string (its quoted-pairs undone) or an unquoted value.

    An unquoted value runs to the next comma or space: Graph sends
    ``authorization_uri=https://...`` unquoted, which is not an RFC 9110 token."""
    if at < len(header) and header[at] == '"':
        chars: list[str] = []
        at += 1
        while at < len(header):
            char = header[at]
            if char == '"':
                return "".join(chars), at + 1
            if char == "\\":
                at += 1
                if at == len(header):
                    break
                char = header[at]
            chars.append(char)
            at += 1
        raise _Malformed  # the quoted-string never ends
    start = at
    while at < len(header) and header[at] not in _OWS + ',"':
        at += 1
    if at == start:
        raise _Malformed
    return header[start:at], at


def _decoded(claims: str) -> str | None:
    """The JSON object that ``claims`` (base64 or base64url, padded or not) encodes."""
    if len(claims) > MAX_CLAIMS_LENGTH:
        return None
    data = claims.replace("-", "+").replace("_", "/")
    unpadded = data.rstrip("=")
    if not set(unpadded) <= _BASE64 or len(unpadded) % 4 == 1:
        return None
    if unpadded != data and len(data) % 4:
        return None  # padded, but not to a multiple of four
    try:
        text = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True).decode()
        value = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return text if isinstance(value, dict) else None
