from __future__ import annotations

from django.urls import path

from msal_django import views
from msal_django.signout import channels

app_name = "msal_django"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout/frontchannel/", channels.frontchannel_logout, name="frontchannel_logout"),
    path("logout/backchannel/", channels.backchannel_logout, name="backchannel_logout"),
]
