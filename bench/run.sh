#!/usr/bin/env bash
# Installs msal-django into a virtualenv and prints the benchmark tables: get_token cache
# hits beside their floors (database, Redis, Microsoft's identity package), a back-channel
# logout, then purge and the admin changelist at scale, then a sign-in mapping 10, 200
# and (overage, from Graph) 1,000 groups, the web API, and the session check's cost. The Redis Cluster rows start a
# cluster of six redis-server processes of their own (needs redis-server and redis-cli).
#   bash bench/run.sh [--accounts 100000] [--db sqlite|postgres] [--rounds 15]
#                     [--redis-url redis://127.0.0.1:6379/13] [--redis-accounts 1000000]
#                     [--cluster-accounts 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh identity
"$venv/bin/python" bench/bench.py "$@"
"$venv/bin/python" bench/bench_operations.py
"$venv/bin/python" bench/bench_authorization.py
"$venv/bin/python" bench/bench_api.py
"$venv/bin/python" bench/bench_session_check.py
"$venv/bin/python" bench/bench_azure.py
