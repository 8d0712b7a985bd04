"""Other Django processes serving one account's token in a loop, for the race tests of
test_serve_from_memory.py: each is another worker (another host, as far as the store can
tell) with its own memory and its own watch.

Run as a script by ``Server`` (configured through the environment), each child prints a
line per call: ``ok|gone|error <monotonic start> <store reads during the call>``. On Linux
``time.monotonic()`` is one clock for every process, so a call's start is comparable
with the moment the test's logout returned. A call with 0 reads was served from memory
with no read (the path under test).

Two ways to break the package on purpose, to show the tests catch it:
``CHILD_STALL`` makes the child's watch sleep that long in every third proof (a stalled
thread, a slow network: what the proof's age check is for) and ``CHILD_SABOTAGE=
no-proof-check`` serves from memory whenever the watch is connected, however old its
proof.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """A child process calling ``tokens.acquire(account)`` until stopped."""

    def __init__(
        self,
        tmp_path: Path,
        settings: Any,
        account: str,
        *,
        user: Any = None,
        stall: float = 0,
        sabotage: str = "",
    ) -> None:
        from django.db import connection

        self.stop_file = tmp_path / f"stop-{time.monotonic_ns()}"
        databases = {"default": {**settings.DATABASES["default"]}}
        databases["default"]["NAME"] = connection.settings_dict["NAME"]
        databases["default"].pop("TEST", None)
        env = {
            **os.environ,
            "CHILD_DATABASES": json.dumps(databases, default=str),
            "CHILD_CACHES": json.dumps(settings.CACHES),
            "CHILD_MSAL_DJANGO": json.dumps(settings.MSAL_DJANGO),
            "CHILD_ACCOUNT": account,
            "CHILD_USER": "" if user is None else str(user),
            "CHILD_STOP": str(self.stop_file),
            "CHILD_STALL": str(stall),
            "CHILD_SABOTAGE": sabotage,
            "PYTHONPATH": str(ROOT),
        }
        from msal_django.testing.provider import _running

        env["MSAL_DJANGO_TESTING_CA_FILE"] = _running[-1].ca_file  # the provider's CA
        self.process = subprocess.Popen(
            [sys.executable, __file__], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.calls: list[tuple[str, float, int]] = []
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, started, reads = line.split()
            self.calls.append((kind, float(started), int(reads)))

    def served_after(self, moment: float) -> list[tuple[str, float, int]]:
        """The calls that started after ``moment`` and got a token."""
        return self.served_between(moment, float("inf"))

    def served_between(self, start: float, end: float) -> list[tuple[str, float, int]]:
        return [c for c in list(self.calls) if c[0] == "ok" and start < c[1] < end]

    def wait_for_a_token(self, after: float, *, no_read: bool = False, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(reads == 0 or not no_read for _, _, reads in self.served_after(after)):
            assert self.process.poll() is None, "the serving process died"
            assert time.monotonic() < deadline, list(self.calls)[-5:]
            time.sleep(0.005)

    def stop(self) -> None:
        self.stop_file.touch()
        self.process.wait(timeout=30)
        self.reader.join(timeout=5)


def _child() -> None:
    import tests.settings as s

    s.DATABASES = json.loads(os.environ["CHILD_DATABASES"])
    s.CACHES = json.loads(os.environ["CHILD_CACHES"])
    s.MSAL_DJANGO = json.loads(os.environ["CHILD_MSAL_DJANGO"])
    import django

    django.setup()
    import msal_django
    from msal_django import tokens
    from msal_django.stores import get_store
    from msal_django.stores.watch import Watch

    store = get_store()
    reads = [0]
    for name in ("version", "load"):
        method = getattr(store, name)

        def counted(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            reads[0] += 1
            return _method(*args, **kwargs)

        setattr(store, name, counted)
    stall = float(os.environ["CHILD_STALL"])
    if stall:
        watch = store.watch()
        assert watch is not None, "this store has no watch here"
        prove, proofs = type(watch).prove, [0]

        def stalling(self: Any, connection: Any) -> None:
            proofs[0] += 1
            if proofs[0] % 3 == 0:
                time.sleep(stall)
            prove(self, connection)

        type(watch).prove = stalling  # type: ignore[method-assign]
    if os.environ["CHILD_SABOTAGE"] == "no-proof-check":

        def any_proof(self: Any) -> int:
            if self._pid != os.getpid():
                self._start()
            return int(self._state[0])

        Watch.proven_epoch = any_proof  # type: ignore[method-assign]
    account, stop = os.environ["CHILD_ACCOUNT"], os.environ["CHILD_STOP"]
    user = None
    if os.environ["CHILD_USER"]:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(pk=os.environ["CHILD_USER"])
    print("ready", flush=True)
    while not os.path.exists(stop):
        started, before = time.monotonic(), reads[0]
        try:
            tokens.acquire(account, ["User.Read"], user=user)
            kind = "ok"
        except msal_django.InteractionRequired:
            kind = "gone"
        except msal_django.MsalDjangoError:
            kind = "error"
        print(kind, repr(started), reads[0] - before, flush=True)
        time.sleep(0.001)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _child()
