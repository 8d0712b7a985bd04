"""User-facing strings are marked for translation, the source catalog is up to date, and
the German and French catalogs that ship are complete and compiled.

The templates are rendered in a pseudo-language whose catalog wraps every string of
msal-django's own catalog in ⟦ ⟧: text outside the brackets was not marked.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.apps import apps
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from msal_django import failures
from msal_django.admin import CachedAccountAdmin
from msal_django.exceptions import ProviderError
from msal_django.failures import Failure, failure_page
from msal_django.models import CachedAccount
from msal_django.signin.authorization import (
    MAX_VALUES,
    AuthorizationHooks,
    SignInRefused,
    claim_strings,
)

PACKAGE = Path(__file__).resolve().parent.parent / "msal_django"
CATALOG = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
MAKEMESSAGES = [
    "django-admin", "makemessages", "-l", "en", "--add-location", "file",
    "--ignore", "testing/*", "--ignore", "migrations/*",
]  # fmt: skip
PSEUDO = "eo"  # any language Django knows; the catalog made here takes precedence
SHIPPED = ["de", "fr"]
FAILURES = {name: value for name, value in vars(failures).items() if isinstance(value, Failure)}


def gettext_tools() -> None:
    if shutil.which("xgettext") is None or shutil.which("msgfmt") is None:
        pytest.fail("GNU gettext is missing: apt-get install gettext (tests/run.sh does)")


def without_creation_date(po: str) -> str:
    return re.sub(r'^"POT-Creation-Date: .*\n', "", po, flags=re.M)


def test_the_source_catalog_is_what_makemessages_makes(tmp_path):
    gettext_tools()
    copy = shutil.copytree(
        PACKAGE, tmp_path / "msal_django", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    django_admin = Path(sys.executable).parent / "django-admin"
    result = subprocess.run(
        [str(django_admin), *MAKEMESSAGES[1:]], cwd=copy, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning about a malformed string
    made = (copy / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text()
    assert without_creation_date(made) == without_creation_date(CATALOG.read_text()), (
        "msal_django/locale/en/LC_MESSAGES/django.po is out of date: "
        f"cd msal_django && {' '.join(MAKEMESSAGES)}"
    )


@pytest.fixture
def pseudo_language(tmp_path, settings):
    """Activate a language whose catalog is msal-django's with each string in ⟦ ⟧."""
    gettext_tools()
    po = CATALOG.read_text()
    po = re.sub(r'^msgid "(.+)"\nmsgstr ""$', r'msgid "\1"\nmsgstr "⟦\1⟧"', po, flags=re.M)
    po = re.sub(
        r'^msgid "(.+)"\nmsgid_plural "(.+)"\nmsgstr\[0\] ""\nmsgstr\[1\] ""$',
        r'msgid "\1"\nmsgid_plural "\2"\nmsgstr[0] "⟦\1⟧"\nmsgstr[1] "⟦\2⟧"',
        po,
        flags=re.M,
    )
    # Strings "trimmed" over several lines: msgid ""\n"..."\n"..." then msgstr "".
    po = re.sub(
        r'^msgid ""\n((?:".*"\n)+)msgstr ""$',
        lambda m: f'msgid ""\n{m.group(1)}msgstr "⟦"\n{m.group(1)}"⟧"',
        po,
        flags=re.M,
    )
    directory = tmp_path / "locale" / PSEUDO / "LC_MESSAGES"
    directory.mkdir(parents=True)
    (directory / "django.po").write_text(po)
    subprocess.run(
        ["msgfmt", "-o", str(directory / "django.mo"), str(directory / "django.po")], check=True
    )
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    settings.LANGUAGE_CODE = PSEUDO
    with translation.override(PSEUDO):
        yield


