"""The views ``msal_django.urls`` routes to: sign-in (``msal_django.signin.views``) and
sign-out (``msal_django.signout.views``; the provider's logout channels are in
``msal_django.signout.channels``)."""

from __future__ import annotations

from msal_django.signin.views import callback, login, redirect_uri, safe_next
from msal_django.signout.views import logout

__all__ = ["callback", "login", "logout", "redirect_uri", "safe_next"]
