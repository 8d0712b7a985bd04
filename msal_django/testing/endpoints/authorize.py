"""The authorize endpoint: checks the request, shows the sign-in page (or answers a
``prompt=none`` request silently), and sends the browser back with a code or an error
in the response mode the client asked for."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Mapping
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .. import pages
from ..context import Context
from ..defaults import CODE_LIFETIME, PENDING_SIGN_IN_LIFETIME
from ..entra import OIDC_SCOPES, grants, missing_consent, parse_scopes, split_scope, unknown_client
from ..events import refuse_if_disabled
from ..minting import client_info, now
from ..records import (
    AuthorizationCode,
    AuthorizationRequest,
    OAuthError,
    ProviderSession,
    TestUser,
)
from ..web import add_query, html, redirect, session_id, set_session_cookie

RESPONSE_MODES = ("query", "fragment", "form_post")

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def handle_authorize(ctx: Context, request: Request, tenant: str | None) -> Response:
    if request.method == "POST" and "request_id" in request.form:
        return _complete_sign_in(ctx, request)
    auth = _parse_request(ctx, request.values)
    session = ctx.state.active_session(session_id(request))
    if auth.prompt == "none":
        return _silent_sign_in(ctx, auth, session)
    request_id = secrets.token_urlsafe(24)
    ctx.state.add_pending(request_id, auth)
    current = session.username if session and auth.prompt != "login" else None
    return _sign_in_page(ctx, request, request_id, auth, current)


def error_redirect(ctx: Context, request: Request, exc: OAuthError) -> Response | None:
    """An (injected) error, sent back to the client if its request is valid."""
    if "request_id" in request.form:
        auth = ctx.state.pending_request(request.form["request_id"])
    else:
        try:
            auth = _parse_request(ctx, request.values)
        except OAuthError:
            auth = None
    if auth is None:
        return None
    params = {"error": exc.error, "error_description": exc.description}
    if exc.suberror:
        params["error_subcode"] = exc.suberror
    return _authorization_response(auth, params)


def _parse_request(ctx: Context, values: Mapping[str, str]) -> AuthorizationRequest:
    def page_error(error: str, description: str) -> OAuthError:
        return OAuthError(error, description, page=True)

    client_id = values.get("client_id", "")
    client = ctx.state.client(client_id)
    if client is None:
        raise unknown_client(
            client_id, " Register it with IdentityProvider.register_client().", page=True
        )
    redirect_uri = values.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise page_error(
            "invalid_request",
            f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request "
            f"does not match the redirect URIs configured for the application "
            f"'{client_id}'.",
        )
    if values.get("response_type") != "code":
        raise page_error(
            "unsupported_response_type",
            "AADSTS700054: Only response_type=code is supported (the auth code flow).",
        )
    code_challenge = values.get("code_challenge", "")
    if not code_challenge or values.get("code_challenge_method") != "S256":
        raise page_error(
            "invalid_request",
            "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge "
            "with code_challenge_method=S256.",
        )
    response_mode = values.get("response_mode") or "query"
    if response_mode not in RESPONSE_MODES:
        raise page_error(
            "invalid_request",
            f"AADSTS900144: Unsupported response_mode '{response_mode}'.",
        )
    try:
        scopes = parse_scopes(values.get("scope"))
        for scope in scopes:
            if scope not in OIDC_SCOPES:
                split_scope(scope)
    except OAuthError as exc:
        exc.page = True
        raise
    return AuthorizationRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=values.get("state"),
        nonce=values.get("nonce"),
        code_challenge=code_challenge,
        response_mode=response_mode,
        prompt=values.get("prompt"),
        login_hint=values.get("login_hint", ""),
        created_at=time.time(),
    )


def _sign_in_page(
    ctx: Context,
    request: Request,
    request_id: str,
    auth: AuthorizationRequest,
    current_username: str | None,
    message: str = "",
) -> Response:
    users = ctx.state.copy_users()
    accounts = [
        pages.Account(u.username, u.name, u.preferred_username)
        for u in sorted(users.values(), key=lambda u: u.username)
    ]
    current = next((a for a in accounts if a.username == current_username), None)
    hint = auth.login_hint if auth.login_hint and auth.login_hint not in users else ""
    body = pages.sign_in_page(
        action=request.base_url,
        request_id=request_id,
        client_id=auth.client_id,
        scopes=auth.scopes,
        accounts=accounts,
        current=current,
        login_hint=hint,
        message=message,
    )
    return html(body, 200)


def _silent_sign_in(
    ctx: Context, auth: AuthorizationRequest, session: ProviderSession | None
) -> Response:
    if session is None:
        return _authorization_response(
            auth,
            {
                "error": "login_required",
                "error_description": "AADSTS50058: A silent sign-in request was sent but "
                "no user is signed in.",
            },
        )
    if missing_consent(auth.scopes, ctx.state.granted(session.username, auth.client_id)):
        return _authorization_response(
            auth,
            {
                "error": "consent_required",
                "error_description": "AADSTS65001: The user has not consented to use the "
                f"application with ID '{auth.client_id}'.",
            },
        )
    refuse_if_disabled(ctx.state, session.username, page=True)
    return _issue_code(ctx, auth, ctx.state.user(session.username), session)


def _complete_sign_in(ctx: Context, request: Request) -> Response:
    state, form = ctx.state, request.form
    request_id = form.get("request_id", "")
    auth = state.pending_request(request_id)
    if auth is None or auth.created_at < time.time() - PENDING_SIGN_IN_LIFETIME:
        raise OAuthError(
            "invalid_request",
            "AADSTS50058: This sign-in request has expired or was already completed. "
            "Go back to the application and sign in again.",
            page=True,
        )
    if form.get("action") == "cancel":
        with state.lock:
            state.pending.pop(request_id, None)
        return _authorization_response(
            auth,
            {
                "error": "access_denied",
                "error_subcode": "cancel",
                "error_description": "AADSTS65004: The user canceled the sign-in.",
            },
        )
    username = form.get("user", "").strip() or form.get("new_username", "").strip()
    session = state.active_session(session_id(request))
    current = session.username if session else None
    if not username:
        return _sign_in_page(
            ctx, request, request_id, auth, current, "Pick an account or type a user name."
        )
    if not _USERNAME.match(username):
        return _sign_in_page(
            ctx,
            request,
            request_id,
            auth,
            current,
            "A user name has up to 64 letters, digits and . _ @ + - characters.",
        )
    refuse_if_disabled(state, username, page=True)
    with state.lock:
        if state.pending.pop(request_id, None) is None:  # Another submit won the race.
            raise OAuthError(
                "invalid_request",
                "AADSTS50058: This sign-in request was already completed.",
                page=True,
            )
    user = ctx.add_user(username, name=form.get("new_name", "").strip() or None)
    user = _set_authorization(ctx, user, form)
    if form.get("consent") == "on":
        state.grant(user.username, auth.client_id, grants(auth.scopes))
    elif missing_consent(auth.scopes, state.granted(user.username, auth.client_id)):
        return _authorization_response(
            auth,
            {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
            },
        )
    if session is None or session.username != user.username:
        session = ProviderSession(str(uuid.uuid4()), user.username, now())
        with state.lock:
            state.sessions[session.sid] = session
    elif auth.prompt == "login":
        session.auth_time = now()  # The user signed in again.
    return _issue_code(ctx, auth, user, session)


def _set_authorization(ctx: Context, user: TestUser, form: Mapping[str, str]) -> TestUser:
    """The sign-in page's optional roles, groups and overage, for this user from now on."""
    roles = form.get("roles", "").split()
    groups = form.get("groups", "").split()
    if not (roles or groups or form.get("overage") == "on"):
        return user
    return ctx.state.set_authorization(
        user.username,
        roles=roles or None,
        groups=groups or None,
        overage=True if form.get("overage") == "on" else None,
    )


def _issue_code(
    ctx: Context, auth: AuthorizationRequest, user: TestUser, session: ProviderSession
) -> Response:
    code = secrets.token_urlsafe(48)
    state = ctx.state
    with state.lock:
        state.issued.append(code)
        session.client_ids.add(auth.client_id)
        state.codes[code] = AuthorizationCode(
            request=auth,
            username=user.username,
            sid=session.sid,
            auth_time=session.auth_time,
            expires_at=time.time() + CODE_LIFETIME,
        )
    response = _authorization_response(
        auth, {"code": code, "client_info": client_info(user), "session_state": session.sid}
    )
    set_session_cookie(response, session.sid)
    return response


def _authorization_response(auth: AuthorizationRequest, params: Mapping[str, str]) -> Response:
    answer = dict(params)
    if auth.state is not None:
        answer["state"] = auth.state
    if auth.response_mode == "form_post":
        return html(pages.form_post_page(auth.redirect_uri, answer))
    if auth.response_mode == "fragment":
        return redirect(f"{auth.redirect_uri}#{urlencode(answer)}")
    return redirect(add_query(auth.redirect_uri, answer))
