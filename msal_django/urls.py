from __future__ import annotations

from django.urls import path

from . import channel_views, views

app_name = "msal_django"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("logout/", views.logout, name="logout"),
    path("logout/frontchannel/", channel_views.frontchannel_logout, name="frontchannel_logout"),
    path("logout/backchannel/", channel_views.backchannel_logout, name="backchannel_logout"),
]
