from django.contrib import admin

from .models import AuditEvent, Department, Division, PolicyParameter


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "full_name"]
    list_filter = ["level"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "division", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "division__code"]
    raw_id_fields = ["division"]


@admin.register(PolicyParameter)
class PolicyParameterAdmin(admin.ModelAdmin):
    """Read-only here: overrides go through the audited policy service (console or API)."""

    list_display = ["key", "division_code", "value", "effective_from"]
    search_fields = ["key", "division_code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "seq",
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "request_id",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "request_id", "actor_label"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
