"""``python -m msal_django.testing``: run the local identity provider until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Sequence

from .defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from .keys import default_state_dir
from .provider import CA_FILE_ENV, IdentityProvider, add_defaults


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m msal_django.testing",
        description=(
            "Run msal-django's local identity provider (Entra ID-like, HTTPS on loopback). "
            f"Without --client-id it registers the example client {DEFAULT_CLIENT_ID!r} "
            f"(secret {DEFAULT_CLIENT_SECRET!r}) for http://127.0.0.1:8000 and "
            "http://localhost:8000; users alice and bob exist, others are created at sign-in."
        ),
    )
    parser.add_argument("--host", default="localhost", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8443, help="default: %(default)s")
    parser.add_argument("--tenant-id", help="default: a fixed tenant id")
    parser.add_argument(
        "--state-dir",
        default=str(default_state_dir()),
        help="where the CA and signing key are kept across restarts (default: %(default)s)",
    )
    parser.add_argument("--client-id", help="register this client instead of the example one")
    parser.add_argument("--client-secret", help="its secret (required with --client-id)")
    parser.add_argument(
        "--redirect-uri", action="append", default=[], metavar="URI", help="repeatable"
    )
    parser.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="repeatable",
    )
    parser.add_argument("--frontchannel-logout-uri", metavar="URI")
    parser.add_argument("--backchannel-logout-uri", metavar="URI")
    return parser


def _settings_snippet(idp: IdentityProvider, client_id: str, client_secret: str) -> str:
    return f"""\
MSAL_DJANGO = {{
    "CLIENT_ID": {json.dumps(client_id)},
    "CLIENT_SECRET": {json.dumps(client_secret)},
    "AUTHORITY": {json.dumps(idp.authority)},
    "INSTANCE_DISCOVERY": False,
    "HTTP_CLIENT": "msal_django.testing.http_client",
}}
# and, in the shell that runs Django:
#   export {CA_FILE_ENV}={idp.ca_file}"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.client_id and not args.client_secret:
        parser.error("--client-secret is required with --client-id")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    idp = IdentityProvider(
        host=args.host, port=args.port, tenant_id=args.tenant_id, state_dir=args.state_dir
    )
    add_defaults(idp)
    client_id, client_secret = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    if args.client_id:
        client_id, client_secret = args.client_id, args.client_secret
        idp.register_client(
            client_id,
            client_secret,
            redirect_uris=args.redirect_uri,
            post_logout_redirect_uris=args.post_logout_redirect_uri,
            frontchannel_logout_uri=args.frontchannel_logout_uri,
            backchannel_logout_uri=args.backchannel_logout_uri,
        )
    elif args.frontchannel_logout_uri or args.backchannel_logout_uri or args.redirect_uri:
        parser.error("--redirect-uri and the logout URIs need --client-id")
    try:
        idp.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc}")
        return 1
    print(
        f"Local identity provider running (Ctrl-C to stop)\n"
        f"  authority: {idp.authority}\n"
        f"  issuer:    {idp.issuer}\n"
        f"  CA file:   {idp.ca_file}\n"
        f"  client:    {client_id}\n\n"
        f"Django settings:\n\n{_settings_snippet(idp, client_id, client_secret)}\n",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopping.")
    finally:
        idp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
