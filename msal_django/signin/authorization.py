"""Authorization from the identity provider: ID-token claims to Django groups and flags.

At each sign-in ``MsalBackend`` (through :class:`AuthorizationHooks`) checks the tenant
against ``ALLOWED_TENANTS``, collects the values of ``ROLE_CLAIMS`` (app roles, group
object ids), resolves Entra's group overage from ``GRAPH_URL`` with the user's own token,
and sets the user's provider-granted groups and ``FLAG_MAP`` flags to exactly what the
values say. Groups an admin granted by hand are never recorded as the provider's, so
they are never removed. Anything that goes wrong before the user is touched raises
:class:`SignInRefused`, which the callback turns into a page: no user is created or
signed in and no token is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import requests
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from msal_django import msal_app
from msal_django.conf import msal_settings
from msal_django.exceptions import InteractionRequired, MsalDjangoError, ProviderError
from msal_django.models import ProviderGroup
from msal_django.redact import Secret, loggable

logger = logging.getLogger("msal_django")

Claims = dict[str, Any]

# Bounds on what a token or Graph may hand us: a clear refusal beyond them, never a 500.
MAX_VALUES = 10_000  # role and group values in all, after overage
MAX_VALUE_LENGTH = 256  # longer values are dropped: no app role or object id is that long
MAX_GRAPH_PAGES = 50  # of up to GRAPH_PAGE_SIZE each
GRAPH_PAGE_SIZE = 999  # Graph's maximum $top for memberships
GRAPH_GROUP_TYPE = "#microsoft.graph.group"


class SignInRefused(MsalDjangoError):
    """The sign-in must not go on; the callback shows ``title`` and ``message`` with
    ``status`` (403: refused, 503: try again later) and stores nothing."""

    def __init__(
        self, status: int, error: str, title: str | Promise, message: str | Promise
    ) -> None:
        self.status, self.error, self.title, self.message = status, error, title, message
        super().__init__(f"{error}: {message}")


class TokenSource(Protocol):
    """Where group overage is resolved from: a token for ``GRAPH_SCOPES`` as the user."""

    def acquire(self, scopes: Iterable[str]) -> str: ...


def _groups_unavailable(status: int, error: str) -> SignInRefused:
    if status == 503:
        message = _("Your group memberships could not be read. Please try again in a moment.")
    else:
        message = _(
            "This site may not read your group memberships. An administrator must grant it "
            "the Microsoft Graph permission it needs."
        )
    return SignInRefused(status, error, _("Sign-in is unavailable"), message)


class AuthorizationHooks:
    """``MsalBackend``'s authorization steps; override any of them."""

    def check_tenant(self, claims: Claims) -> None:
        """Refuse a ``tid`` outside ``ALLOWED_TENANTS`` (when set)."""
        allowed = msal_settings.ALLOWED_TENANTS
        if allowed is None:
            return
        tid = claims.get("tid")
        if not isinstance(tid, str) or tid.lower() not in allowed:
            logger.warning(
                "Sign-in refused: tenant %s is not in ALLOWED_TENANTS.", loggable(str(tid)[:64])
            )
            raise SignInRefused(
                403,
                "tenant_not_allowed",
                _("No access"),
                _("Your organization is not allowed to sign in to this site."),
            )

    def authorization_values(
        self, claims: Claims, sign_in: TokenSource | None
    ) -> frozenset[str] | None:
        """The values of ``ROLE_CLAIMS``, overage resolved; ``None``: leave the user's
        groups and flags as they are (nothing to map, or Graph failed and
        ``KEEP_GROUPS_ON_GRAPH_ERROR`` is on)."""
        if not (msal_settings.GROUP_MAP or msal_settings.MIRROR_GROUPS or msal_settings.FLAG_MAP):
            return frozenset()  # nothing mapped: only what was granted before goes
        values: set[str] = set()
        for name in msal_settings.ROLE_CLAIMS:
            if name == "groups" and has_group_overage(claims):
                try:
                    values |= self.read_overage_groups(sign_in)
                except SignInRefused as exc:
                    if not msal_settings.KEEP_GROUPS_ON_GRAPH_ERROR:
                        raise
                    logger.warning(
                        "Signing in with the last known groups (KEEP_GROUPS_ON_GRAPH_ERROR): %s",
                        exc.error,
                    )
                    return None
            else:
                values |= claim_strings(claims.get(name), name)
            if len(values) > MAX_VALUES:
                logger.warning("Sign-in refused: more than %d role and group values.", MAX_VALUES)
                raise SignInRefused(
                    403,
                    "too_many_groups",
                    _("No access"),
                    _("Your account belongs to more groups than this site can handle."),
                )
        return frozenset(values)

    def read_overage_groups(self, sign_in: TokenSource | None) -> set[str]:
        """The user's group object ids from ``GRAPH_URL/me/transitiveMemberOf``, with a
        token from ``sign_in`` (the sign-in's own, or on behalf of an API's caller)."""
        if sign_in is None:
            logger.warning("Group overage with no sign-in token to resolve it with.")
            raise _groups_unavailable(403, "overage_without_token")
        try:
            token = Secret(sign_in.acquire(msal_settings.GRAPH_SCOPES))
        except InteractionRequired as exc:
            logger.warning(
                "Group overage: no token for %s (%s); grant the permission (admin consent).",
                " ".join(msal_settings.GRAPH_SCOPES),
                loggable(str(exc.error)),
            )
            raise _groups_unavailable(403, "graph_consent_required") from None
        except ProviderError as exc:
            logger.warning("Group overage: no token for Graph: %s", loggable(exc))
            raise _groups_unavailable(503, "graph_token_unavailable") from None
        return read_graph_groups(token)

    def sync_authorization(self, user: AbstractBaseUser, values: frozenset[str]) -> None:
        """Set the user's provider-granted groups and ``FLAG_MAP`` flags to ``values``."""
        with transaction.atomic():
            if hasattr(user, "groups"):
                self.sync_groups(user, self.group_names(values))
            self.sync_flags(user, values)

    def group_names(self, values: frozenset[str]) -> set[str]:
        """The Django group names ``values`` grant: ``GROUP_MAP``, and with
        ``MIRROR_GROUPS`` each unmapped value itself."""
        mapping = msal_settings.GROUP_MAP
        names = {str(mapping[v]) for v in values if v in mapping}
        if msal_settings.MIRROR_GROUPS:
            names |= {v for v in values if v not in mapping}
        max_length = Group._meta.get_field("name").max_length or 150
        return {name for name in names if 0 < len(name) <= max_length}

    def sync_groups(self, user: AbstractBaseUser, names: set[str]) -> None:
        """Add and remove the provider's memberships, in a few queries whatever the count."""
        wanted = _groups_named(names)
        granted = set(
            ProviderGroup.objects.filter(user_id=user.pk).values_list("group_id", flat=True)
        )
        if not (wanted or granted):
            return
        held = set(user.groups.values_list("id", flat=True))  # type: ignore[attr-defined]
        # A group the user already holds by hand stays theirs: not recorded as the provider's.
        new = (wanted - held) | (wanted & granted)
        gone = granted - wanted
        if gone:
            user.groups.remove(*gone)  # type: ignore[attr-defined]
            ProviderGroup.objects.filter(user_id=user.pk, group_id__in=gone).delete()
        if new - held:
            user.groups.add(*(new - held))  # type: ignore[attr-defined]
        if new - granted:
            ProviderGroup.objects.bulk_create(
                [ProviderGroup(user_id=user.pk, group_id=g) for g in new - granted],
                ignore_conflicts=True,
            )

    def sync_flags(self, user: AbstractBaseUser, values: frozenset[str]) -> None:
        """Set each ``FLAG_MAP`` flag the user model has: on if any of its values is present."""
        changed = []
        for flag, flag_values in msal_settings.FLAG_MAP.items():
            if not hasattr(user, flag):
                continue
            on = any(v in values for v in flag_values)
            if getattr(user, flag) != on:
                setattr(user, flag, on)
                changed.append(flag)
        if changed:
            user.save(update_fields=changed)


