from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "qinglang.portal"
    label = "portal"
    verbose_name = _("门户(公众、家长、机构、监管)")
