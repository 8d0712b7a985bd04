from __future__ import annotations

from django.urls import path

from msal_django import views
from msal_django.signout import channels

app_name = "msal_django"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("logout/", views.logout, name="logout"),
    path("logout/frontchannel/", channels.frontchannel_logout, name="frontchannel_logout"),
    path("logout/backchannel/", channels.backchannel_logout, name="backchannel_logout"),
]
