"""Authorization from the provider: app roles and groups become Django groups and flags,
group overage is read from Graph (failing closed), tenants are allow-listed."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from msal_django.backends import MsalBackend
from msal_django.models import CachedAccount, ProviderGroup, SignInSession, UserIdentity
from msal_django.signin.authorization import SignInRefused

from .conftest import CLIENT_ID

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

GRAPH_SCOPE = "GroupMember.Read.All"
EDITORS = "0a1b2c3d-0000-4000-8000-000000000001"
READERS = "0a1b2c3d-0000-4000-8000-000000000002"


@pytest.fixture
def mapping(settings):
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "GROUP_MAP": {"Reports.Admin": "report admins", EDITORS: "editors", READERS: "readers"},
        "FLAG_MAP": {"is_staff": ["Reports.Admin"], "is_superuser": ["Site.Owner"]},
    }


def signed_in(sign_in, username):
    response = sign_in(Client(), username)
    assert response.status_code == 302, response.content
    return get_user_model().objects.get(username=f"{username}@example.com")


def group_names(user):
    return sorted(user.groups.values_list("name", flat=True))


def nothing_stored():
    return not (CachedAccount.objects.exists() or SignInSession.objects.exists())


def test_roles_and_groups_become_django_groups_and_flags(idp, sign_in, mapping):
    idp.add_user("ann", roles=["Reports.Admin"], groups=[EDITORS])
    user = signed_in(sign_in, "ann")
    assert group_names(user) == ["editors", "report admins"]
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_groups_and_flags_go_when_the_provider_stops_sending_them(idp, sign_in, mapping):
    idp.add_user("ben", roles=["Reports.Admin"], groups=[EDITORS, READERS])
    signed_in(sign_in, "ben")
    idp.add_user("ben", roles=[], groups=[READERS])
    user = signed_in(sign_in, "ben")
    assert group_names(user) == ["readers"]
    assert user.is_staff is False
    assert ProviderGroup.objects.filter(user=user).count() == 1


def test_a_group_granted_by_hand_survives_sign_ins(idp, sign_in, mapping):
    idp.add_user("cat", groups=[EDITORS])
    user = signed_in(sign_in, "cat")
    auditors = Group.objects.create(name="auditors")
    editors = Group.objects.get(name="editors")
    user.groups.add(auditors)
    idp.add_user("cat", groups=[])
    user = signed_in(sign_in, "cat")
    assert group_names(user) == ["auditors"]
    assert editors.user_set.count() == 0


def test_a_mapped_group_held_by_hand_is_not_taken_away(idp, sign_in, mapping):
    idp.add_user("dan", groups=[])
    user = signed_in(sign_in, "dan")
    user.groups.add(Group.objects.create(name="editors"))
    idp.add_user("dan", groups=[EDITORS])
    signed_in(sign_in, "dan")
    idp.add_user("dan", groups=[])
    user = signed_in(sign_in, "dan")
    assert group_names(user) == ["editors"]


def test_unmapped_values_are_ignored_unless_mirrored(idp, sign_in, settings, mapping):
    idp.add_user("eve", roles=["Unknown.Role"], groups=[EDITORS])
    assert group_names(signed_in(sign_in, "eve")) == ["editors"]
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "MIRROR_GROUPS": True}
    assert group_names(signed_in(sign_in, "eve")) == ["Unknown.Role", "editors"]


def test_flags_the_package_does_not_manage_are_left_alone(idp, sign_in, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "FLAG_MAP": {"is_staff": ["Ops"]}}
    user = signed_in(sign_in, "fay")
    get_user_model().objects.filter(pk=user.pk).update(is_superuser=True)
    user = signed_in(sign_in, "fay")
    assert (user.is_staff, user.is_superuser) == (False, True)


def test_groups_from_the_provider_are_cleared_when_mapping_is_turned_off(
    idp, sign_in, settings, mapping
):
    idp.add_user("gus", groups=[EDITORS])
    signed_in(sign_in, "gus")
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "GROUP_MAP": {}, "FLAG_MAP": {}}
    assert group_names(signed_in(sign_in, "gus")) == []


# -- group overage: Graph's /me/transitiveMemberOf -------------------------------------


@pytest.fixture
def graph_consent(idp):
    def consent(username):
        idp.add_user(username)
        idp.consent(username, CLIENT_ID, [GRAPH_SCOPE])

    return consent


def many_groups(n, prefix="g"):
    return [f"{prefix}-{i:05d}" for i in range(n)]


def test_overage_reads_every_page_of_graph(idp, sign_in, settings, graph_consent):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "MIRROR_GROUPS": True}
    graph_consent("hal")
    idp.add_user("hal", groups=many_groups(2500))  # > 200: overage; 3 pages of 999
    user = signed_in(sign_in, "hal")
    assert user.groups.count() == 2500
    assert idp.count("graph_groups") == 3


def test_overage_token_never_follows_claim_sources(idp, sign_in, mapping, graph_consent):
    graph_consent("ivy")
    idp.add_user("ivy", groups=[EDITORS], overage=True)
    assert group_names(signed_in(sign_in, "ivy")) == ["editors"]
    assert idp.count("graph_groups") == 1


def test_each_user_gets_their_own_groups_from_graph(idp, sign_in, mapping, graph_consent):
    graph_consent("jon")
    graph_consent("kim")
    idp.add_user("jon", groups=[EDITORS], overage=True)
    idp.add_user("kim", groups=[READERS], overage=True)
    assert group_names(signed_in(sign_in, "jon")) == ["editors"]
    assert group_names(signed_in(sign_in, "kim")) == ["readers"]


def test_the_graph_token_is_stored_with_the_sign_in(idp, sign_in, mapping, graph_consent):
    graph_consent("lea")
    idp.add_user("lea", groups=[EDITORS], overage=True)
    signed_in(sign_in, "lea")
    assert GRAPH_SCOPE in CachedAccount.objects.get().scopes


def refused(sign_in, username, status):
    response = sign_in(Client(), username)
    assert response.status_code == status, response.content
    assert "_auth_user_id" not in response.wsgi_request.session
    assert nothing_stored()
    return response


def test_overage_without_graph_consent_fails_closed(idp, sign_in, mapping, caplog):
    idp.add_user("max", groups=[EDITORS], overage=True)
    response = refused(sign_in, "max", 403)
    assert b"may not read your group memberships" in response.content
    assert "GroupMember.Read.All" in caplog.text


@pytest.mark.parametrize(
    ("status", "page_status"), [(500, 503), (503, 503), (403, 403), (401, 403)]
)
def test_graph_errors_fail_closed(idp, sign_in, mapping, graph_consent, status, page_status):
    graph_consent("ned")
    idp.add_user("ned", groups=[EDITORS], overage=True)
    idp.inject("graph_groups", error=None, status=status)
    refused(sign_in, "ned", page_status)
    assert not Group.objects.filter(name="editors", user__isnull=False).exists()


def test_graph_failure_keeps_the_last_known_groups_when_asked(
    idp, sign_in, settings, mapping, graph_consent
):
    graph_consent("oli")
    idp.add_user("oli", roles=["Reports.Admin"], groups=[EDITORS], overage=True)
    signed_in(sign_in, "oli")
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "KEEP_GROUPS_ON_GRAPH_ERROR": True}
    idp.add_user("oli", roles=[], groups=[])
    idp.inject("graph_groups", error=None, status=500)
    user = signed_in(sign_in, "oli")
    assert group_names(user) == ["editors", "report admins"]
    assert user.is_staff is True


def test_graph_unreachable_fails_closed(idp, sign_in, settings, mapping, graph_consent):
    graph_consent("pam")
    idp.add_user("pam", groups=[EDITORS], overage=True)
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "GRAPH_URL": "https://127.0.0.1:9/v1.0"}
    refused(sign_in, "pam", 503)


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"value": "x"}', '{"value": [1, [2], {"id": 3}]}', "[" * 100_000],
)
def test_graph_garbage_fails_closed_or_grants_nothing(idp, sign_in, mapping, graph_consent, body):
    graph_consent("quin")
    idp.add_user("quin", groups=[EDITORS], overage=True)
    idp.graph_raw_body = body
    response = sign_in(Client(), "quin")
    assert response.status_code in (302, 503)
    assert not Group.objects.filter(user__isnull=False).exists()


def test_an_endless_next_link_loop_ends_with_a_503(idp, sign_in, mapping, graph_consent):
    graph_consent("rex")
    idp.add_user("rex", groups=[EDITORS], overage=True)
    idp.graph_next_link = f"{idp.base_url}/v1.0/me/transitiveMemberOf?$top=1"
    refused(sign_in, "rex", 503)
    assert idp.count("graph_groups") == 50


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1.0/me/transitiveMemberOf",
        "http://{host}/v1.0/x",
        "/v1.0",
        # On Graph's own host, but not under GRAPH_URL's path (prefix as a string, or
        # dot-segments a server resolves, plain or percent-encoded).
        "https://{host}/v1.0evil/me/transitiveMemberOf",
        "https://{host}/v1.0/../beta/me/transitiveMemberOf",
        "https://{host}/v1.0/me/../../beta/me/transitiveMemberOf",
        "https://{host}/v1.0/%2e%2e/beta/me/transitiveMemberOf",
        "https://{host}/v1.0/%2E%2E%2Fbeta/me/transitiveMemberOf",
        "https://{host}/v1.0/./me/transitiveMemberOf",
        "https://user@{host}/v1.0/me/transitiveMemberOf",
    ],
)
def test_a_next_link_off_graph_url_is_not_followed(idp, sign_in, mapping, graph_consent, link):
    graph_consent("sam")
    idp.add_user("sam", groups=[EDITORS], overage=True)
    idp.graph_next_link = link.format(host=idp.base_url.split("//")[1])
    refused(sign_in, "sam", 503)
    assert idp.count("graph_groups") == 1
    assert idp.count("not_found") == 0  # nothing else on the host was fetched either


# -- the tenant allow-list ------------------------------------------------------------


def test_a_tenant_outside_the_allow_list_gets_a_403_and_nothing_is_stored(idp, sign_in, settings):
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "ALLOWED_TENANTS": ["11111111-1111-1111-1111-111111111111"],
    }
    response = refused(sign_in, "tom", 403)
    assert b"organization is not allowed" in response.content
    assert not get_user_model().objects.exists()
    assert not UserIdentity.objects.exists()


def test_an_allowed_tenant_signs_in_whatever_its_case(idp, sign_in, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ALLOWED_TENANTS": [idp.tenant_id.upper()]}
    assert signed_in(sign_in, "uma").is_active


# -- bad claims, straight through the backend -------------------------------------------

TID = "22222222-2222-2222-2222-222222222222"


def claims(**extra):
    return {"oid": "o-1", "tid": TID, "sub": "s-1", "preferred_username": "x@y", **extra}


@pytest.mark.parametrize(
    "roles",
    [
        "Reports.Admin",  # a string where a list belongs
        {"Reports.Admin": True},
        [["Reports.Admin"]],
        [{"value": "Reports.Admin"}],
        [None, 1, 2.5, True],
        ["Reports.Admin" + "x" * 10_000],
        ["x" * 300],
    ],
)
def test_claims_of_the_wrong_type_grant_nothing(settings, mapping, roles):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "MIRROR_GROUPS": True}
    user = MsalBackend().authenticate(None, msal_claims=claims(roles=roles))
    assert group_names(user) == []
    assert user.is_staff is False


def not_one_per_group(queries, n):
    """A fixed few reads, and inserts batched by the database's parameter limit."""
    selects = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    return len(selects) <= 8 and len(queries) <= 20 + n // 100


