from __future__ import annotations

import sys
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class MsalDjangoConfig(AppConfig):
    name = "msal_django"
    verbose_name = _("MSAL sign-in and token caches")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.core.signals import setting_changed
        from django.db.models.signals import pre_delete

        from . import redact, session_index
        from .accounts import on_user_deleted, on_user_logged_out
        from .checks import check_settings

        redact.install()
        checks.register(check_settings)
        user_logged_out.connect(on_user_logged_out, dispatch_uid="msal_django.logout")
        user_logged_out.connect(
            session_index.on_user_logged_out, dispatch_uid="msal_django.session_index"
        )
        # A deleted user's tokens go too, from every store (Redis keys are not cascaded).
        pre_delete.connect(
            on_user_deleted, sender=get_user_model(), dispatch_uid="msal_django.user_deleted"
        )

        def on_setting_changed(setting: str, **kwargs: Any) -> None:
            if setting == "CACHES" and "msal_django.stores.redis_client" in sys.modules:
                sys.modules["msal_django.stores.redis_client"].reset()  # REDIS_CACHE_ALIAS
            if setting in ("MSAL_DJANGO", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
                # Nothing to reset before first use (MSAL is not loaded at start-up).
                for name in (
                    "msal_django.client",
                    "msal_django.stores.redis_client",
                    "msal_django.token_memory",
                ):
                    module = sys.modules.get(name)
                    if module is not None:
                        module.reset()  # built again on next use

        setting_changed.connect(on_setting_changed, weak=False, dispatch_uid="msal_django.conf")
