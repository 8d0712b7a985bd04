"""Each MSAL_DJANGO key is described once, by its help in msal_django/conf.py.

README's settings table is generated from it (``python docs/_ext/settings_reference.py``)
and the settings reference renders it; these tests fail when README drifts from the code,
when a setting has no help, and when the reference describes a setting a second time.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from msal_django.conf import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `python docs/_ext/settings_reference.py` to rewrite README's table from conf.py"


def _reference() -> ModuleType:
    path = ROOT / "docs" / "_ext" / "settings_reference.py"
    spec = importlib.util.spec_from_file_location("settings_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


reference = _reference()


def readme_rows() -> dict[str, tuple[str, str]]:
    """README's settings table: key -> (default, meaning), as Markdown."""
    section = reference.readme_section((ROOT / "README.md").read_text(encoding="utf-8"))
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        row = re.fullmatch(r"\| `(\w+)` \| (.*?) \| (.*) \|", line)
        if row:
            rows[row.group(1)] = (row.group(2), row.group(3))
    return rows


def generated_rows() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in reference.readme_table().splitlines():
        row = re.fullmatch(r"\| `(\w+)` \| (.*?) \| (.*) \|", line)
        if row:
            rows[row.group(1)] = (row.group(2), row.group(3))
    return rows


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_setting_has_help(name):
    text = SETTINGS[name].help.strip()
    assert text, f"MSAL_DJANGO[{name!r}] has no help in msal_django/conf.py"
    assert not re.search(r"\n\s*\n", text), f"{name}'s help is more than one paragraph"
    reference.markdown(text)  # every role in it has a Markdown form, every link resolves


def test_readme_lists_every_setting_and_no_other():
    readme, code = list(readme_rows()), list(SETTINGS)
    assert sorted(set(code) - set(readme)) == [], f"missing from README: {FIX}"
    assert sorted(set(readme) - set(code)) == [], f"README lists keys conf.py lacks: {FIX}"
    assert readme == code, f"README's order is not conf.py's: {FIX}"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_readme_shows_the_default_and_help_of_the_code(name):
    readme = readme_rows().get(name)
    default, meaning = generated_rows()[name]
    assert readme is not None, f"{name} is missing from README: {FIX}"
    assert readme[0] == default, f"README's default of {name} differs from conf.py: {FIX}"
    assert readme[1] == meaning, f"README's description of {name} differs from conf.py: {FIX}"


def test_readme_table_is_exactly_what_the_script_writes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference.readme_section(readme) == reference.readme_table(), FIX


def test_the_default_column_reads_the_code():
    """A default shown without words is the code's own, so changing it changes README."""
    for name, setting in SETTINGS.items():
        if setting.default_text is None:
            assert reference.literal(setting.default) in generated_rows()[name][0], name


def test_the_settings_reference_describes_no_setting_a_second_time():
    """``.. msal-settings::`` may only add prose for a key the code has no help for."""
    page = (ROOT / "docs" / "reference" / "settings.rst").read_text(encoding="utf-8")
    directive = page.split(".. msal-settings::", 1)[1]
    content = [line for line in directive.splitlines()[1:] if line.strip()]
    block = [line for line in content if line.startswith("   ")]
    described = {line.strip() for line in block if not line.startswith("    ")}
    assert sorted(described & set(SETTINGS)) == []


def test_markdown_of_the_roles_the_help_uses():
    rst = (
        ":setting:`TIMEOUT` (:check:`msal_django.E022`), :func:`~msal_django.get_token`, "
        ":doc:`the stores </topics/stores>`, ``a | b``"
    )
    assert reference.markdown(rst) == (
        "`TIMEOUT` (`msal_django.E022`), `msal_django.get_token`, "
        "[the stores](docs/topics/stores.rst), `a \\| b`"
    )
    with pytest.raises(ValueError, match=re.escape("no docs/topics/nowhere.rst")):
        reference.markdown(":doc:`/topics/nowhere`")
    with pytest.raises(ValueError, match="has no Markdown form"):
        reference.markdown(":envvar:`HOME`")
