from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_reference_data(sender, using="default", **kwargs):
    """Divisions (GB/T 2260) and national policy defaults are reference data every
    database has: loaded, idempotently, after each migrate."""
    from django.db import connections

    from .services import division_load_reference, policy_seed_defaults

    if using != "default" or not connections[using].introspection.table_names():
        return
    division_load_reference(actor="system:migrate")
    policy_seed_defaults(actor="system:migrate")


class CoreConfig(AppConfig):
    name = "qinglang.core"
    label = "core"
    verbose_name = _("基础(区划、部门、政策、审计)")

    def ready(self):
        post_migrate.connect(_load_reference_data, sender=self, dispatch_uid="qinglang.core.reference_data")
