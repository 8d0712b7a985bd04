"""The views ``msal_django.urls`` routes to: sign-in (``msal_django.signin.views``) and
sign-out (``msal_django.signout.views``; the provider's logout channels are in
``msal_django.signout.channels``). Each is a class with small hooks; route to a subclass
under the same URL name to change one (docs: Extending). ``login``, ``callback`` and
``logout`` are their ``as_view()``."""

from __future__ import annotations

from msal_django.signin.views import (
    CallbackView,
    LoginView,
    callback,
    login,
    redirect_uri,
    safe_next,
)
from msal_django.signout.views import LogoutView, logout

__all__ = [
    "CallbackView",
    "LoginView",
    "LogoutView",
    "callback",
    "login",
    "logout",
    "redirect_uri",
    "safe_next",
]
