"""The built wheel and sdist carry what an installed app needs."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = [
    "msal_django/py.typed",
    "msal_django/migrations/0001_initial.py",
    "msal_django/templates/msal_django/error.html",
    "msal_django/templates/msal_django/logout.html",
    "msal_django/templates/admin/msal_django/cachedaccount/revoke_confirmation.html",
    "msal_django/testing/templates/page.html",
    "msal_django/management/commands/msal_purge.py",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    return out


def test_wheel_carries_templates_migrations_and_types(built):
    wheel = next(built.glob("msal_django-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []
    assert not any(n.startswith(("tests/", "example_project/", "bench/")) for n in names)
    metadata = next(n for n in names if n.endswith("entry_points.txt"))
    assert "msal_django.testing.pytest_plugin" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_sdist_carries_them_too(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools.build_meta as b, sys; b.build_sdist(sys.argv[1])",
            str(tmp_path),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    sdist = next(tmp_path.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert [n for n in NEEDED if n not in names] == []
    assert "README.md" in names
    assert "CHANGELOG.md" in names
