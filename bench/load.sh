#!/usr/bin/env bash
# get_token under real load: installs gunicorn (pip, into the bench's virtualenv) and wrk
# (apt-get, as root, if missing), then prints the table of bench/load.py: a static page, the
# bare signed-in page, that page plus the one read a hit makes (the floor), and the page
# with get_token, for SQLite, PostgreSQL and Redis, all on loopback, each wrk run bounded
# by --duration (about 6 minutes in all by default).
#   bash bench/load.sh [--stores sqlite,postgres,redis] [--users 50] [--rounds 5]
#                      [--duration 2] [--workers 2] [--clients 8]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh gunicorn
if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  # A new machine may have no package lists yet; another apt-get may hold the locks
  # (install waits for them, update is retried).
  if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null 2>&1; then
    for attempt in 1 2 3 4 5 6; do $sudo apt-get update -qq && break; sleep 10; done
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null
  fi
fi
"$venv/bin/python" bench/load.py "$@"
