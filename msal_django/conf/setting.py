"""``Setting``, one key of ``MSAL_DJANGO``, and the resets of what is built from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

T = TypeVar("T")

SETTINGS_READ = ("MSAL_DJANGO", "SECRET_KEY", "SECRET_KEY_FALLBACKS")
_resets: list[tuple[frozenset[str], Callable[[], None]]] = []


def resets_on_change(*names: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a ``reset()``, called when a setting of ``names`` (``SETTINGS_READ``) changes."""

    def register(reset: Callable[[], None]) -> Callable[[], None]:
        _resets.append((frozenset(names or SETTINGS_READ), reset))
        return reset

    return register


def setting_changed(setting: str, **kwargs: Any) -> None:
    """Django's ``setting_changed`` (connected in ``apps.py``): what was built is dropped."""
    for names, reset in list(_resets):
        if setting in names:
            reset()


def seconds(value: Any) -> float:
    """A duration setting in seconds: a number, or a ``timedelta``."""
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


_UNSET = object()


def configured(name: str, default: Any = _UNSET) -> Any:
    """``MSAL_DJANGO[name]`` as configured, else its default."""
    config = getattr(settings, "MSAL_DJANGO", None)
    if isinstance(config, dict) and name in config:
        return config[name]
    if default is _UNSET:
        from msal_django.conf import SETTINGS

        default = SETTINGS[name].default
    return default


class Setting(Generic[T]):
    """One key of ``MSAL_DJANGO``: read as ``msal_settings.<NAME>``. ``help`` is its whole
    description (reStructuredText; ``:setting:``, ``:check:``, ``:doc:``, ``:ref:``,
    ``:func:`` link); ``default_text`` says what the default means where its repr would
    mislead; ``check`` names the system check of a duration (seconds or a timedelta)."""

    name: str

    def __init__(
        self,
        default: Any,
        read: Callable[[Any], T],
        help: str = "",
        *,
        check: str | None = None,
        default_text: str | None = None,
    ) -> None:
        self.default, self.read, self.help, self.check = default, read, help, check
        self.default_text = default_text

    @property
    def duration(self) -> bool:
        return self.check is not None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return self.read(configured(self.name, self.default))