@pytest.mark.parametrize("n", [10, 1000, 10_000])
def test_groups_in_a_token_sync_in_a_bounded_number_of_queries(settings, mapping, n):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "MIRROR_GROUPS": True}
    with CaptureQueriesContext(connection) as queries:
        user = MsalBackend().authenticate(None, msal_claims=claims(groups=many_groups(n)))
    assert user.groups.count() == n
    assert not_one_per_group(queries, n)


def test_more_groups_than_the_bound_are_refused(settings, mapping):
    with pytest.raises(SignInRefused) as refusal:
        MsalBackend().authenticate(None, msal_claims=claims(groups=many_groups(10_001)))
    assert refusal.value.status == 403
    assert not get_user_model().objects.exists()


def test_overage_claims_pointing_anywhere_are_not_followed(settings, mapping, caplog):
    caplog.set_level(logging.WARNING, "msal_django")
    overage = {
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://evil.example/groups"}},
    }
    with pytest.raises(SignInRefused):
        MsalBackend().authenticate(None, msal_claims=claims(**overage))
    assert "evil.example" not in caplog.text
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("names", ["groups", ["groups"], {"roles": "src1"}, None])
def test_malformed_claim_names_are_not_an_overage(settings, mapping, names):
    user = MsalBackend().authenticate(
        None, msal_claims=claims(_claim_names=names, groups=[EDITORS])
    )
    assert group_names(user) == ["editors"]


