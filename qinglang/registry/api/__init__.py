"""Registry API: institutions and their sub-resources; public whitelist and blacklist.

One module per resource, each adding its operations to the two routers of ``routers``:

- ``institutions``: the institution, its status, county, white/black list entries, licences
- ``resources``: its sites, staff, courses and training materials
- ``public``: the public whitelist search and blacklist (no login)
- ``ledger``: the institution ledger (机构台账): .xlsx export, import template and import,
  and the competent department recorded on it
- ``rules``: rules in force: timetables, hours violations, practice bans, disclosure board
- ``applications``: approval applications

The modules are imported in the order their operations were first written; a router keeps
its paths in that order."""

# isort: off
from .routers import public_router, router
from . import institutions, resources, public, ledger, rules, applications

# isort: on

__all__ = [
    "applications",
    "institutions",
    "ledger",
    "public",
    "public_router",
    "resources",
    "router",
    "rules",
]
