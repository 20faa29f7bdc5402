from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnforcementConfig(AppConfig):
    name = "qinglang.enforcement"
    label = "enforcement"
    verbose_name = _("行政处罚")
