"""User-facing strings are marked for translation, and the source catalog is up to date.

The templates are rendered in a pseudo-language whose catalog wraps every string of
msal-django's own catalog in ⟦ ⟧: text outside the brackets was not marked.
"""

from __future__ import annotations

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

from msal_django.admin import CachedAccountAdmin
from msal_django.models import CachedAccount

PACKAGE = Path(__file__).resolve().parent.parent / "msal_django"
CATALOG = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
MAKEMESSAGES = [
    "django-admin", "makemessages", "-l", "en", "--add-location", "file",
    "--ignore", "testing/*", "--ignore", "migrations/*",
]  # fmt: skip
PSEUDO = "eo"  # any language Django knows; the catalog made here takes precedence


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
