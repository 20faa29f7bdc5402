from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "qinglang.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import ApiToken, Membership, User
        from .services import forget_resolved_tokens

        for model in (User, Membership, ApiToken):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_resolved_tokens,
                    sender=model,
                    weak=False,
                    dispatch_uid=f"accounts.tokens.{model.__name__}.{signal is post_save}",
                )
