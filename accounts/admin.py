from django.contrib import admin

from accounts.models import Preference, UserSession


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin[Preference]):
    list_display = ("user", "language", "time_zone", "totp_confirmed_at")
    exclude = ("totp_secret",)


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin[UserSession]):
    list_display = ("user", "created_at")
