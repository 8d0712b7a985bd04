"""The local provider's authorization: roles and groups in ID tokens, Entra's group
overage, and Graph's paged /v1.0/me/transitiveMemberOf that checks the token's scopes."""

from __future__ import annotations

import re
from html import unescape

import pytest

from .test_testing_provider import (  # noqa: F401 (fixtures)
    REDIRECT_URI,
    client,
    make_app,
    query,
    receiver,
    signed_in,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:response_mode:UserWarning"),
    pytest.mark.usefixtures("client"),  # the app registration these tests sign in to
]

GRAPH_SCOPE = "GroupMember.Read.All"


def member_of(idp, token, url=None):
    url = url or f"{idp.base_url}/v1.0/me/transitiveMemberOf"
    return idp.http_client().get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_id_tokens_carry_the_users_roles_and_groups(idp):
    idp.add_user("rosa", roles=["Reports.Admin"], groups=["g1", "g2"])
    result, _ = signed_in(idp, make_app(idp), "rosa")
    claims = result["id_token_claims"]
    assert (claims["roles"], claims["groups"]) == (["Reports.Admin"], ["g1", "g2"])
    assert "_claim_names" not in claims


@pytest.mark.parametrize(("groups", "overage"), [(201, None), (3, True)])
def test_too_many_groups_or_the_overage_flag_give_the_overage_form(idp, groups, overage):
    idp.add_user("otto", groups=[f"g{i}" for i in range(groups)], overage=overage)
    claims = signed_in(idp, make_app(idp), "otto")[0]["id_token_claims"]
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert "endpoint" in claims["_claim_sources"]["src1"]


def test_reset_clears_roles_and_groups(idp):
    idp.add_user("rita", roles=["R"], groups=["g"], overage=True)
    idp.reset()
    user = idp.users["rita"]
    assert (user.roles, user.groups, user.overage) == ((), (), False)


def test_member_of_pages_through_every_group_with_a_membership_scope(idp):
    idp.add_user("paul", groups=[f"g{i}" for i in range(250)])
    result, _ = signed_in(idp, make_app(idp), "paul", scopes=[GRAPH_SCOPE])
    ids, url, pages = [], f"{idp.base_url}/v1.0/me/transitiveMemberOf?$top=100", 0
    while url:
        page = member_of(idp, result["access_token"], url).json()
        ids += [item["id"] for item in page["value"]]
        url, pages = page.get("@odata.nextLink"), pages + 1
    assert ids == [f"g{i}" for i in range(250)]
    assert pages == 3


def test_member_of_refuses_a_token_without_a_membership_scope(idp):
    result, _ = signed_in(idp, make_app(idp), "alice", scopes=["User.Read"])
    response = member_of(idp, result["access_token"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    assert member_of(idp, "not-a-token").status_code == 401


def test_member_of_refuses_a_token_for_another_api(idp):
    result, _ = signed_in(idp, make_app(idp), "alice")  # api://provider-tests/Read
    assert member_of(idp, result["access_token"]).status_code == 403


def test_the_sign_in_page_sets_roles_groups_and_overage(idp):
    app = make_app(idp)
    flow = app.initiate_auth_code_flow([GRAPH_SCOPE], redirect_uri=REDIRECT_URI)
    browser = idp.http_client()
    page = browser.get(flow["auth_uri"], timeout=5).text
    request_id = unescape(re.search(r'name="request_id" value="([^"]*)"', page).group(1))
    action = flow["auth_uri"].split("?")[0]
    form = {
        "request_id": request_id,
        "new_username": "page-user",
        "consent": "on",
        "roles": "Reports.Admin  Site.Owner",
        "groups": "g1 g2",
        "overage": "on",
    }
    redirect = browser.post(action, data=form, allow_redirects=False, timeout=5)
    result = app.acquire_token_by_auth_code_flow(flow, query(redirect.headers["Location"]))
    claims = result["id_token_claims"]
    assert claims["roles"] == ["Reports.Admin", "Site.Owner"]
    assert "groups" not in claims
    assert "_claim_names" in claims
    body = member_of(idp, result["access_token"]).json()
    assert [item["id"] for item in body["value"]] == ["g1", "g2"]
