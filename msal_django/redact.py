"""Keeps codes out of MSAL's debug log.

MSAL's token cache logs each token event at DEBUG with the request's ``data`` masked
only in part: the authorization ``code`` and the PKCE ``code_verifier`` stay readable.
This filter masks them before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

_SENSITIVE = re.compile(r'("(?:code|code_verifier|client_assertion)"\s*:\s*)"[^"]*"')


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
