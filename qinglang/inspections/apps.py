from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "qinglang.inspections"
    label = "inspections"
    verbose_name = _("联合检查与整改")
