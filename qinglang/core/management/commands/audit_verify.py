from django.core.management.base import BaseCommand

from qinglang.core.audit import audit_verify, write_checkpoint


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain against the last signed checkpoint; report the first "
        "broken link (exit 1). A chain that verifies gets a new checkpoint of its head."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            default=None,
            help="checkpoint directory (default: QINGLANG_AUDIT_CHECKPOINT_DIR)",
        )
        parser.add_argument(
            "--no-checkpoint", action="store_true", help="verify only; write no new checkpoint"
        )

    def handle(self, *args, **opts):
        r = audit_verify(checkpoint_dir=opts["checkpoints"])
        if r.ok:
            self.stdout.write(f"审计链完整：共校验 {r.checked} 条事件 (audit chain OK: {r.checked} events)")
            if not opts["no_checkpoint"]:
                cp = write_checkpoint(opts["checkpoints"])
                self.stdout.write(f"已写入签名检查点 #{cp.seq}：{cp.path}")
            return
        where = f"第一个断点 #{r.broken_seq}：" if r.broken_seq is not None else ""
        self.stderr.write(f"审计链断裂：{where}{r.reason}(已校验 {r.checked} 条)")
        raise SystemExit(1)
