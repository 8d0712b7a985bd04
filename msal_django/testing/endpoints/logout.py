"""The end-session endpoint: ends the browser's sign-in session, revokes its refresh
tokens, notifies each client signed in through it (front-channel iframes on the
signed-out page, back-channel logout tokens POSTed now) and sends the browser on."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import requests
from werkzeug.wrappers import Request, Response

from .. import pages
from ..context import Context
from ..minting import logout_token
from ..records import BackchannelLogout, ProviderSession, RegisteredClient
from ..web import add_query, delete_session_cookie, html, session_id

logger = logging.getLogger("msal_django.testing")


def handle_logout(ctx: Context, request: Request, tenant: str | None) -> Response:
    state, values = ctx.state, request.values
    hint_claims: dict[str, Any] = {}
    if values.get("id_token_hint"):
        try:
            hint_claims = ctx.keys.verify(
                values["id_token_hint"], issuer=ctx.issuer, verify_exp=False
            )
        except jwt.InvalidTokenError:
            logger.warning("Ignoring an id_token_hint this provider did not issue.")
    client_id = values.get("client_id") or hint_claims.get("aud")
    session = state.active_session(session_id(request))
    if session is None and hint_claims.get("sid"):
        with state.lock:
            session = state.sessions.get(str(hint_claims["sid"]))
    client_ids: list[str] = []
    frontchannel: list[str] = []
    if session is not None:
        with state.lock:
            session.active = False
            for token in state.refresh_tokens.values():
                if token.sid == session.sid:
                    token.revoked = True
            client_ids = sorted(session.client_ids)
            clients = [state.clients[cid] for cid in client_ids if cid in state.clients]
        for client in clients:
            if client.frontchannel_logout_uri:
                frontchannel.append(
                    add_query(
                        client.frontchannel_logout_uri, {"iss": ctx.issuer, "sid": session.sid}
                    )
                )
            if client.backchannel_logout_uri:
                _send_backchannel_logout(ctx, client, client.backchannel_logout_uri, session)
    redirect_url = _post_logout_redirect(ctx, values, client_id, client_ids)
    response = html(
        pages.signed_out_page(frontchannel_logout_urls=frontchannel, redirect_url=redirect_url)
    )
    delete_session_cookie(response)
    return response


def _post_logout_redirect(
    ctx: Context, values: Mapping[str, str], client_id: str | None, signed_in: Sequence[str]
) -> str | None:
    uri = values.get("post_logout_redirect_uri")
    if not uri:
        return None
    candidates = [client_id] if client_id else list(signed_in)
    clients = ctx.state.copy_clients()
    allowed = any(
        uri in clients[cid].post_logout_redirect_uris for cid in candidates if cid in clients
    )
    if not allowed:  # Never an open redirect.
        logger.warning("Ignoring a post_logout_redirect_uri that is not registered.")
        return None
    state = values.get("state")
    return add_query(uri, {"state": state}) if state else uri


def _send_backchannel_logout(
    ctx: Context, client: RegisteredClient, uri: str, session: ProviderSession
) -> None:
    token = logout_token(ctx, client.client_id, session.username, session.sid)
    status_code: int | None = None
    error: str | None = None
    try:
        with ctx.http_client() as http:
            response = http.post(uri, data={"logout_token": token}, timeout=5)
        status_code = response.status_code
        if not response.ok:
            logger.warning(
                "Back-channel logout to %s for client %s answered %s.",
                uri,
                client.client_id,
                status_code,
            )
    except requests.RequestException as exc:
        error = type(exc).__name__
        logger.warning(
            "Back-channel logout to %s for client %s failed: %s.", uri, client.client_id, error
        )
    with ctx.state.lock:
        ctx.state.backchannel_logouts.append(
            BackchannelLogout(client.client_id, uri, session.sid, token, status_code, error)
        )
