"""The built wheel and sdist: their content and metadata, the versions they claim, and what
installing them does to a project's own pytest run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = [
    "msal_django/py.typed",
    "msal_django/migrations/0001_initial.py",
    "msal_django/locale/en/LC_MESSAGES/django.po",
    "msal_django/templates/msal_django/error.html",
    "msal_django/templates/msal_django/logout.html",
    "msal_django/templates/admin/msal_django/cachedaccount/revoke_confirmation.html",
    "msal_django/testing/templates/page.html",
    "msal_django/management/commands/msal_purge.py",
]
# What a child Python must not inherit from this test run.
CHILD_ENV = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith(("PYTEST", "DJANGO_", "PYTHON", "VIRTUAL_ENV", "MSAL_DJANGO"))
}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist built from this checkout, and the wheel built from the sdist (as
    ``python -m build`` does: the sdist must carry everything the wheel needs)."""
    out = tmp_path_factory.mktemp("dist")
    sdist = "import setuptools.build_meta as b, sys; print(b.build_sdist(sys.argv[1]))"
    built = subprocess.run(
        [sys.executable, "-c", sdist, str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    with tarfile.open(out / built.stdout.split()[-1]) as archive:
        archive.extractall(out / "src", filter="data")
    (unpacked,) = (out / "src").iterdir()
    wheel = "import setuptools.build_meta as b, sys; b.build_wheel(sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", wheel, str(out)], check=True, cwd=unpacked, capture_output=True
    )
    return out


def wheel_of(dist: Path) -> Path:
    return next(dist.glob("msal_django-*.whl"))


def metadata_of(dist: Path):
    with zipfile.ZipFile(wheel_of(dist)) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(wheel.read(name).decode())


