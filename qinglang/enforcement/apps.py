from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "qinglang.enforcement"
    label = "enforcement"
    verbose_name = "行政处罚"
