"""Serve a WSGI app over HTTPS on loopback with werkzeug, in a daemon thread."""

from __future__ import annotations

import logging
import ssl
import threading
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger("msal_django.testing")


class _RequestHandler(WSGIRequestHandler):
    # Idle keep-alive connections (and clients that never finish the TLS handshake)
    # must not pin a thread for ever.
    timeout = 30

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string carries codes, states and id_token_hints: log the path only.
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "-"
        logger.info("%s %s -> %s", getattr(self, "command", "-"), path, code)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug(format, *args)

    def log_error(self, format: str, *args: object) -> None:
        logger.warning(format, *args)


class HttpsServer:
    """A threaded werkzeug server; ``port=0`` picks a free port, read it from ``.port``."""

    def __init__(
        self, app: WSGIApplication, host: str, port: int, ssl_context: ssl.SSLContext
    ) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_RequestHandler
        )
        # Wrapped here rather than by make_server so that the TLS handshake happens in
        # the request's thread, not in the accept loop: a client that connects and
        # stalls (a browser's pre-connect) cannot hold up everyone else.
        self._server.socket = ssl_context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server.ssl_context = ssl_context
        self.port: int = self._server.port
        self._thread = threading.Thread(
            # A short poll interval makes stop() quick.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"msal-django-testing-idp:{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
