from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from qinglang.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup into a new SQLite file or a new PostgreSQL database (postgres://…/NAME), "
        "compare every table's row count with the backup, then run audit verify and ledger verify "
        "on the restored copy (exit 1 if any fails)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="the backup directory (from qinglang backup)")
        parser.add_argument(
            "--to", required=True, help="a new SQLite file path, or postgres://…/NAME (created)"
        )
        parser.add_argument("--no-verify", action="store_true", help="row counts only")

    def handle(self, *args, **opts):
        try:
            r = restore(opts["directory"], opts["to"], verify=not opts["no_verify"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已恢复到 {r.target}：{r.tables} 张表，{r.rows} 行")
        for t, (want, got) in r.mismatched.items():
            self.stderr.write(f"行数不符：{t} 备份 {want}，恢复后 {got}")
        if r.audit:
            self.stdout.write(r.audit)
        if r.ledger:
            self.stdout.write(r.ledger)
        if not r.ok:
            raise CommandError(_("恢复校验未通过"))
        self.stdout.write("恢复校验通过：行数一致，审计链与资金台账校验通过")
