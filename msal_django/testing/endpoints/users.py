"""The provider's own users page: what an administrator does to an account at Entra ID
(``msal_django.testing.events``), for a person trying the example."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from .. import events, pages
from ..context import Context
from ..records import OAuthError
from ..state import ProviderState
from ..web import html, redirect

ACTIONS: dict[str, Callable[[ProviderState, str], object]] = {
    "disable": events.disable,
    "enable": events.enable,
    "revoke-sessions": events.revoke_sessions,
    "reset-password": lambda state, username: events.revoke_sessions(
        state, username, password=True
    ),
}


def handle_users(ctx: Context, request: Request, tenant: str | None) -> Response:
    state = ctx.state
    with state.lock:
        users = [(u.username, u.name, u.username in state.disabled) for u in state.users.values()]
    return html(pages.users_page(sorted(users)))


def handle_user_action(ctx: Context, request: Request, tenant: str | None) -> Response:
    username = request.path.strip("/").split("/")[-1]
    action = ACTIONS.get(request.form.get("action", ""))
    if action is None or username not in ctx.state.copy_users():
        raise OAuthError("invalid_request", "No such user or action.", page=True)
    action(ctx.state, username)
    return redirect("/users/")