def unmarked_text(html: str, *dynamic: str) -> str:
    """The page's visible text that no ⟦ ⟧ wraps, less the values the view put in."""
    body = re.sub(r"<(style|title)>.*?</\1>", "", html, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", " ", body))
    text = re.sub(r"⟦.*?⟧", " ", text, flags=re.S)
    for value in dynamic:
        text = text.replace(value, " ")
    return " ".join(text.split())


def test_the_logout_page_is_translated(pseudo_language, db):
    page = Client().get("/auth/logout/").content.decode()
    assert f'<html lang="{PSEUDO}"' in page
    assert unmarked_text(page) == ""


def test_the_logout_confirmation_is_translated(pseudo_language, alice_client):
    page = alice_client.get("/auth/logout/").content.decode()
    assert "⟦You are signed in as <strong>alice@example.com</strong>." in page
    assert unmarked_text(page) == ""


def test_the_error_page_around_its_message_is_translated(pseudo_language, rf):
    context = {"title": "TITLE", "message": "MESSAGE", "error": "invalid_grant"}
    page = render_to_string("msal_django/error.html", context, request=rf.get("/"))
    assert "⟦Error code: invalid_grant⟧" in page
    assert unmarked_text(page, "TITLE", "MESSAGE") == ""


def test_admin_labels_are_translated(pseudo_language):
    labels = [
        apps.get_app_config("msal_django").verbose_name,
        CachedAccount._meta.verbose_name,
        CachedAccount._meta.verbose_name_plural,
        CachedAccount._meta.get_field("refresh_token_expires_at").verbose_name,
        CachedAccountAdmin.revoke.short_description,
    ]
    assert [str(label) for label in labels if not re.fullmatch("⟦.*⟧", str(label))] == []


class NoGraphToken:
    def acquire(self, scopes):
        raise ProviderError("unreachable", transient=True)


def refusals(settings) -> list[SignInRefused]:
    """Each refusal a sign-in can meet, raised by the code that raises it."""
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ALLOWED_TENANTS": ["allowed-tenant"]}
    attempts = [
        lambda: AuthorizationHooks().check_tenant({"tid": "another-tenant"}),
        lambda: claim_strings(["g"] * (MAX_VALUES + 1), "groups"),
        lambda: AuthorizationHooks().read_overage_groups(None),  # consent missing
        lambda: AuthorizationHooks().read_overage_groups(NoGraphToken()),  # Graph down
    ]
    refused = []
    for attempt in attempts:
        with pytest.raises(SignInRefused) as exc:
            attempt()
        refused.append(exc.value)
    return refused


def refusal_page(rf, refusal: SignInRefused) -> str:
    """As the callback shows a refusal."""
    failure = Failure(refusal.status, refusal.title, refusal.message)
    return failure_page(rf.get("/"), failure, error=refusal.error).content.decode()


def test_failure_pages_are_translated(pseudo_language, rf):
    for name, failure in FAILURES.items():
        page = failure_page(rf.get("/"), failure, error="some_error").content.decode()
        assert unmarked_text(page, "some_error") == "", name


def test_sign_in_refusals_are_translated(pseudo_language, rf, settings):
    for refusal in refusals(settings):
        assert unmarked_text(refusal_page(rf, refusal), refusal.error) == "", refusal.error


def test_the_frontchannel_logout_page_is_translated(pseudo_language, db):
    page = Client().get("/auth/logout/frontchannel/").content.decode()
    assert f'<html lang="{PSEUDO}"><title>⟦Signed out⟧</title>' in page


# -- German and French ------------------------------------------------------------------

TITLES = {
    "de": {
        "INVALID_SIGN_IN_LINK": "Dieser Anmeldelink ist ungültig",
        "UNKNOWN_SIGN_IN": "Dieser Anmeldelink ist ungültig",
        "SIGN_IN_CANCELLED": "Die Anmeldung wurde abgebrochen",
        "SIGN_IN_REFUSED": "Anmeldung fehlgeschlagen",
        "SIGN_IN_FAILED": "Anmeldung fehlgeschlagen",
        "NO_ACCESS": "Kein Zugriff",
        "PROVIDER_UNAVAILABLE": "Die Anmeldung ist nicht verfügbar",
        "STORE_UNAVAILABLE": "Die Anmeldung ist nicht verfügbar",
        "SIGNED_OUT_HERE_ONLY": "Abgemeldet, aber nicht überall",
        "TEMPORARILY_UNAVAILABLE": "Vorübergehend nicht verfügbar",
    },
    "fr": {
        # The apostrophe is U+2019, French typography's, as in Django's own French catalog.
        "INVALID_SIGN_IN_LINK": "Ce lien de connexion n’est pas valide",  # noqa: RUF001
        "UNKNOWN_SIGN_IN": "Ce lien de connexion n’est pas valide",  # noqa: RUF001
        "SIGN_IN_CANCELLED": "La connexion a été annulée",
        "SIGN_IN_REFUSED": "La connexion a échoué",
        "SIGN_IN_FAILED": "La connexion a échoué",
        "NO_ACCESS": "Accès refusé",
        "PROVIDER_UNAVAILABLE": "La connexion est indisponible",
        "STORE_UNAVAILABLE": "La connexion est indisponible",
        "SIGNED_OUT_HERE_ONLY": "Déconnecté, mais pas partout",
        "TEMPORARILY_UNAVAILABLE": "Temporairement indisponible",
    },
}
PAGE_WORDS = {
    "de": {"sign_in": "Anmelden", "error_code": "Fehlercode: some_error"},
    "fr": {"sign_in": "Se connecter", "error_code": "Code d’erreur : some_error"},  # noqa: RUF001
}


def test_every_failure_has_its_titles_here():
    assert all(set(titles) == set(FAILURES) for titles in TITLES.values())


@pytest.mark.parametrize("language", SHIPPED)
def test_every_failure_page_reads_in_german_and_french(language, rf):
    for name, failure in FAILURES.items():
        with translation.override(language):
            page = unescape(failure_page(rf.get("/"), failure, error="some_error").content.decode())
            message = str(failure.message)
        assert f'<html lang="{language}"' in page
        assert f"<h1>{TITLES[language][name]}</h1>" in page, name
        assert message in page, name
        assert message != failure.message or not message, name  # not the English
        assert PAGE_WORDS[language]["sign_in"] in page
        assert PAGE_WORDS[language]["error_code"] in page


@pytest.mark.parametrize(
    ("language", "title", "message"),
    [
        ("de", "Kein Zugriff", "Ihre Organisation darf sich bei dieser Website nicht anmelden."),
        (
            "fr",
            "Accès refusé",
            "Votre organisation n’est pas autorisée à se connecter à ce site.",  # noqa: RUF001
        ),
    ],
)
def test_sign_in_refusals_read_in_german_and_french(language, title, message, rf, settings):
    with translation.override(language):
        pages = [unescape(refusal_page(rf, refusal)) for refusal in refusals(settings)]
    assert f"<h1>{title}</h1>" in pages[0]  # the tenant refused
    assert f"<p>{message}</p>" in pages[0]
    english = ["No access", "Sign-in is unavailable", "Your ", "This site"]
    assert [page for page in pages if any(text in page for text in english)] == []


def test_the_provider_description_is_shown_as_it_came(rf):
    with translation.override("de"):
        page = failure_page(rf.get("/"), failures.SIGN_IN_REFUSED, message="AADSTS50105: no")
    assert "<p>AADSTS50105: no</p>" in page.content.decode()


@pytest.mark.parametrize(
    ("language", "title"), [("de", "Abmelden"), ("fr", "Se déconnecter"), ("en", "Sign out")]
)
def test_the_sign_out_page_follows_accept_language(language, title, settings, db):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    try:
        response = Client().get("/auth/logout/", headers={"accept-language": language})
    finally:
        translation.deactivate()  # LocaleMiddleware leaves the language active in this thread
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    assert f"<title>{title}</title>" in page


@pytest.mark.parametrize(("language", "title"), [("de", "Abgemeldet"), ("fr", "Déconnecté")])
def test_the_frontchannel_logout_page_reads_in_german_and_french(language, title, db):
    with translation.override(language):
        page = Client().get("/auth/logout/frontchannel/").content.decode()
    assert f'<html lang="{language}"><title>{title}</title>' in page


def unquote(line: str) -> str:
    """A quoted .po line's text, its escapes (backslash, quote, newline, tab) undone."""
    escapes = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t"}
    return re.sub(r'\\[\\"nt]', lambda m: escapes[m.group()], line[1:-1])


def messages(po: Path) -> dict[str, tuple[str, ...]]:
    """Each message of a catalog (msgid, or msgid and msgid_plural joined by a NUL) with
    its translations; a fuzzy one counts as untranslated, as gettext treats it."""
    catalog: dict[str, tuple[str, ...]] = {}
    for entry in po.read_text().split("\n\n"):
        fields: dict[str, str] = {}
        field = ""
        for line in entry.splitlines():
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if not line.startswith('"'):
                field = keyword
                line = rest
            fields[field] = fields.get(field, "") + unquote(line)
        msgid = fields.get("msgid", "")
        if not msgid:
            continue  # the header
        if "msgid_plural" in fields:
            msgid += "\0" + fields["msgid_plural"]
        translations = tuple(v for k, v in fields.items() if k.startswith("msgstr"))
        fuzzy = re.search(r"^#,.*\bfuzzy\b", entry, flags=re.M)
        catalog[msgid] = () if fuzzy else translations
    return catalog


def catalog(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated_in_each_shipped_language(language):
    source = messages(CATALOG)
    translated = messages(catalog(language))
    assert len(source) > 80
    assert sorted(set(source) - set(translated)) == [], "missing: run makemessages -l " + language
    untranslated = [m for m in source if not all(translated[m]) or not translated[m]]
    assert untranslated == [], "untranslated or fuzzy"
    assert sorted(set(translated) - set(source)) == [], "obsolete: no longer in the source"
    # Placeholders kept, as msgfmt --check-format would say.
    for msgid, strings in translated.items():
        wanted = set(re.findall(r"%\(\w+\)[sdr]", msgid))
        assert all(set(re.findall(r"%\(\w+\)[sdr]", s)) <= wanted for s in strings), msgid


@pytest.mark.parametrize("language", SHIPPED)
def test_the_compiled_catalog_is_the_po_file_compiled(language, tmp_path):
    gettext_tools()
    po = catalog(language)
    fresh = tmp_path / "django.mo"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(fresh), str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr
    shipped = po.with_suffix(".mo")
    with shipped.open("rb") as a, fresh.open("rb") as b:
        committed, compiled = gettext_catalog(a), gettext_catalog(b)
    assert committed == compiled, f"recompile: msgfmt -o {shipped} {po}"


def gettext_catalog(mo) -> dict[object, str]:
    return dict(gettext.GNUTranslations(mo)._catalog)  # type: ignore[attr-defined]
