#!/usr/bin/env bash
# Installs msal-django into a virtualenv and runs the example site with its local
# identity provider. Open the address it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
# [azure] and msgraph-sdk: the profile page through Microsoft Graph's SDK.
"$venv/bin/python" -m pip install --quiet -e ".[testing,azure,redis]" "msgraph-sdk>=1.0"
exec "$venv/bin/python" example_project/run.py "$@"
