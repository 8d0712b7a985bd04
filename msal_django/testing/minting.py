"""The tokens the provider signs: what a grant earns (access, refresh and ID tokens with
``client_info``), back-channel logout tokens, managed identity tokens, and the claims
they share."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any

from .context import Context
from .defaults import ID_TOKEN_LIFETIME, LOGOUT_TOKEN_LIFETIME
from .entra import authorization_claims, token_scopes
from .events import CAE_CAPABILITY, declares_cae
from .records import (
    AuthorizationCode,
    IssuedRefreshToken,
    ManagedIdentity,
    RegisteredClient,
    TestUser,
)

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def now() -> int:
    return int(time.time())


def pairwise_sub(user: TestUser, client_id: str) -> str:
    return b64url(hashlib.sha256(f"{user.oid}:{client_id}".encode()).digest())


def client_info(user: TestUser) -> str:
    """What MSAL builds its ``oid.tid`` account ids from."""
    return b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())


def issue_tokens(
    ctx: Context,
    client: RegisteredClient,
    user: TestUser,
    scopes: Sequence[str],
    *,
    sid: str,
    auth_time: int,
    nonce: str | None,
    code: AuthorizationCode | None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The token endpoint's answer to a grant of ``scopes`` (a refresh token with
    ``offline_access`` or on a refresh, an ID token with ``openid``). ``claims``: the
    request's claims; a ``cp1`` client gets ``xms_cc`` and the CAE lifetime."""
    state = ctx.state
    granted = state.granted(user.username, client.client_id)
    resource, names, resource_scopes = token_scopes(client.client_id, scopes, granted)
    issued_at = now()
    common = {
        "iss": ctx.issuer,
        "iat": issued_at,
        "nbf": issued_at,
        "oid": user.oid,
        "tid": user.tid,
        "sub": pairwise_sub(user, client.client_id),
        "sid": sid,
        "name": user.name,
        "preferred_username": user.preferred_username,
        "ver": "2.0",
    }
    cae = declares_cae(claims or {})
    lifetime = int(state.cae_access_token_lifetime if cae else state.access_token_lifetime)
    access_claims = user_access_token_claims(common, resource, names, client.client_id, lifetime)
    if cae:
        access_claims["xms_cc"] = [CAE_CAPABILITY]
    state.minted_at[access_claims["uti"]] = time.time()
    access_token = ctx.keys.sign(access_claims)
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(resource_scopes or names),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }
    if "offline_access" in scopes or code is None:
        refresh_token = secrets.token_urlsafe(64)
        with state.lock:
            state.refresh_tokens[refresh_token] = IssuedRefreshToken(
                client_id=client.client_id,
                username=user.username,
                sid=sid,
                auth_time=auth_time,
                scopes=tuple(scopes),
                expires_at=time.time() + state.refresh_token_lifetime,
            )
            if code is not None:
                code.refresh_tokens.append(refresh_token)
        body["refresh_token"] = refresh_token
    if "openid" in scopes:
        id_claims = {
            **common,
            "aud": client.client_id,
            "exp": issued_at + ID_TOKEN_LIFETIME,
            "auth_time": auth_time,
            "email": user.email,
            "uti": secrets.token_urlsafe(16),
            **authorization_claims(user),
        }
        if nonce is not None:
            id_claims["nonce"] = nonce
        if state.login_hint_claim:  # Entra's optional claim: opaque, per user
            hint = f"{user.oid}.{user.tid}@{ctx.issuer}".encode()
            id_claims["login_hint"] = base64.urlsafe_b64encode(hint).decode()
        body["id_token"] = ctx.keys.sign(id_claims)
    body["client_info"] = client_info(user)
    state.remember_issued(
        *(body[k] for k in ("access_token", "refresh_token", "id_token") if k in body)
    )
    return body


