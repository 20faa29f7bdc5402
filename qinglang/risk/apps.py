from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "qinglang.risk"
    label = "risk"
    verbose_name = "风险预警"
