#!/usr/bin/env bash
# Installs msal-django with its test dependencies into a virtualenv and runs the whole
# test suite: on SQLite, then on PostgreSQL (127.0.0.1:5432, user postgres, database
# test) when it answers. Extra arguments go to pytest.
#   DJANGO_VERSION=6.1 PYTHON=3.13 bash tests/run.sh   # another supported Django, Python
#   REQUIRE_POSTGRES=1 bash tests/run.sh               # fail instead of skipping PostgreSQL
# PYTHON is an interpreter (a command or a path) or a version: "3.13" finds python3.13 on
# PATH or pyenv's 3.13. The virtualenv is named after both: .venv-py3.13-django6.1/.
set -euo pipefail
cd "$(dirname "$0")/.."

django="${DJANGO_VERSION:-5.2}"
python="${PYTHON:-python3}"
if [[ "$python" =~ ^[0-9]+\.[0-9]+$ ]]; then
  wanted="$python"
  python="python$wanted"
  if ! "$python" -c "" 2>/dev/null && command -v pyenv >/dev/null; then
    # pyenv's shims name every installed version but run only the selected one.
    python="$(ls -d "$(pyenv root)/versions/$wanted".*/bin/python3 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [ -z "$python" ] || ! "$python" -c "" 2>/dev/null; then
    echo "No Python $wanted found (neither python$wanted on PATH nor in pyenv)" >&2
    exit 1
  fi
fi
pyversion="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "${django%%.*}" -ge 6 ] && [ "$pyversion" = 3.11 ]; then
  echo "Django $django needs Python 3.12 or newer (PYTHON=3.12 or PYTHON=3.13)" >&2
  exit 1
fi
venv="${VENV:-.venv-py$pyversion-django$django}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
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

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here);
# the translation tests need GNU gettext.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v msgfmt >/dev/null || missing+=(gettext)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # Another apt-get may hold the package locks: install waits for them, update is retried.
  for attempt in 1 2 3 4 5 6; do apt-get update -qq && break; sleep 10; done
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${missing[@]}" >/dev/null
fi
if [ ! -x /usr/bin/chromium ] && [ -n "${REQUIRE_BROWSER:-}" ]; then
  echo "/usr/bin/chromium is missing and REQUIRE_BROWSER is set" >&2
  exit 1
fi
# The packaging tests (marked slow) do not touch the database: they run on SQLite only.
# pytest-xdist spreads the tests over a worker per core (PYTEST_XDIST_AUTO_NUM_WORKERS=1
# runs them in one); each worker has its own databases, Redis key prefix and provider.
on_sqlite=(-n auto)
on_postgres=(-n auto -m "not slow")
if [ ! -x /usr/bin/chromium ]; then
  echo "== /usr/bin/chromium is missing (apt-get install chromium): browser tests deselected"
  on_sqlite=(-n auto -m "not browser")
  on_postgres=(-n auto -m "not slow and not browser")
fi

echo "== Python $pyversion, Django $django, SQLite"
MSAL_DJANGO_TEST_DB=sqlite "$venv/bin/python" -m pytest "${on_sqlite[@]}" "$@"
if postgres_up; then
  echo "== Python $pyversion, Django $django, PostgreSQL (the slow packaging tests ran above)"
  MSAL_DJANGO_TEST_DB=postgres "$venv/bin/python" -m pytest "${on_postgres[@]}" "$@"
elif [ -n "${REQUIRE_POSTGRES:-}" ]; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2
  exit 1
else
  echo "== PostgreSQL does not answer on 127.0.0.1:5432: skipped its run"
fi