def test_wheel_carries_templates_migrations_translations_and_types(dist):
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    assert [n for n in NEEDED if n not in names] == []
    assert not any(n.startswith(("tests/", "example_project/", "bench/")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_wheel_registers_the_pytest_plugin(dist):
    with zipfile.ZipFile(wheel_of(dist)) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
        entry_points = wheel.read(name).decode()
    assert "[pytest11]\nmsal_django = msal_django.testing.pytest_plugin" in entry_points


def test_sdist_carries_them_too(dist):
    with tarfile.open(next(dist.glob("*.tar.gz"))) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert [n for n in NEEDED if n not in names] == []
    assert {"README.md", "CHANGELOG.md", "LICENSE", "setup.cfg", "pyproject.toml"} <= names


def test_twine_check_passes_on_wheel_and_sdist(dist):
    """What PyPI would refuse: broken metadata, a README it cannot render."""
    files = [str(wheel_of(dist)), str(next(dist.glob("*.tar.gz")))]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def supported_versions() -> tuple[list[str], list[str]]:
    """The Pythons and the Djangos of the cells .ci/run runs the suite on, oldest first."""
    text = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"^MATRIX=\(\n(.*?)^\)", text, re.M | re.S)
    assert block, ".ci/run has no MATRIX=( ... )"
    cells = re.findall(r'^\s*"(3\.\d+) (\d+\.\d+)"$', block.group(1), re.M)
    assert cells, ".ci/run's MATRIX has no cell"

    def oldest_first(versions: set[str]) -> list[str]:
        return sorted(versions, key=lambda v: tuple(map(int, v.split("."))))

    return oldest_first({p for p, _ in cells}), oldest_first({d for _, d in cells})


def test_classifiers_claim_exactly_what_ci_runs(dist):
    pythons, djangos = supported_versions()
    metadata = metadata_of(dist)
    classifiers = metadata.get_all("Classifier")

    def claimed(prefix: str) -> list[str]:
        return [
            c.removeprefix(prefix) for c in classifiers if re.fullmatch(rf"{prefix}\d+\.\d+", c)
        ]

    assert claimed("Programming Language :: Python :: ") == pythons
    assert claimed("Framework :: Django :: ") == djangos
    assert metadata["Requires-Python"] == f">={pythons[0]}"
    assert f"Django>={djangos[0]}" in metadata.get_all("Requires-Dist")


def test_readme_claims_exactly_what_ci_runs():
    pythons, djangos = supported_versions()

    def listed(versions: list[str]) -> str:
        return ", ".join(versions[:-1]) + " and " + versions[-1]

    readme = (ROOT / "README.md").read_text()
    assert f"Supports Python {listed(pythons)} and Django {listed(djangos)}" in readme


def test_the_plugin_module_imports_nothing_heavy():
    """Every pytest run of a project that installed msal-django imports the plugin."""
    code = (
        "import sys, msal_django.testing.pytest_plugin\n"
        "heavy = {'msal', 'werkzeug', 'trustme', 'cryptography', 'jwt', 'requests', 'django'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


# -- in clean virtualenvs: the wheel installed as a user would, from the package registry

UNRELATED_PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n',
    "conftest.py": (
        "import pytest\n\n\n"
        "@pytest.fixture\n"
        "def idp():\n"
        '    return "an identity document processor, nothing to do with msal-django"\n'
    ),
    "test_project.py": (
        "def test_arithmetic():\n"
        "    assert 1 + 1 == 2\n\n\n"
        "def test_own_fixture(idp):\n"
        '    assert idp.startswith("an identity document")\n\n\n'
        "def test_tmp_path(tmp_path):\n"
        '    (tmp_path / "f").write_text("x")\n'
        '    assert (tmp_path / "f").read_text() == "x"\n'
    ),
}

PROJECT_USING_THE_FIXTURES = {
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n',
    "test_sign_in.py": (
        "from urllib.parse import parse_qsl, urlsplit\n\n"
        "import msal\n\n\n"
        "def test_alice_signs_in_through_msal(idp):\n"
        "    app = msal.ConfidentialClientApplication(\n"
        '        "msal-django-example",\n'
        '        client_credential="example-secret",\n'
        "        authority=idp.authority,\n"
        "        instance_discovery=False,\n"
        "        http_client=idp.http_client(),\n"
        "    )\n"
        "    flow = app.initiate_auth_code_flow(\n"
        '        ["User.Read"], redirect_uri="http://localhost:8000/auth/callback/"\n'
        "    )\n"
        '    redirect = idp.sign_in(flow["auth_uri"], "alice")\n'
        "    result = app.acquire_token_by_auth_code_flow(\n"
        "        flow, dict(parse_qsl(urlsplit(redirect).query))\n"
        "    )\n"
        '    assert "access_token" in result, result\n'
        '    assert idp.count("token") == 1\n'
    ),
}


def write_project(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def clean_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=CHILD_ENV)
    return path / "bin" / "python"


def pip_install(python: Path, *requirements: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run_pytest(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pytest", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=CHILD_ENV,
    )


def without_timings(output: str) -> str:
    return re.sub(r" in \d+\.\d+s( \(\d+:\d+:\d+\))?", "", output)


@pytest.mark.slow
def test_installing_the_package_alone_leaves_a_projects_pytest_run_as_it_was(dist, tmp_path):
    python = clean_venv(tmp_path / "venv")
    pip_install(python, "pytest")
    project = write_project(tmp_path / "project", UNRELATED_PROJECT)
    before = run_pytest(python, project, "-v", "--no-header")
    assert before.returncode == 0, before.stdout + before.stderr

    pip_install(python, str(wheel_of(dist)))
    after = run_pytest(python, project, "-v", "--no-header")

    assert after.returncode == 0, after.stdout + after.stderr
    assert without_timings(after.stdout) == without_timings(before.stdout)
    assert after.stderr == before.stderr
    # The plugin was loaded, and registered nothing without the testing extra.
    header = run_pytest(python, project, "--fixtures")
    assert "plugins: msal-django-" in header.stdout
    assert "identity_provider" not in header.stdout


@pytest.mark.slow
def test_the_testing_extra_gives_the_identity_provider_fixtures(dist, tmp_path):
    python = clean_venv(tmp_path / "venv")
    pip_install(python, "pytest", f"{wheel_of(dist)}[testing]")
    project = write_project(tmp_path / "project", PROJECT_USING_THE_FIXTURES)

    result = run_pytest(python, project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
