"""get_token under real load: gunicorn serving bench/load_site.py, driven by wrk.

For each store (SQLite, PostgreSQL, Redis) one run starts three gunicorns (``--workers``,
sync, kept-open database connections) on loopback: the package's defaults (on PostgreSQL
and Redis a hit is served with no read while the process's watch proves itself),
``SERVE_FROM_MEMORY = False`` (one read of the version per hit) and
``ACCESS_TOKENS_IN_MEMORY = 0``. It signs ``--users`` people in through the local identity
provider (the real sign-in views), then measures, alternating page by page in each round:
a static page (no session), the bare signed-in page, that page plus the one read a hit
made before, written by hand (a raw ``SELECT`` of the version, or a ``GETRANGE``), and the
same page calling ``get_token`` on each of the three gunicorns. wrk's requests rotate over
the users' session cookies. p50 is with one connection, throughput with ``--clients``
connections; the table gives medians over ``--rounds``, the ratios of the pages to the
bare one, worker CPU per request, and the token store's reads per request (Redis
``GET``/``GETRANGE`` calls, PostgreSQL scans of the CachedAccount table). Last, the
median time of 15 logouts (``auth.logout``, which waits ``INVALIDATION_WINDOW`` where
hits are served with no read) on the first two gunicorns.

Everything is bounded: each wrk run lasts ``--duration`` seconds, and the whole run about
stores x rounds x 6 pages x 2 x duration. Run it with bench/load.sh, which installs
gunicorn and wrk.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT_ID, SECRET = "msal-django-load", "load-client-secret-0123456789"
FLOOR = "  + one read (floor)"
TOKEN = "signed-in + get_token"
PAGES = [
    ("static page", "main", "/static/"),
    ("signed-in page", "main", "/signed-in/"),
    (FLOOR, "main", "/floor/"),
    (TOKEN, "main", "/token/"),
    ("  same, one read per hit", "read", "/token/"),
    ("  same, memory off", "off", "/token/"),
]
# The gunicorns of each store: the package's defaults (hits with no read on PostgreSQL
# and Redis), SERVE_FROM_MEMORY off (a read of the version per hit), and no memory.
SERVERS = {
    "main": {},
    "read": {"LOAD_SERVE_FROM_MEMORY": "0"},
    "off": {"LOAD_MEMORY": "0"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int):
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "django.core.wsgi:get_wsgi_application()",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/static/", timeout=1).ok:
                    break
            except requests.RequestException:
                pass  # not listening yet, or still importing
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def worker_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master's workers: unlike
    throughput, barely moved by other processes sharing the cores."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def sign_in(idp, base: str, username: str) -> str:
    """A real sign-in through the site's views: the session cookie."""
    browser = requests.Session()
    login = browser.get(f"{base}/auth/login/", allow_redirects=False)
    callback = idp.sign_in(login.headers["Location"], username)
    done = browser.get(callback, allow_redirects=False)
    assert done.status_code == 302, done.status_code
    assert browser.get(f"{base}/token/", allow_redirects=False).status_code == 200
    return str(browser.cookies["sessionid"])


