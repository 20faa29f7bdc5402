from django.apps import AppConfig


class FundsConfig(AppConfig):
    name = "qinglang.funds"
    label = "funds"
    verbose_name = "预收费资金监管"
