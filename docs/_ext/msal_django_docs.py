"""Reference pages read from msal-django's code, so they cannot drift from it.

``.. msal-settings::`` documents every ``MSAL_DJANGO`` key: its name, default and help
come from ``msal_django/conf.py`` (``settings_reference.read_settings`` is the one place
that knows how conf.py declares them; README's settings table is written from the same
help). A setting is described once, by its help in the code, so the directive's content
stays empty: prose given there for a setting, as in ::

    .. msal-settings::

       TOKEN_CACHE
          More about it, in reStructuredText.

fails the build (a warning under ``-W``) with a pointer to the help to move it into, as
does prose for a setting the code no longer has and a setting without help in the code.

``.. msal-checks::`` lists every system check (``msal_django.E001``...) with its message
and hint, read from the ``msal_django/checks/`` modules.

The roles ``:setting:`NAME``` and ``:check:`msal_django.E001``` link to them; under
nitpicky mode (``-n``) a link to a setting or check that does not exist fails the build.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from settings_reference import ACCEPTS, default_rst, read_settings
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

CHECK_ID = re.compile(r"^msal_django\.[EW]\d{3}$")


# -- reading the code ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    id: str
    level: str  # "Error" or "Warning"
    message: str
    hint: str


def read_checks() -> list[Check]:
    """Every check message of the ``msal_django/checks/`` modules, sorted by id.

    A message whose ``id`` is a variable (a helper such as ``_check_durations``) is
    listed under each id literal that is passed to that helper.
    """
    from msal_django import checks

    modules = sorted(Path(checks.__file__).parent.glob("*.py"))
    tree = ast.Module(
        body=[n for m in modules for n in ast.parse(m.read_text(encoding="utf-8")).body],
        type_ignores=[],
    )
    helpers: dict[str, list[ast.Call]] = {}  # function name -> its messages with a variable id
    found: list[Check] = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for call in _message_calls(function):
            check_id = _keyword(call, "id")
            if isinstance(check_id, ast.Constant):
                found.append(_check(str(check_id.value), call))
            else:
                helpers.setdefault(function.name, []).append(call)
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = getattr(call.func, "id", None)
        for template in helpers.get(name or "", []):
            for arg in call.args:
                if isinstance(arg, ast.Constant) and CHECK_ID.match(str(arg.value)):
                    found.append(_check(str(arg.value), template))
    return sorted({c.id: c for c in found}.values(), key=lambda c: c.id)


def _message_calls(function: ast.FunctionDef) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(function)
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) in ("Error", "Warning")
    ]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _check(check_id: str, call: ast.Call) -> Check:
    message = _text(call.args[0]) if call.args else ""
    hint = _keyword(call, "hint")
    return Check(check_id, str(getattr(call.func, "id", "")), message, _text(hint))


def _text(node: ast.expr | None) -> str:
    """A string literal or f-string as text, each ``{...}`` shown as ``…``."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    return "…" if node is not None else ""


# -- writing the pages -----------------------------------------------------------------


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_|\[\]<>])", r"\\\1", text)


def _prose(content: StringList) -> dict[str, list[str]]:
    """``NAME`` lines, each followed by its indented prose."""
    prose: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in content:
        if line and not line[0].isspace():
            current = prose.setdefault(line.strip(), [])
        elif current is not None:
            current.append(line)
    return {name: _dedent(lines) for name, lines in prose.items()}


def _dedent(lines: list[str]) -> list[str]:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines]


class SettingsDirective(SphinxDirective):
    has_content = True

    def run(self) -> list[nodes.Node]:
        settings = read_settings()
        prose = _prose(self.content)
        known = {s.name for s in settings}
        for name in sorted(set(prose) - known):
            logger.warning(
                "msal-settings: prose for %s, which msal_django/conf.py does not declare",
                name,
                location=self.get_location(),
            )
        lines: list[str] = []
        for setting in settings:
            extra = prose.get(setting.name, [])
            if not setting.help:
                logger.warning(
                    "msal-settings: %s has no help in msal_django/conf.py",
                    setting.name,
                    location=self.get_location(),
                )
            elif any(line.strip() for line in extra):
                logger.warning(
                    "msal-settings: %s is described in msal_django/conf.py already: move "
                    "this prose into its help there",
                    setting.name,
                    location=self.get_location(),
                )
            lines += [
                f".. setting:: {setting.name}",
                "",
                setting.name,
                "~" * len(setting.name),
                "",
                f":Default: {default_rst(setting)}",
            ]
            if setting.duration:
                lines.append(f":Accepts: {ACCEPTS}")
            lines.append("")
            if setting.help:
                lines += [*setting.help.splitlines(), ""]
            lines += [*extra, ""]
        return self._parse(lines)

    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.section()
        container.document = self.state.document
        source = self.get_source_info()[0] or "msal-settings"
        nested_parse_with_titles(
            self.state, StringList(lines, source=source), container, self.content_offset
        )
        return container.children


class ChecksDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for check in read_checks():
            lines += [
                f".. check:: {check.id}",
                "",
                f"``{check.id}`` ({check.level.lower()})",
                f"   {_escape(check.message)}",
                "",
            ]
            if check.hint:
                lines += [f"   *Hint:* {_escape(check.hint)}", ""]
        container = nodes.container()
        self.state.nested_parse(
            StringList(lines, source="msal_django/checks/"), self.content_offset, container
        )
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_crossref_type("setting", "setting", indextemplate="pair: %s; setting")
    app.add_crossref_type("check", "check", indextemplate="pair: %s; system check")
    app.add_directive("msal-settings", SettingsDirective)
    app.add_directive("msal-checks", ChecksDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
