"""The registry of training institutions (校外培训机构): licences, sites, staff, courses,
training materials and the public white and black lists; one module per sub-domain, every
name re-exported here (``from qinglang.registry.models import Institution``):

- ``institutions``: institutions, their statuses and state machine, licences, white/black
  list entries
- ``resources``: sites, staff, courses, training materials and their review
- ``rules``: rules in force: timetables, hours violations, practice bans, disclosure board
- ``applications``: approval applications, their documents and history

The modules are imported in the order the models were first written, which is the order
the app registry lists them in (``apps.get_models()``)."""

# isort: off
from .institutions import (
    CATEGORY_KINDS,
    INSTITUTION_STATES,
    STATUS_TRANSITIONS,
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    InstitutionTransition,
    Kind,
    Licence,
    LicenceKind,
    LicenceStatus,
    ListEntry,
    ListKind,
    Mode,
    Nature,
    NonprofitConversion,
    Stage,
)
from .resources import (
    MATERIAL_STATES,
    MATERIAL_TRANSITIONS,
    ApprovalStatus,
    Course,
    MaterialStatus,
    Site,
    Staff,
    StaffRole,
    TrainingMaterial,
)
from .rules import (
    CourseSlot,
    DisclosureItem,
    DisclosureNote,
    HoursViolation,
    PracticeBan,
    Weekday,
)
from .applications import (
    APPLICATION_STATES,
    APPLICATION_TRANSITIONS,
    Application,
    ApplicationDocument,
    ApplicationKind,
    ApplicationStatus,
    ApplicationTransition,
)

# isort: on

__all__ = [
    "APPLICATION_STATES",
    "APPLICATION_TRANSITIONS",
    "CATEGORY_KINDS",
    "INSTITUTION_STATES",
    "MATERIAL_STATES",
    "MATERIAL_TRANSITIONS",
    "STATUS_TRANSITIONS",
    "Application",
    "ApplicationDocument",
    "ApplicationKind",
    "ApplicationStatus",
    "ApplicationTransition",
    "ApprovalStatus",
    "Course",
    "CourseSlot",
    "DisclosureItem",
    "DisclosureNote",
    "HoursViolation",
    "Institution",
    "InstitutionCategory",
    "InstitutionStatus",
    "InstitutionTransition",
    "Kind",
    "Licence",
    "LicenceKind",
    "LicenceStatus",
    "ListEntry",
    "ListKind",
    "MaterialStatus",
    "Mode",
    "Nature",
    "NonprofitConversion",
    "PracticeBan",
    "Site",
    "Staff",
    "StaffRole",
    "Stage",
    "TrainingMaterial",
    "Weekday",
]
