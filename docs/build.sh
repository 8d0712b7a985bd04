#!/usr/bin/env bash
# Builds the documentation into docs/_build/html with warnings as errors, every internal
# reference checked (-n), then checks the links inside it (linkcheck; the web is not
# checked, the build runs offline). Creates .venv-docs/ on first use.
#   bash docs/build.sh            PYTHON=python3.12 bash docs/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The diagrams are drawn with Graphviz's dot.
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Another apt-get may hold the package locks: install waits for them, update is retried.
    for attempt in 1 2 3 4 5 6; do apt-get update -qq && break; sleep 10; done
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq graphviz >/dev/null
  else
    echo "docs/build.sh: Graphviz's dot is missing: install graphviz (apt-get install graphviz)." >&2
    exit 1
  fi
fi

venv="${VENV:-.venv-docs}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r docs/requirements.txt -e ".[testing,redis]"

rm -rf docs/_build
"$venv/bin/sphinx-build" -W --keep-going -n -q -b html docs docs/_build/html
"$venv/bin/sphinx-build" -W --keep-going -n -q -b linkcheck docs docs/_build/linkcheck
echo "docs: built docs/_build/html/index.html; internal references and links check out"
