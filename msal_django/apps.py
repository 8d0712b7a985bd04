from __future__ import annotations

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

        from msal_django import conf, redact
        from msal_django.checks import check_settings
        from msal_django.signout import session_index
        from msal_django.signout.removal import on_user_deleted, on_user_logged_out

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

        # What is built from the settings registers its reset (conf.resets_on_change).
        setting_changed.connect(conf.setting_changed, dispatch_uid="msal_django.conf")
