from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("totp/", views.totp_view, name="totp"),
    path("language/", views.language_view, name="language"),
    path("preferences/", views.preferences_view, name="preferences"),
]
