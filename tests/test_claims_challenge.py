"""msal_django.claims_challenge reads what Microsoft Graph and Entra really send in a 401's
WWW-Authenticate header, and whatever else comes from the network is None, never an
error or a hang."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
import requests

import msal_django
from msal_django import claims_challenge

# Microsoft Learn, "How to use Continuous Access Evaluation enabled APIs in your
# applications" (learn.microsoft.com/entra/identity-platform/
# app-resilience-continuous-access-evaluation): the header a revoked token gets.
CAE_CLAIMS = (
    "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0="
)
CAE_JSON = '{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}'
CAE_HEADER = (
    'Bearer authorization_uri="https://login.windows.net/common/oauth2/authorize", '
    f'error="insufficient_claims", claims="{CAE_CLAIMS}"'
)
AUTHORIZE = "https://login.microsoftonline.com/common/oauth2/authorize"
GRAPH = "00000003-0000-0000-c000-000000000000"


def encoded(text, *, urlsafe=False, padded=True):
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    value = encode(text.encode() if isinstance(text, str) else text).decode()
    return value if padded else value.rstrip("=")


def bearer(claims, error="insufficient_claims"):
    return f'Bearer realm="", error="{error}", claims="{claims}"'


def response(status_code, header=None):
    made = requests.models.Response()
    made.status_code = status_code
    if header is not None:
        made.headers["WWW-Authenticate"] = header
    return made


class HttpxLikeHeaders:
    def __init__(self, **headers):
        self.headers = {name.lower(): value for name, value in headers.items()}

    def get(self, key, default=None):
        return self.headers.get(key.lower(), default)


def test_microsofts_cae_example_gives_its_claims():
    assert claims_challenge(CAE_HEADER) == CAE_JSON


def test_the_claims_challenge_documentation_example_with_an_empty_realm_first():
    claims = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="
    header = (
        f'Bearer realm="", authorization_uri="{AUTHORIZE}", '
        f'error="insufficient_claims", claims="{claims}"'
    )
    assert json.loads(claims_challenge(header)) == {
        "access_token": {"acrs": {"essential": True, "value": "cp1"}}
    }


def test_graphs_header_with_client_id_before_claims_and_error_description_after():
    header = (
        f'Bearer realm="", authorization_uri="{AUTHORIZE}", client_id="{GRAPH}", '
        f'error="insufficient_claims", claims="{CAE_CLAIMS}", '
        'errorDescription="Continuous access evaluation resulted in challenge with result: '
        'InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp"'
    )
    assert claims_challenge(header) == CAE_JSON


def test_unquoted_parameters_such_as_an_authorization_uri_are_read():
    header = f"Bearer authorization_uri={AUTHORIZE}, error=insufficient_claims, claims={CAE_CLAIMS}"
    assert claims_challenge(header) == CAE_JSON


def test_parameters_in_any_order_and_any_spacing():
    header = f'Bearer claims = "{CAE_CLAIMS}",error="insufficient_claims" ,realm=""'
    assert claims_challenge(header) == CAE_JSON


def test_escaped_quotes_and_commas_inside_a_quoted_string():
    header = (
        'Bearer errorDescription="a \\"quoted\\" word, then claims=\\"x\\"", '
        f'error="insufficient_claims", claims="{CAE_CLAIMS}"'
    )
    assert claims_challenge(header) == CAE_JSON


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_scheme_and_parameter_names_are_case_insensitive(scheme):
    header = f'{scheme} Error="insufficient_claims", CLAIMS="{CAE_CLAIMS}"'
    assert claims_challenge(header) == CAE_JSON


@pytest.mark.parametrize("urlsafe", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_claims_in_base64_or_base64url_padded_or_not(urlsafe, padded):
    claims = '{"access_token":{"xms_cc":{"values":["cp1"]},"note":"???>>>"}}'
    value = encoded(claims, urlsafe=urlsafe, padded=padded)
    assert claims_challenge(bearer(value)) == claims


@pytest.mark.parametrize(
    "header",
    [
        f'PoP nonce="abc", Bearer error="insufficient_claims", claims="{CAE_CLAIMS}"',
        f'Bearer error="insufficient_claims", claims="{CAE_CLAIMS}", PoP nonce="abc"',
        f'Basic dXNlcjpwYXNz==, Bearer error="insufficient_claims", claims="{CAE_CLAIMS}"',
        f'Negotiate, Bearer realm="", error="insufficient_claims", claims="{CAE_CLAIMS}"',
        f'Bearer error="invalid_token", Bearer error="insufficient_claims", claims="{CAE_CLAIMS}"',
    ],
)
def test_the_bearer_claims_challenge_among_several_challenges(header):
    assert claims_challenge(header) == CAE_JSON


def test_a_claims_parameter_of_another_scheme_is_not_a_challenge():
    assert claims_challenge(f'PoP error="insufficient_claims", claims="{CAE_CLAIMS}"') is None


def test_a_requests_401_response():
    assert claims_challenge(response(401, CAE_HEADER)) == CAE_JSON


def test_an_httpx_like_response():
    duck = SimpleNamespace(
        status_code=401, headers=HttpxLikeHeaders(**{"www-authenticate": CAE_HEADER})
    )
    assert claims_challenge(duck) == CAE_JSON


@pytest.mark.parametrize("status_code", [200, 400, 403, 500])
def test_a_response_other_than_401_is_none(status_code):
    assert claims_challenge(response(status_code, CAE_HEADER)) is None


def test_a_401_without_www_authenticate_is_none():
    assert claims_challenge(response(401)) is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        f'Bearer realm="", authorization_uri="{AUTHORIZE}", error="invalid_token"',
        'Bearer error="insufficient_claims"',
        f'Bearer claims="{CAE_CLAIMS}"',
        bearer(CAE_CLAIMS, error="interaction_required"),
        bearer(CAE_CLAIMS, error="invalid_token"),
    ],
)
def test_a_bearer_challenge_without_claims_or_insufficient_claims_is_none(header):
    assert claims_challenge(header) is None


def nested(depth):
    return encoded("[" * depth + "]" * depth)


@pytest.mark.parametrize(
    "header",
    [
        bearer(CAE_CLAIMS) + ", realm2=" + "x" * (16 * 1024),
        bearer(encoded(json.dumps({"access_token": {"pad": "x" * 7000}}))),
        bearer("not base64!"),
        bearer(CAE_CLAIMS[:-2] + "="),
        bearer(CAE_CLAIMS + "=="),
        bearer("e30=e30="),
        bearer("A" * 5),
        bearer(encoded(b'\xff\xfe{"a":1}')),
        bearer(encoded("{not json}")),
        bearer(encoded('["a JSON array"]')),
        bearer(encoded('"a JSON string"')),
        bearer(encoded("null")),
        bearer(encoded("\ufeff{}")),
        bearer(nested(3000)),
        bearer(CAE_CLAIMS) + "\r\nSet-Cookie: a=b",
        bearer(CAE_CLAIMS) + "\x00",
        f'Bearer error="insufficient_claims", claims="{CAE_CLAIMS}',
        f'Bearer error="insufficient_claims", claims="{CAE_CLAIMS}", claims="e30="',
        f'Bearer error="insufficient_claims" claims="{CAE_CLAIMS}" junk',
        f'Bearer error="insufficient_claims", claims=, claims2="{CAE_CLAIMS}"',
        f'=Bearer error="insufficient_claims", claims="{CAE_CLAIMS}"',
    ],
    ids=lambda header: header[:40],
)
def test_hostile_headers_are_none(header):
    assert claims_challenge(header) is None


def test_hostile_responses_are_none():
    assert claims_challenge(SimpleNamespace(status_code=401, headers={"x": 1})) is None
    assert claims_challenge(SimpleNamespace(status_code="401", headers={})) is None
    bytes_header = SimpleNamespace(
        status_code=401, headers=HttpxLikeHeaders(**{"WWW-Authenticate": CAE_HEADER.encode()})
    )
    assert claims_challenge(bytes_header) is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + "a=" * 8000,
        "Bearer " + ", " * 8000,
        'Bearer a="' + "\\" * 16000,
        'Bearer a="' + '\\"' * 8000,
        "Bearer " + "x " * 8000,
        "Basic " + "A" * 16000 + "=",
        "Bearer claims=" + "A" * 16000,
        "Bearer " + "a=b, " * 3200,
    ],
    ids=lambda header: header[:12] + "...",
)
def test_a_pathological_16_kb_header_is_read_to_none(header):
    assert len(header) <= 16 * 1024
    assert claims_challenge(header) is None


@pytest.mark.parametrize("argument", [None, b"Bearer", 401, {"WWW-Authenticate": CAE_HEADER}])
def test_an_argument_neither_a_str_nor_a_response_is_a_type_error(argument):
    with pytest.raises(TypeError, match="requests or httpx response"):
        claims_challenge(argument)


def test_it_is_exported_lazily_from_the_package():
    from msal_django.tokens import claims

    assert msal_django.claims_challenge is claims.claims_challenge
    assert "claims_challenge" in msal_django.__all__
