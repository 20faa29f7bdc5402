from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundsConfig(AppConfig):
    name = "qinglang.funds"
    label = "funds"
    verbose_name = _("预收费资金监管")

    def ready(self):
        from qinglang.accounts.services import bank_division

        from .services.banks import bank_division as lookup

        bank_division.lookup = lookup  # grants of bank operators check the bank's division

        from qinglang.core.policy import VALUE_LABELS

        from .models import CustodyMode

        VALUE_LABELS.update(  # the funds rules' codes read by name (custody.*, refund.destination)
            {
                **dict(CustodyMode.choices),
                "original_payment_account": "原路退回付款账户",
                "per_lesson": "一课一消(消拨同步)",
                "staged": "分段拨付",
            }
        )
