from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "qinglang.portal"
    label = "portal"
    verbose_name = "门户(公众、家长、机构、监管)"
