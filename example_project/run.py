"""Run the example: the local identity provider, then the Django site, in one process.

    python example_project/run.py [--port 8000] [--provider-port 8443]

MSAL_DJANGO_CREDENTIAL=certificate or =federated: the app registration has no secret;
the site proves itself with a certificate, or with a workload identity token in a file
that is renewed every ten minutes, as Kubernetes does.

Creates the SQLite database and an admin user (admin / admin) on first run.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
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
    credential = os.environ.get("MSAL_DJANGO_CREDENTIAL", "secret")
    if credential not in ("secret", "certificate", "federated"):
        parser.error("MSAL_DJANGO_CREDENTIAL is secret, certificate or federated")
    idp.register_client(
        "msal-django-example",
        "example-secret" if credential == "secret" else None,
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
    proof = set_up_credential(idp, credential, HERE / ".state" / "credential")
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
    print(f"  The site proves itself to the provider with {proof}.")
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


def set_up_credential(idp, credential: str, directory: Path) -> str:
    """Give the app registration the credential the settings use; say what it is."""
    if credential == "secret":
        return "a client secret"
    from msal_django.testing import client_certificate

    directory.mkdir(parents=True, exist_ok=True)
    if credential == "certificate":
        certificate = client_certificate("msal-django-example", new_key=True)
        certificate.write(directory)
        idp.add_client_certificate("msal-django-example", certificate)
        return f"a certificate (thumbprint {certificate.thumbprint}), no secret"
    subject = "system:serviceaccount:example:msal-django-example"
    idp.add_federated_credential("msal-django-example", idp.workload_issuer, subject)
    token_file = directory / "azure-identity-token"

    def renew() -> None:  # as Kubernetes does: a new token, swapped in by a rename
        fresh = directory / ".azure-identity-token.new"
        fresh.write_text(idp.workload_identity_token(subject, lifetime=3600))
        fresh.replace(token_file)

    def keep_renewing() -> None:
        while True:
            time.sleep(600)
            renew()

    renew()
    threading.Thread(target=keep_renewing, daemon=True).start()
    return f"a workload identity token in {token_file} (renewed every 10 minutes), no secret"


if __name__ == "__main__":
    raise SystemExit(main())
