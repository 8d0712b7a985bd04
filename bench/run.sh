#!/usr/bin/env bash
# Installs msal-django into a virtualenv and prints the benchmark table.
#   bash bench/run.sh [--accounts 100000] [--db sqlite|postgres] [--rounds 15]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv-django5.2}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -e ".[dev]" "Django~=5.2.0"
exec "$venv/bin/python" bench/bench.py "$@"
