"""A project's URLconf routing msal-django's URL names to subclasses of its views, each
changing one hook (``tests/test_extending.py``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from msal_django import views
from msal_django.failures import Failure
from msal_django.signout import channels

from .urls import urlpatterns as site_urlpatterns


class CalendarLoginView(views.LoginView):
    def get_scopes(self, request: HttpRequest, asked: list[str]) -> list[str]:
        return [*super().get_scopes(request, asked), "Calendars.Read"]

    def get_auth_params(self, request: HttpRequest) -> dict[str, object]:
        return {**super().get_auth_params(request), "domain_hint": "example.com"}


class WelcomeCallbackView(views.CallbackView):
    def get_success_url(self, request: HttpRequest, user: object, next_url: str) -> str:
        return "/welcome/"

    def failure(self, request: HttpRequest, failure: Failure, **details: str) -> HttpResponse:
        return HttpResponse(f"our page: {failure.title}", status=failure.status)


class GoodbyeLogoutView(views.LogoutView):
    template_name = "msal_django/logout.html"

    def get_context_data(self, request: HttpRequest) -> dict[str, object]:
        return {"extra": "goodbye"}

    def get_post_logout_redirect_url(self, request: HttpRequest) -> str:
        return request.build_absolute_uri("/goodbye/")


auth_patterns = [
    path("login/", CalendarLoginView.as_view(), name="login"),
    path("callback/", WelcomeCallbackView.as_view(), name="callback"),
    path("logout/", GoodbyeLogoutView.as_view(), name="logout"),
    path("logout/frontchannel/", channels.frontchannel_logout, name="frontchannel_logout"),
    path("logout/backchannel/", channels.backchannel_logout, name="backchannel_logout"),
]

urlpatterns = [
    path("auth/", include((auth_patterns, "msal_django"))),
    *[p for p in site_urlpatterns if not str(getattr(p, "pattern", "")).startswith("auth/")],
]