def test_a_second_sign_in_with_the_same_groups_writes_nothing(settings, mapping):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "MIRROR_GROUPS": True}
    MsalBackend().authenticate(None, msal_claims=claims(groups=many_groups(1000)))
    with CaptureQueriesContext(connection) as queries:
        MsalBackend().authenticate(None, msal_claims=claims(groups=many_groups(1000)))
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("INSERT", "DELETE"))]


# -- the admin ------------------------------------------------------------------------

IDENTITIES = "/admin/msal_django/useridentity/"


def identities_viewer():
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_useridentity"))
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_admin_shows_identities_and_the_groups_from_the_provider(
    idp, sign_in, mapping, django_assert_max_num_queries
):
    for name in ("vic", "wes", "xan"):
        idp.add_user(name, groups=[EDITORS])
    users = [signed_in(sign_in, name) for name in ("vic", "wes", "xan")]
    users[0].groups.add(Group.objects.create(name="by hand"))
    admin = identities_viewer()
    with django_assert_max_num_queries(10):
        page = admin.get(IDENTITIES).content.decode()
    assert page.count(idp.tenant_id) >= 3
    assert page.count("editors") == 3
    assert "by hand" not in page
    identity = UserIdentity.objects.get(user=users[0])
    detail = admin.get(f"{IDENTITIES}{identity.pk}/change/").content.decode()
    assert identity.subject in detail
    assert "editors" in detail


def test_identities_cannot_be_added_changed_or_deleted_in_the_admin(sign_in):
    signed_in(sign_in, "yul")
    identity = UserIdentity.objects.get()
    admin = identities_viewer()
    assert admin.get(f"{IDENTITIES}add/").status_code == 403
    assert admin.post(f"{IDENTITIES}{identity.pk}/delete/").status_code == 403
    assert UserIdentity.objects.filter(pk=identity.pk).exists()