def lua_script(cookies: list[str], directory: str) -> str:
    path = os.path.join(directory, "rotate.lua")
    listed = ", ".join(f'"{c}"' for c in cookies)
    with open(path, "w") as f:
        f.write(
            f"local cookies = {{{listed}}}\nlocal n = 0\n"
            "request = function()\n  n = n + 1\n"
            '  wrk.headers["Cookie"] = "sessionid=" .. cookies[(n % #cookies) + 1]\n'
            "  return wrk.format(nil)\nend\n"
        )
    return path


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: str, connections: int, duration: int) -> tuple[float, float, int]:
    """(p50 in ms, requests per second, requests) of one wrk run."""
    threads = min(connections, 2)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    out = subprocess.run(
        [*command, "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    count = re.search(r"^\s*(\d+) requests in", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if p50 is None or rps is None or count is None or errors:
        raise RuntimeError(f"wrk: {out}")
    return float(p50.group(1)) * UNITS[p50.group(2)], float(rps.group(1)), int(count.group(1))


def database_for(store: str) -> tuple[str, str | None]:
    """(LOAD_DB, the PostgreSQL database to drop at the end)."""
    if store == "postgres":
        name = f"msal_django_load_{os.getpid()}"
        admin("CREATE", name)
        return f"postgres:{name}", name
    return "sqlite:" + os.path.join(tempfile.mkdtemp(prefix="msal-django-load-"), "db"), None


def admin(verb: str, name: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        if verb == "DROP":
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            c.execute(f'CREATE DATABASE "{name}"')


def store_reads(store: str, db: str, redis_url: str) -> int:
    """How many times the token store has been read so far: Redis GET and GETRANGE calls
    (INFO commandstats; the watch's ROLE is not one), or index and sequential scans of
    the CachedAccount table on PostgreSQL (the watch's query reads no table)."""
    if store == "redis":
        import redis

        stats = redis.Redis.from_url(redis_url).info("commandstats")
        return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("get", "getrange"))
    if store == "postgres":
        import psycopg

        name = db.partition(":")[2]
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}") as c:
            c.execute("SELECT pg_stat_clear_snapshot()")
            row = c.execute(
                "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables "
                "WHERE relname = 'msal_django_cachedaccount'"
            ).fetchone()
        return int(row[0]) if row else 0
    return -1  # SQLite keeps no such count


def settle_stats(store: str) -> None:
    """PostgreSQL backends report their table statistics at most once a second, and an
    idle one about a second after its last query: wait for that before reading them."""
    if store == "postgres":
        time.sleep(1.2)


def logout_latency(idp, base: str, users: int) -> float:
    """The median time of ``users`` logouts (the real logout: ``auth.logout``), each of a
    user signed in for it and served a token first."""
    times = []
    for n in range(users):
        browser = requests.Session()
        browser.cookies["sessionid"] = sign_in(idp, base, f"leaving{n}")
        started = time.perf_counter()
        assert browser.post(f"{base}/logout-now/").status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run_store(idp, store: str, args, directory: str) -> dict[str, tuple[float, ...]]:
    db, dropped = database_for(store)
    prefix = f"msal-django-load-{uuid.uuid4().hex[:8]}"
    ports = {server: free_port() for server in SERVERS}
    idp.register_client(
        CLIENT_ID, SECRET, [f"http://127.0.0.1:{port}/auth/callback/" for port in ports.values()]
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.load_site",
        "LOAD_DB": db,
        "LOAD_STORE": "redis" if store == "redis" else "database",
        "LOAD_AUTHORITY": idp.authority,
        "LOAD_REDIS_URL": args.redis_url,
        "LOAD_REDIS_PREFIX": prefix,
        "MSAL_DJANGO_TESTING_CA_FILE": idp.ca_file,
    }
    logouts: dict[str, float] = {}
    try:
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=ROOT, check=True
        )
        with ExitStack() as running:
            masters = {
                server: running.enter_context(
                    gunicorn({**env, **extra}, ports[server], args.workers)
                )
                for server, extra in SERVERS.items()
            }
            base = f"http://127.0.0.1:{ports['main']}"
            cookies = [sign_in(idp, base, f"user{n}") for n in range(args.users)]
            script = lua_script(cookies, directory)
            urls = {label: f"http://127.0.0.1:{ports[srv]}{p}" for label, srv, p in PAGES}
            for url in urls.values():  # warm: each worker's connections, MSAL apps, memory
                wrk(url, script, args.clients, 1)
            before = idp.count("token")
            samples: dict[str, list[tuple[float, ...]]] = {label: [] for label in urls}
            for _round in range(args.rounds):
                for label, server, _path in PAGES:
                    p50, _, _ = wrk(urls[label], script, 1, args.duration)
                    settle_stats(store)
                    cpu, reads = worker_cpu(masters[server]), store_reads(store, db, args.redis_url)
                    _, rps, count = wrk(urls[label], script, args.clients, args.duration)
                    cpu_us = (worker_cpu(masters[server]) - cpu) / count * 1e6
                    settle_stats(store)
                    read = (store_reads(store, db, args.redis_url) - reads) / count
                    samples[label].append((p50, rps, cpu_us, read if reads >= 0 else -1))
            provider_calls = idp.count("token") - before
            for server in ("main", "read"):
                logouts[server] = logout_latency(idp, f"http://127.0.0.1:{ports[server]}", 15)
    finally:
        if dropped:
            admin("DROP", dropped)
        if store == "redis":
            import redis

            client = redis.Redis.from_url(args.redis_url)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)
    result = {
        label: tuple(statistics.median(column) for column in zip(*values, strict=True))
        for label, values in samples.items()
    }
    print(f"  {store}: provider token requests during the timed runs: {provider_calls}")
    print(
        f"  {store}: logout, median of 15: {logouts['main']:.1f} ms with hits served with no "
        f"read, {logouts['read']:.1f} ms with SERVE_FROM_MEMORY off"
    )
    LOGOUTS[store] = logouts
    return result


