"""Run the example: the local identity provider, then the Django site, in one process.

    python example_project/run.py [--port 8000] [--provider-port 8443]

Creates the SQLite database and an admin user (admin / admin) on first run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--provider-port", type=int, default=8443)
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

    from msal_django.testing import IdentityProvider

    idp = IdentityProvider(port=args.provider_port, state_dir=str(HERE / ".state"))
    site = f"http://{args.host}:{args.port}"
    idp.register_client(
        "msal-django-example",
        "example-secret",
        redirect_uris=[f"{site}/auth/callback/"],
        post_logout_redirect_uris=[f"{site}/"],
    )
    for username, name in (("alice", "Alice Example"), ("bob", "Bob Example")):
        idp.add_user(username, name=name, email=f"{username}@example.com")
        # The site's own API scope, as an admin's consent: /api/try/ asks for it silently.
        idp.consent(username, "msal-django-example", ["api://msal-django-example/access_as_user"])
    # alice holds the Reports.Reader app role (GROUP_MAP grants "report readers"), bob not.
    idp.add_user("alice", roles=["Reports.Reader"])
    idp.start()
    os.environ["MSAL_DJANGO_AUTHORITY"] = idp.authority
    os.environ["EXAMPLE_API_URL"] = idp.api_url

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser("admin", "admin@example.com", "admin")

    print(f"\n  Identity provider: {idp.authority}  (CA: {idp.ca_file})")
    print(f"  Open {site}/  and sign in as alice or bob (only alice may open /reports/).")
    print(f"  Admin: {site}/admin/  (admin / admin)")
    print(
        f"  The provider's users page (disable alice, revoke her sessions): {idp.base_url}/users/"
    )
    print(
        "  Your browser does not know the provider's certificate authority: accept its warning"
        f"\n  once, or trust {idp.ca_file}.\n",
        flush=True,
    )
    try:
        call_command("runserver", f"{args.host}:{args.port}", use_reloader=False)
    finally:
        idp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
