from django.contrib import admin

from organisations.models import Membership, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["code", "name", "kind", "path"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "organisation", "role"]
