"""Django's own routes: its login page and a home page naming the upload endpoint for the signed-in user."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import path

from examples.embed_django.uploads import PREFIX


@login_required
def home(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"user": request.user.get_username(), "upload_endpoint": request.build_absolute_uri(PREFIX + "/files/")}
    )


urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
]
