from django.urls import include, path

urlpatterns = [path("auth/", include("msal_django.urls"))]
