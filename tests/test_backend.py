"""MsalBackend: users matched on immutable ids, never on email; hooks overridable."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from msal_django.backends import MsalBackend
from msal_django.models import UserIdentity

pytestmark = pytest.mark.django_db

TID = "11111111-1111-1111-1111-111111111111"


def claims(oid="aaaa", **extra):
    return {
        "oid": oid,
        "tid": TID,
        "sub": f"sub-{oid}",
        "iss": f"https://login/{TID}/v2.0",
        "preferred_username": "pat@contoso.example",
        "name": "Pat Doe",
        "email": "pat@contoso.example",
        **extra,
    }


def test_first_sign_in_creates_a_user_with_name_and_email():
    user = MsalBackend().authenticate(None, msal_claims=claims())
    assert user.username == "pat@contoso.example"
    assert (user.first_name, user.last_name, user.email) == ("Pat", "Doe", "pat@contoso.example")
    assert not user.has_usable_password()
    assert UserIdentity.objects.get(user=user).subject == "aaaa"


def test_same_oid_matches_even_when_email_and_username_change():
    first = MsalBackend().authenticate(None, msal_claims=claims())
    again = MsalBackend().authenticate(
        None,
        msal_claims=claims(
            preferred_username="pat.new@contoso.example",
            email="pat.new@contoso.example",
            name="Pat New",
        ),
    )
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.email == "pat.new@contoso.example"
    assert again.last_name == "New"


def test_same_email_different_oid_is_a_different_user():
    first = MsalBackend().authenticate(None, msal_claims=claims("aaaa"))
    other = MsalBackend().authenticate(None, msal_claims=claims("bbbb"))
    assert other.pk != first.pk
    assert other.username == "pat@contoso.example-2"


def test_existing_local_user_with_that_email_is_not_taken_over():
    local = get_user_model().objects.create_user("pat@contoso.example", "pat@contoso.example")
    user = MsalBackend().authenticate(None, msal_claims=claims())
    assert user.pk != local.pk


def test_generic_oidc_claims_use_iss_and_sub():
    user = MsalBackend().authenticate(
        None, msal_claims={"iss": "https://issuer.example", "sub": "abc", "email": "x@y.z"}
    )
    identity = UserIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == ("https://issuer.example", "abc")


def test_inactive_user_is_refused():
    user = MsalBackend().authenticate(None, msal_claims=claims())
    user.is_active = False
    user.save()
    assert MsalBackend().authenticate(None, msal_claims=claims()) is None


def test_claims_without_identifiers_are_refused():
    assert MsalBackend().authenticate(None, msal_claims={"name": "nobody"}) is None
    assert MsalBackend().authenticate(None) is None


def test_update_users_off_keeps_local_edits(settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "UPDATE_USERS": False}
    user = MsalBackend().authenticate(None, msal_claims=claims())
    user.first_name = "Local"
    user.save()
    again = MsalBackend().authenticate(None, msal_claims=claims(name="Changed Name"))
    assert again.first_name == "Local"


def test_hooks_can_be_overridden():
    class TenantOnly(MsalBackend):
        def verify_claims(self, claims):
            return claims.get("tid") == "allowed-tenant"

    assert TenantOnly().authenticate(None, msal_claims=claims()) is None