def has_group_overage(claims: Claims) -> bool:
    """Entra left the groups out (too many): ``_claim_names`` names them (or
    ``hasgroups``). Its ``_claim_sources`` endpoint is never followed."""
    names = claims.get("_claim_names")
    return (isinstance(names, dict) and "groups" in names) or claims.get("hasgroups") is True


def claim_strings(value: Any, claim: str) -> set[str]:
    """A list claim's string values; anything else in it is dropped, and logged."""
    if value is None:
        return set()
    if not isinstance(value, list):
        logger.warning("Claim %s ignored: a list was expected.", loggable(claim[:64]))
        return set()
    if len(value) > MAX_VALUES:
        logger.warning("Sign-in refused: claim %s has %d values.", loggable(claim[:64]), len(value))
        raise SignInRefused(
            403,
            "too_many_groups",
            _("No access"),
            _("Your account belongs to more groups than this site can handle."),
        )
    kept = [v for v in value if isinstance(v, str) and 0 < len(v) <= MAX_VALUE_LENGTH]
    if len(kept) < len(value):
        logger.warning(
            "Claim %s: %d values that are not short strings ignored.",
            loggable(claim[:64]),
            len(value) - len(kept),
        )
    return set(kept)


def _groups_named(names: set[str]) -> set[int]:
    """The ids of the groups named ``names``, creating the missing ones in one insert."""
    if not names:
        return set()
    found = dict(Group.objects.filter(name__in=names).values_list("name", "id"))
    missing = names - set(found)
    if missing:
        Group.objects.bulk_create([Group(name=n) for n in missing], ignore_conflicts=True)
        found.update(Group.objects.filter(name__in=missing).values_list("name", "id"))
    return set(found.values())


