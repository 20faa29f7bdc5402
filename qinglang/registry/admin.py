"""Back office. Registry writes must go through the audited services, so the admin is
read-only here; it is for looking things up, not editing around the rules."""

from django.contrib import admin

from .models import (
    Course,
    Institution,
    InstitutionTransition,
    Licence,
    ListEntry,
    Site,
    Staff,
    TrainingMaterial,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LicenceInline(admin.TabularInline):
    model = Licence
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Institution)
class InstitutionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "uscc",
        "category",
        "kind",
        "division_code",
        "licence_status",
        "status",
        "whitelisted",
        "blacklisted",
    ]
    list_filter = ["category", "kind", "licence_status", "status", "whitelisted", "blacklisted"]
    search_fields = ["name", "registered_name", "uscc", "division_code"]
    inlines = [LicenceInline]


@admin.register(Site)
class SiteAdmin(ReadOnlyAdmin):
    list_display = ["name", "institution", "division_code", "address"]
    search_fields = ["name", "address", "division_code"]


@admin.register(Staff)
class StaffAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "institution",
        "role",
        "resident_id_masked",
        "teaches_subject",
        "teacher_qualification_no",
    ]
    exclude = ["resident_id_encrypted", "resident_id_digest"]
    search_fields = ["name"]


@admin.register(Course)
class CourseAdmin(ReadOnlyAdmin):
    list_display = ["name", "institution", "kind", "stage", "lessons", "unit_price_fen", "approval_status"]
    list_filter = ["kind", "approval_status"]


@admin.register(TrainingMaterial)
class TrainingMaterialAdmin(ReadOnlyAdmin):
    list_display = ["title", "institution", "status", "reviewed_at"]
    list_filter = ["status"]


@admin.register(ListEntry)
class ListEntryAdmin(ReadOnlyAdmin):
    list_display = ["institution", "list_kind", "decided_on", "decided_by_label", "removed_on"]
    list_filter = ["list_kind"]


@admin.register(InstitutionTransition)
class InstitutionTransitionAdmin(ReadOnlyAdmin):
    list_display = ["institution", "from_status", "to_status", "at"]
