from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "qinglang.analytics"
    label = "analytics"
    verbose_name = _("指标与通报")

    def ready(self):
        from . import hooks  # noqa: F401  (marks the days a source row touches)