LOGOUTS: dict[str, dict[str, float]] = {}


def table(results: dict[str, dict[str, tuple[float, ...]]], args) -> str:
    """One row per store and page; the pages after the bare one compared with it, and the
    token pages' worker CPU with the floor's (the one read a hit makes, by hand): what
    our code adds. Throughput moves with whatever else runs on the machine; worker CPU
    per request much less."""
    lines = [
        f"get_token under gunicorn ({args.workers} sync workers) and wrk, {args.users} "
        f"signed-in users, median of {args.rounds} rounds x {args.duration:g} s per figure; "
        f"worker CPU and store reads per request measured during the {args.clients}-client "
        "runs",
        "",
        "| store    | page                     | p50, 1 client | req/s, 8 clients | CPU/req | "
        "reads/req | p50 - bare | req/s / bare | CPU - bare | CPU - floor |",
        "|----------|--------------------------|---------------|------------------|---------|"
        "-----------|------------|--------------|------------|-------------|",
    ]
    for store, pages in results.items():
        bare_p50, bare_rps, bare_cpu, _ = pages["signed-in page"]
        floor_cpu = pages[FLOOR][2]
        for label, (p50, rps, cpu, reads) in pages.items():
            compare = label not in ("static page", "signed-in page")
            delta = f"{p50 - bare_p50:+.2f} ms" if compare else ""
            ratio = f"{rps / bare_rps:.2f}x" if compare else ""
            cpu_delta = f"{cpu - bare_cpu:+.0f} us" if compare else ""
            over_floor = f"{cpu - floor_cpu:+.0f} us" if compare and label != FLOOR else ""
            read = "n/a" if reads < 0 else f"{reads:.2f}"
            lines.append(
                f"| {store:<8} | {label:<24} | {p50:>10.2f} ms | {rps:>16,.0f} | "
                f"{cpu:>4.0f} us | {read:>9} | {delta:>10} | {ratio:>12} | {cpu_delta:>10} | "
                f"{over_floor:>11} |"
            )
    lines += [
        "",
        "| store    | logout, no-read hits on | logout, SERVE_FROM_MEMORY off |",
        "|---|---|---|",
    ]
    for store, logouts in LOGOUTS.items():
        lines.append(f"| {store:<8} | {logouts['main']:>20.1f} ms | {logouts['read']:>26.1f} ms |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres,redis")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: run bench/load.sh", file=sys.stderr)
        return 2

    from msal_django.testing import IdentityProvider

    directory = tempfile.mkdtemp(prefix="msal-django-load-")
    idp = IdentityProvider(host="localhost", state_dir=directory).start()
    try:
        results = {}
        for store in args.stores.split(","):
            print(f"measuring {store} ...", flush=True)
            results[store] = run_store(idp, store, args, directory)
    finally:
        idp.stop()
    print()
    print(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
