#!/usr/bin/env bash
# Installs msal-django into a virtualenv and runs the example site with its local
# identity provider. Open the address it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -e ".[testing]"
exec "$venv/bin/python" example_project/run.py "$@"
