"""The ``MSAL_DJANGO`` settings as ``msal_django/conf.py`` declares them, for the docs and
README.

Each key is described once, by the ``help`` of its ``Setting`` in conf.py (a paragraph of
reStructuredText). The settings reference (``.. msal-settings::`` in
``docs/reference/settings.rst``) renders it with Sphinx; README.md carries the same text as
a Markdown table between ``<!-- settings:start -->`` and ``<!-- settings:end -->``, which
this script writes::

    python docs/_ext/settings_reference.py          # rewrite README's table
    python docs/_ext/settings_reference.py --check  # exit 1 if README is out of date

``tests/test_docs_settings.py`` fails when README and conf.py drift. Nothing here imports
Sphinx, so the tests and the script run without it.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"
GENERATED_NOTE = (
    "<!-- Generated from the help of each Setting in msal_django/conf.py by\n"
    "     `python docs/_ext/settings_reference.py`: edit the help there, not this table. -->"
)
ROLE = re.compile(r":(\w+):`([^`]+)`")
TITLED = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
LITERAL = re.compile(r"``(.+?)``")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str  # reStructuredText from the code; "" when the code has none
    duration: bool  # a number of seconds, or a timedelta
    default_text: str | None  # reStructuredText, where the default needs words


def read_settings() -> list[Setting]:
    """Every setting, in declaration order, from ``msal_django.conf``.

    conf.py declares each key once, as a ``conf.Setting`` in ``conf.SETTINGS`` (name ->
    its default, its help and whether it is a duration). Adapt this function, and only
    this one, when conf.py declares its settings differently.
    """
    sys.path.insert(0, str(ROOT))  # this checkout's msal_django, when run as a script
    from msal_django import conf

    return [
        Setting(
            name,
            setting.default,
            inspect.cleandoc(setting.help) if setting.help else "",
            setting.duration,
            setting.default_text,
        )
        for name, setting in conf.SETTINGS.items()
    ]


# -- the default, in reStructuredText ---------------------------------------------------


def literal(value: Any) -> str:
    """A default as Python source, strings in double quotes as the docs write them."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        items = ", ".join(literal(item) for item in value)
        return f"[{items}]" if isinstance(value, list) else f"({items})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def duration(seconds: float) -> str:
    left = timedelta(seconds=seconds)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, rest = divmod(left.total_seconds(), size)
        if count:
            parts.append(f"{int(count)} {unit}{'s' if count != 1 else ''}")
        left = timedelta(seconds=rest)
    return ", ".join(parts) or "0 seconds"


def default_rst(setting: Setting) -> str:
    """The default as the reference and README show it (reStructuredText)."""
    if setting.default_text:
        return setting.default_text
    text = f"``{literal(setting.default)}``"
    if setting.duration and isinstance(setting.default, int | float):
        text += f" ({duration(setting.default)})" if setting.default >= 60 else " seconds"
    return text


ACCEPTS = "a number of seconds, or a ``datetime.timedelta``"


# -- reStructuredText to Markdown, for README -------------------------------------------


def _title_after(lines: list[str], start: int) -> str:
    """The first section title at or after ``lines[start]`` (a line underlined)."""
    for i in range(start, len(lines) - 1):
        under = lines[i + 1].strip()
        if lines[i].strip() and under and len(set(under)) == 1 and under[0] in "=-~^\"'`#*+":
            return lines[i].strip()
    raise ValueError(f"no section title after line {start + 1}")


def _doc(target: str) -> tuple[Path, str]:
    if not target.startswith("/"):
        raise ValueError(f":doc:`{target}` in a setting's help must be absolute (/topics/...)")
    path = DOCS / f"{target.lstrip('/')}.rst"
    if not path.is_file():
        raise ValueError(f":doc:`{target}`: there is no {path.relative_to(ROOT)}")
    return path, _title_after(path.read_text(encoding="utf-8").splitlines(), 0)


def _ref(label: str) -> tuple[Path, str]:
    for path in sorted(DOCS.rglob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip() == f".. _{label}:":
                return path, _title_after(lines, i + 1)
    raise ValueError(f":ref:`{label}`: no such label in docs/")


def _role(match: re.Match[str]) -> str:
    role, text = match.group(1), match.group(2)
    if role in ("setting", "check"):
        return f"``{text}``"
    if role in ("func", "class", "meth", "data"):
        return f"``{text.lstrip('~')}``"
    if role in ("doc", "ref"):
        titled = TITLED.match(text)
        title, target = (titled.group(1), titled.group(2)) if titled else (None, text)
        path, heading = _doc(target) if role == "doc" else _ref(target)
        return f"[{title or heading}]({path.relative_to(ROOT).as_posix()})"
    raise ValueError(f"the role :{role}: has no Markdown form in docs/_ext/settings_reference.py")


def markdown(rst: str) -> str:
    """One paragraph of a setting's reStructuredText as a Markdown table cell."""
    if re.search(r"\n\s*\n", rst.strip()):
        raise ValueError("a setting's help is one paragraph (README's table has one cell)")
    text = " ".join(rst.split())
    text = ROLE.sub(_role, text)
    text = LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    return text.replace("|", "\\|")


# -- README -----------------------------------------------------------------------------


def readme_table(settings: list[Setting] | None = None) -> str:
    """The Markdown table README carries between its markers (the markers excluded)."""
    rows = [GENERATED_NOTE, "", "| key | default | meaning |", "| --- | --- | --- |"]
    for setting in settings if settings is not None else read_settings():
        meaning = setting.help
        if setting.duration:
            meaning += f" Accepts {ACCEPTS}."
        rows.append(
            f"| `{setting.name}` | {markdown(default_rst(setting))} | {markdown(meaning)} |"
        )
    return "\n".join(rows)


def readme_section(readme: str) -> str:
    """What README has between its markers (stripped)."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END}")
    return readme[start + len(START) : end].strip()


def with_table(readme: str, table: str) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END}")
    # A blank line ends the table before the end marker, whatever renders the Markdown.
    return f"{readme[: start + len(START)]}\n{table}\n\n{readme[end:]}"


def main(argv: list[str]) -> int:
    readme = README.read_text(encoding="utf-8")
    table = readme_table()
    if "--check" in argv:
        if readme_section(readme) != table:
            print(
                "README.md's settings table differs from msal_django/conf.py: run "
                "python docs/_ext/settings_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    README.write_text(with_table(readme, table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
