from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/async/", views.async_profile, name="async_profile"),
    path("profile/graph-sdk/", views.graph_sdk_profile, name="graph_sdk_profile"),
    path("reports/", views.reports, name="reports"),
    path("api/me/", views.api_me, name="api_me"),
    path("api/try/", views.api_try, name="api_try"),
    path("admin/", admin.site.urls),
    path("auth/", include("msal_django.urls")),
]
