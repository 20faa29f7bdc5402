from django.core.management.base import BaseCommand

from qinglang.core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; report the first broken link (exit 1)."

    def handle(self, *args, **opts):
        r = audit_verify()
        if r.ok:
            self.stdout.write(f"审计链完整：共校验 {r.checked} 条事件 (audit chain OK: {r.checked} events)")
            return
        self.stderr.write(f"审计链断裂：第一个断点 #{r.broken_seq}：{r.reason}(已校验 {r.checked} 条)")
        raise SystemExit(1)
