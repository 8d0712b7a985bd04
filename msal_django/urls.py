from __future__ import annotations

from django.urls import path

from . import views

app_name = "msal_django"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("logout/", views.logout, name="logout"),
    path("logout/frontchannel/", views.frontchannel_logout, name="frontchannel_logout"),
    path("logout/backchannel/", views.backchannel_logout, name="backchannel_logout"),
]
