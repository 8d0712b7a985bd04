#!/usr/bin/env bash
# Installs msal-django with its test dependencies into a virtualenv and runs the whole
# test suite: on SQLite, then on PostgreSQL (127.0.0.1:5432, user postgres, database
# test) when it answers. Extra arguments go to pytest.
#   DJANGO_VERSION=4.2 bash tests/run.sh     # another supported Django
#   REQUIRE_POSTGRES=1 bash tests/run.sh     # fail instead of skipping PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."

django="${DJANGO_VERSION:-5.2}"
venv="${VENV:-.venv-django$django}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[dev]" "Django~=$django.0"

# The Redis store's tests need a Redis on 127.0.0.1:6379 (and redis-server for the ones
# that start servers of their own): start one if nothing answers.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    mkdir -p "${TMPDIR:-/tmp}/msal-django-redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "${TMPDIR:-/tmp}/msal-django-redis" --logfile "${TMPDIR:-/tmp}/msal-django-redis/log"
    sleep 1
  else
    echo "Redis does not answer on 127.0.0.1:6379 and redis-server is not installed" >&2
    echo "(apt-get install redis-server)" >&2
    exit 1
  fi
fi

postgres_up() {
  "$venv/bin/python" - <<'PY' 2>/dev/null
import psycopg
psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3).close()
PY
}

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
browser=()
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x /usr/bin/chromium ] && [ -n "${REQUIRE_BROWSER:-}" ]; then
  echo "/usr/bin/chromium is missing and REQUIRE_BROWSER is set" >&2
  exit 1
elif [ ! -x /usr/bin/chromium ]; then
  echo "== /usr/bin/chromium is missing (apt-get install chromium): browser tests deselected"
  browser=(-m "not browser")
fi

echo "== Django $django, SQLite"
MSAL_DJANGO_TEST_DB=sqlite "$venv/bin/python" -m pytest "${browser[@]}" "$@"
if postgres_up; then
  echo "== Django $django, PostgreSQL"
  MSAL_DJANGO_TEST_DB=postgres "$venv/bin/python" -m pytest "${browser[@]}" "$@"
elif [ -n "${REQUIRE_POSTGRES:-}" ]; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2
  exit 1
else
  echo "== PostgreSQL does not answer on 127.0.0.1:5432: skipped its run"
fi