# -- Microsoft Graph ---------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _segments(path: str) -> list[str] | None:
    """A URL path's segments, percent-decoded; None if any is a dot-segment (RFC 3986
    5.2.4: a server resolves them, so ``/v1.0/../beta`` is not under ``/v1.0``) or holds
    a separator once decoded."""
    segments = path.split("/")[1:]
    decoded = [unquote(segment) for segment in segments]
    if any(s in (".", "..") or "/" in s or "\\" in s for s in decoded):
        return None
    return decoded


def _stays_on(link: object, base: str) -> bool:
    """Whether Graph's ``@odata.nextLink`` stays under ``GRAPH_URL``: same scheme and
    host, and ``GRAPH_URL``'s path segments its first ones, compared segment by segment
    (``/v1.0evil`` is not under ``/v1.0``)."""
    if not isinstance(link, str) or _origin(link) != _origin(base):
        return False
    parts = urlsplit(link)
    if parts.username is not None or parts.password is not None:
        return False
    wanted = [s for s in urlsplit(base).path.split("/")[1:] if s]
    segments = _segments(parts.path)
    return segments is not None and segments[: len(wanted)] == wanted


@sensitive_variables()  # the bearer token
def read_graph_groups(token: str) -> set[str]:
    """Every page of ``GRAPH_URL/me/transitiveMemberOf``: the group ids. Pages must stay
    on ``GRAPH_URL`` and are bounded in number; any failure is a ``SignInRefused``."""
    base = msal_settings.GRAPH_URL
    url = f"{base}/me/transitiveMemberOf?$select=id&$top={GRAPH_PAGE_SIZE}"
    # Not MSAL's own HTTP client: it caches GET answers by URL, whoever's token asked.
    session = msal_app.http_client() or requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    groups: set[str] = set()
    try:
        for _page in range(MAX_GRAPH_PAGES):
            body = _graph_page(session, url, headers)
            groups |= _page_groups(body)
            if len(groups) > MAX_VALUES:
                logger.warning("Group overage: Graph lists more than %d groups.", MAX_VALUES)
                raise _groups_unavailable(403, "too_many_groups")
            next_link = body.get("@odata.nextLink")
            if next_link is None:
                return groups
            if not _stays_on(next_link, base):
                logger.warning("Group overage: Graph's nextLink leaves GRAPH_URL; refused.")
                raise _groups_unavailable(503, "graph_bad_next_link")
            url = next_link
    finally:
        session.close()
    logger.warning("Group overage: Graph still had more after %d pages.", MAX_GRAPH_PAGES)
    raise _groups_unavailable(503, "graph_too_many_pages")


def _graph_page(session: Any, url: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        response = session.get(url, headers=headers, timeout=msal_settings.TIMEOUT)
    except (OSError, requests.RequestException) as exc:
        logger.warning("Group overage: Graph could not be reached: %s", type(exc).__name__)
        raise _groups_unavailable(503, "graph_unreachable") from None
    if response.status_code in (401, 403):
        logger.warning(
            "Group overage: Graph answered %d; does the token have %s?",
            response.status_code,
            " ".join(msal_settings.GRAPH_SCOPES),
        )
        raise _groups_unavailable(403, "graph_forbidden")
    if response.status_code != 200:
        logger.warning("Group overage: Graph answered %d.", response.status_code)
        raise _groups_unavailable(503, "graph_error")
    try:
        body = json.loads(response.text)
    except (ValueError, RecursionError):
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("value"), list)):
        logger.warning("Group overage: Graph's answer is not a list of memberships.")
        raise _groups_unavailable(503, "graph_bad_answer")
    return body


def _page_groups(body: dict[str, Any]) -> set[str]:
    """The ids of the groups on one page (directory roles and the like are skipped)."""
    return {
        item["id"]
        for item in body["value"]
        if isinstance(item, dict)
        and item.get("@odata.type", GRAPH_GROUP_TYPE) == GRAPH_GROUP_TYPE
        and isinstance(item.get("id"), str)
        and 0 < len(item["id"]) <= MAX_VALUE_LENGTH
    }