def user_access_token_claims(
    common: dict[str, Any], resource: str, names: Sequence[str], client_id: str, lifetime: int
) -> dict[str, Any]:
    """A delegated access token's claims: ``scp``, the resource as ``aud``, the client
    as ``azp``."""
    return {
        **common,
        "aud": resource,
        "exp": int(common["iat"]) + lifetime,
        "scp": " ".join(names),
        "azp": client_id,
        "azpacr": "1",
        "idtyp": "user",
        "uti": secrets.token_urlsafe(16),
    }


def access_token_for(
    ctx: Context,
    user: TestUser,
    client_id: str,
    resource: str,
    names: Sequence[str],
    *,
    roles: Sequence[str] = (),
    version: int = 2,
    lifetime: int | None = None,
) -> str:
    """A delegated access token as ``client_id`` would get it for ``resource`` (its
    ``names`` as ``scp``); ``version=1`` gives Entra's v1 form (``appid``, v1 issuer)."""
    issued_at = now()
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "iat": issued_at,
        "nbf": issued_at,
        "oid": user.oid,
        "tid": user.tid,
        "sub": pairwise_sub(user, client_id),
        "name": user.name,
        "preferred_username": user.preferred_username,
        "ver": "2.0",
    }
    lifetime = int(ctx.state.access_token_lifetime if lifetime is None else lifetime)
    claims = user_access_token_claims(claims, resource, names, client_id, lifetime)
    if roles:
        claims["roles"] = list(roles)
    if version == 1:
        claims.update(
            iss=ctx.authority + "/",
            ver="1.0",
            appid=client_id,
            upn=claims.pop("preferred_username"),
        )
        del claims["azp"], claims["azpacr"]
    ctx.state.minted_at[claims["uti"]] = time.time()
    token = ctx.keys.sign(claims, typ="JWT")
    ctx.state.remember_issued(token)
    return token


def app_access_token(ctx: Context, client_id: str, resource: str) -> dict[str, Any]:
    """The client credentials grant's answer: an app-only token for ``resource`` whose
    ``roles`` are the application permissions granted to the client on it."""
    issued_at = now()
    lifetime = int(ctx.state.access_token_lifetime)
    service_principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.tenant_id}/{client_id}"))
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "aud": resource,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime,
        "oid": service_principal,
        "sub": service_principal,
        "tid": ctx.tenant_id,
        "azp": client_id,
        "azpacr": "1",
        "idtyp": "app",
        "ver": "2.0",
        "uti": secrets.token_urlsafe(16),
    }
    roles = sorted(ctx.state.app_roles_of(client_id, resource))
    if roles:
        claims["roles"] = roles
    token = ctx.keys.sign(claims, typ="JWT")
    ctx.state.remember_issued(token)
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }


def logout_token(ctx: Context, client_id: str, username: str, sid: str) -> str:
    """A back-channel logout token, as the end-session endpoint sends it."""
    user = ctx.add_user(username)
    issued_at = now()
    claims = {
        "iss": ctx.issuer,
        "aud": client_id,
        "iat": issued_at,
        "exp": issued_at + LOGOUT_TOKEN_LIFETIME,
        "jti": str(uuid.uuid4()),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sub": pairwise_sub(user, client_id),
        "sid": sid,
    }
    return ctx.keys.sign(claims, typ="logout+jwt")


def managed_identity_token(ctx: Context, identity: ManagedIdentity, resource: str) -> str:
    """A managed identity's access token for ``resource`` (its ``aud``), as Entra issues
    one to the managed identity endpoint: ``sub`` and ``oid`` the identity's object id."""
    issued_at = now()
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "aud": resource,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + int(ctx.state.access_token_lifetime),
        "oid": identity.object_id,
        "sub": identity.object_id,
        "tid": ctx.tenant_id,
        "azp": identity.client_id,
        "azpacr": "2",
        "idtyp": "app",
        "xms_mirid": identity.resource_id,
        "ver": "2.0",
        "uti": secrets.token_urlsafe(16),
    }
    token = ctx.keys.sign(claims, typ="JWT")
    ctx.state.remember_issued(token)
    return token
