from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CluesConfig(AppConfig):
    name = "qinglang.clues"
    label = "clues"
    verbose_name = _("线索与吹哨报到")
