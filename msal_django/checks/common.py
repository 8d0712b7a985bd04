"""What the settings checks share: durations, timeouts, importable callables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from msal_django.conf import SETTINGS, seconds


def check_durations(config: dict[str, Any], check_id: str) -> list[CheckMessage]:
    """The duration settings that ``check_id`` validates (see ``conf.Setting.check``)."""
    errors: list[CheckMessage] = []
    for name in (name for name, setting in SETTINGS.items() if setting.check == check_id):
        value = config[name]
        if isinstance(value, bool) or not (
            isinstance(value, int | float | timedelta) and seconds(value) >= 0
        ):
            errors.append(
                Error(
                    f'MSAL_DJANGO["{name}"] must be a number of seconds (or a timedelta) >= 0.',
                    hint="Leave it unset for the default (see README.md).",
                    id=check_id,
                )
            )
    return errors


def check_timeouts(
    where: str, options: dict[str, Any], names: Sequence[str], check_id: str
) -> list[CheckMessage]:
    missing = [name for name in names if not options.get(name)]
    if not missing:
        return []
    return [
        Warning(
            f"{where} sets no {' or '.join(missing)}: a Redis that stops answering would "
            "hold requests (and logouts) for as long as the OS waits.",
            hint=f'Set e.g. "{names[0]}": 1, "{names[1]}": 1 (seconds); requests then answer '
            "503 while Redis is unavailable.",
            id=check_id,
        )
    ]


def check_callable(
    config: dict[str, Any], name: str, hint: str, check_id: str
) -> tuple[Any, list[CheckMessage]]:
    """The callable a dotted-path setting names, or None and an error saying why not."""
    path = config[name]
    try:
        factory = import_string(path) if isinstance(path, str) else None
    except ImportError as exc:
        factory, reason = None, str(exc)
    else:
        reason = "it is not callable"
    if callable(factory):
        return factory, []
    message = f'MSAL_DJANGO["{name}"] {path!r} cannot be used: {reason}.'
    return None, [Error(message, hint=hint, id=check_id)]
