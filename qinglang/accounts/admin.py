from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Membership, User
from .services import tokens_changed


class ForgetsTokens:
    """Edits here bypass the services: drop the resolved API tokens as they do."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        tokens_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        tokens_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        tokens_changed()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    readonly_fields = [
        "role",
        "division_prefixes",
        "department_kind",
        "institution_id",
        "bank_id",
        "active",
        "created_at",
    ]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # memberships are granted through the audited service


@admin.register(User)
class UserAdmin(ForgetsTokens, BaseUserAdmin):
    list_display = ["username", "display_name", "is_active", "last_login"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("清朗", {"fields": ["display_name", "phone"]})]
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(ForgetsTokens, admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "digest", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False
