"""Sphinx configuration of msal-django's documentation (built by docs/build.sh)."""

from __future__ import annotations

import sys
from importlib.metadata import version as installed_version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

# autodoc imports msal_django's modules, and some of them import models: a minimal Django.
import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="docs-build-only-not-a-secret-0123456789",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "msal_django",
    ],
    DATABASES={},
    USE_TZ=True,
)
django.setup()

project = "msal-django"
author = "msal-django contributors"
copyright = "msal-django contributors"
release = installed_version("msal-django")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "sphinx.ext.viewcode",
    "msal_django_docs",  # _ext/: the settings and checks references, read from the code
]

exclude_patterns = ["_build", "requirements.txt"]
html_theme = "furo"
html_title = f"msal-django {release}"
pygments_style = "friendly"

# Every reference to msal_django must resolve (nitpicky, -n); other libraries' types are
# shown as plain text (no intersphinx: the build runs offline).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!msal_django\b).*")]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"show-inheritance": False}

graphviz_output_format = "svg"
graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica", "-Efontname=Helvetica"]

# linkcheck: the build runs offline, so it checks the links inside the documentation
# (pages, anchors, downloads) and leaves the web to the reader.
linkcheck_ignore = [r"https?://.*"]
linkcheck_anchors = True


def _supported(prefix: str) -> str:
    from importlib.metadata import metadata

    classifiers = metadata("msal-django").get_all("Classifier") or []
    found = [c.removeprefix(prefix) for c in classifiers if c.startswith(prefix)]
    return ", ".join(v for v in found if v and "::" not in v and v[0].isdigit())


def _requirement(name: str) -> str:
    from importlib.metadata import requires

    for requirement in requires("msal-django") or []:
        if requirement.split(";")[0].replace(" ", "").lower().startswith(name):
            return requirement.split(";")[0][len(name) :].strip()
    return ""


# The supported versions, from the package metadata (setup.cfg), never typed twice.
rst_epilog = f"""
.. |python_versions| replace:: {_supported("Programming Language :: Python :: ")}
.. |django_versions| replace:: {_supported("Framework :: Django :: ")}
.. |msal_version| replace:: {_requirement("msal")}
"""
