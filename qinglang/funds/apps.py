from django.apps import AppConfig


class FundsConfig(AppConfig):
    name = "qinglang.funds"
    label = "funds"
    verbose_name = "预收费资金监管"

    def ready(self):
        from qinglang.accounts.services import bank_division

        from .services.banks import bank_division as lookup

        bank_division.lookup = lookup  # grants of bank operators check the bank's division
