"""Builds MSAL's ConfidentialClientApplication, once per thread, not once per request.

Constructing an application costs several times a whole cache hit, so each thread
keeps one, with one ``SerializableTokenCache`` whose contents are swapped per call
(``deserialize`` replaces them wholesale), and its own MSAL HTTP cache (MSAL's cache
is not safe to share between threads). A settings change (``setting_changed``)
discards them all.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msal
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from msal.exceptions import MsalServiceError

from msal_django import credentials
from msal_django.conf import msal_settings, resets_on_change
from msal_django.exceptions import ProviderError
from msal_django.redact import describe

# What MSAL raises when the provider cannot be reached or answers 5xx.
TRANSIENT_ERRORS = (OSError, MsalServiceError)

_local = threading.local()
_generation = 0
_discovery: dict[str, dict[str, Any]] = {}


@resets_on_change()
def reset() -> None:
    """Forget every application and cached discovery document (settings changed)."""
    global _generation
    _generation += 1
    _discovery.clear()


def get_app() -> msal.ConfidentialClientApplication:
    """This thread's application, built on first use (this may fetch discovery)."""
    app = getattr(_local, "app", None)
    if app is None or _local.generation != _generation:
        app = _build_app()
        _local.app, _local.generation = app, _generation
    return app


@contextmanager
def app_holding(state: str | None) -> Iterator[msal.ConfidentialClientApplication]:
    """This thread's application, its token cache holding ``state`` (None: empty) for the
    block, and emptied after it: no tokens stay in the thread's memory between calls."""
    app = get_app()
    app.token_cache.deserialize(state)
    try:
        yield app
    finally:
        app.token_cache.deserialize(None)


_warnings_lock = threading.Lock()


def initiate_auth_code_flow(scopes: list[str], redirect_uri: str, **options: Any) -> dict[str, Any]:
    """MSAL's auth code flow (PKCE, state, nonce) for ``scopes``, started on this thread's app.

    The callback takes the code in the query (``response_mode=query``): a form_post would
    arrive cross-site without Django's ``SameSite=Lax`` session cookie, so the pending
    sign-in could not be found. PKCE and single-use codes cover the risk, so MSAL's
    warning that recommends form_post is silenced here, where it is raised: a filter set
    at start-up does not survive a test runner's own warning capture (pytest's). The lock
    keeps concurrent calls from restoring each other's filters.
    """
    app = get_app()
    with _warnings_lock, warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="response_mode='form_post' is recommended", category=UserWarning
        )
        return dict(app.initiate_auth_code_flow(scopes, redirect_uri=redirect_uri, **options))


def http_client() -> Any:
    """``HTTP_CLIENT``'s session, each request bounded by ``TIMEOUT``; None: MSAL's own."""
    path = msal_settings.HTTP_CLIENT
    if not path:
        return None
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"MSAL_DJANGO['HTTP_CLIENT'] {path!r}: {exc}") from exc
    return WithTimeout(factory(), msal_settings.TIMEOUT)


class WithTimeout:
    """A requests-like session whose requests get a timeout unless the caller gives one.

    MSAL passes none, and a session has no default of its own: without this, a provider
    that stops answering would hold a worker for as long as the OS waits.
    """

    def __init__(self, session: Any, timeout: float) -> None:
        self.session, self.timeout = session, timeout

    def get(self, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.post(url, **kwargs)

    def close(self) -> None:
        close = getattr(self.session, "close", None)
        if close is not None:
            close()


def _build_app() -> msal.ConfidentialClientApplication:
    session = http_client()
    credential = credentials.msal_credential(session)
    kwargs: dict[str, Any] = {
        "client_credential": credential,
        "token_cache": msal.SerializableTokenCache(),
        "http_client": session,
        "http_cache": {},  # this thread's: MSAL guards it with a lock of its own per app
        "timeout": msal_settings.TIMEOUT,  # for MSAL's own session (no HTTP_CLIENT)
    }
    if msal_settings.CLIENT_CAPABILITIES:  # ["cp1"]: Continuous Access Evaluation
        kwargs["client_capabilities"] = msal_settings.CLIENT_CAPABILITIES
    if msal_settings.OIDC_AUTHORITY:
        kwargs["oidc_authority"] = msal_settings.OIDC_AUTHORITY
    else:
        kwargs["authority"] = msal_settings.AUTHORITY
        kwargs["instance_discovery"] = msal_settings.INSTANCE_DISCOVERY
    try:
        app = msal.ConfidentialClientApplication(msal_settings.CLIENT_ID, **kwargs)
    except ValueError as exc:
        # MSAL raises ValueError when discovery fails: the provider is down or misnamed.
        raise ProviderError(
            f"Could not load the identity provider's configuration: {describe(exc)}",
            transient=True,
        ) from None  # MSAL's frames hold the credential (see ProviderError)
    except TRANSIENT_ERRORS as exc:
        raise ProviderError(
            f"Could not reach the identity provider: {describe(exc)}", transient=True
        ) from None
    credentials.bind_audience(credential, app.authority.token_endpoint)
    return app


def discovery_document() -> dict[str, Any]:
    """The provider's OpenID configuration (for ``end_session_endpoint`` and ``issuer``)."""
    if msal_settings.OIDC_AUTHORITY:
        url = msal_settings.OIDC_AUTHORITY.rstrip("/") + "/.well-known/openid-configuration"
    else:
        url = str(msal_settings.AUTHORITY).rstrip("/") + "/v2.0/.well-known/openid-configuration"
    document = _discovery.get(url)
    if document is None:
        try:
            response = get_app().http_client.get(url, timeout=msal_settings.TIMEOUT)
            response.raise_for_status()
            document = dict(json.loads(response.text))
        except (*TRANSIENT_ERRORS, ValueError) as exc:
            raise ProviderError(f"Could not load {url}: {describe(exc)}", transient=True) from None
        _discovery[url] = document
    return document
