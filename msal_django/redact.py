"""Log and error-report hygiene: secrets kept out of reprs, codes out of MSAL's debug
log, and request values made safe to log.

MSAL's token cache logs each token event at DEBUG with the request's ``data`` masked
only in part: the authorization ``code`` and the PKCE ``code_verifier`` stay readable.
``RedactCodes`` masks them before any handler sees the record.

Whatever the package logs that a request (or the provider's answer to one) chose goes
through ``loggable``: escaped, so no CR/LF or control character can forge a log line,
and capped, so no request can write megabytes into the log.
"""

from __future__ import annotations

import logging
import re

_SENSITIVE = re.compile(r'("(?:code|code_verifier|client_assertion)"\s*:\s*)"[^"]*"')
LOGGABLE_LENGTH = 200


class Secret(str):
    """A credential, code or token that never shows in a ``repr``.

    Django's error pages and reports, and error trackers, print local variables with
    ``repr``: in every frame, MSAL's included, and on the ``DEBUG`` page even in frames
    marked with ``sensitive_variables``. ``str()`` gives the plain value back.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


def loggable(value: object, limit: int = LOGGABLE_LENGTH) -> str:
    """``value`` as one printable line of at most ``limit`` characters (plus ``...``).

    Backslashes and every character that is not printable (CR, LF, other control
    characters, Unicode line separators, bidirectional overrides) are written as
    Python escapes (``\\n``, ``\\x1b``, ``\\u2028``), so the result is unambiguous.
    """
    text = str(value)
    escaped = "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii")
        for c in text[:limit]
    )
    return escaped + ("..." if len(text) > limit else "")


def describe(exc: BaseException) -> str:
    """An exception's type and message, loggable: what replaces its chained traceback."""
    return f"{type(exc).__name__}: {loggable(exc)}"


class RedactCodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _SENSITIVE.sub(r'\1"********"', a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install() -> None:
    logger = logging.getLogger("msal.token_cache")
    if not any(isinstance(f, RedactCodes) for f in logger.filters):
        logger.addFilter(RedactCodes())
