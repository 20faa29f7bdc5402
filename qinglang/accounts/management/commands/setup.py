"""``qinglang setup``: a county's deployment in one idempotent, audited command — the
database schema, the county (bundled GB/T 2260 data, or a code and name for a place not in
it), its townships and communities (.xlsx template or one by one), the county's
departments of every kind plus one township government per township, and the first
administrator. Re-running it changes only what changed."""

import getpass
import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from qinglang.accounts.models import Membership, Role, User
from qinglang.accounts.permissions import system
from qinglang.accounts.services import membership_grant, user_create
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, validation_detail
from qinglang.core.models import Division, DivisionLevel
from qinglang.core.services import (
    DIVISION_COLUMNS,
    department_ensure_for_division,
    division_ensure_county,
    division_sync,
    division_template_xlsx,
)
from qinglang.core.xlsx import read_table

ACTOR = system("setup")
PASSWORD_FILE_ENV = "QINGLANG_ADMIN_PASSWORD_FILE"


def _pair(text: str) -> tuple[str, str]:
    code, sep, name = text.partition("=")
    if not sep:
        raise CommandError(_("请按“代码=名称”填写：%(text)s") % {"text": text})
    return code.strip(), name.strip()


class Command(BaseCommand):
    help = _("设立或更新一个县的部署：区划、部门和首个管理员(可重复运行，只改变有变化的部分)")

    def add_arguments(self, parser):
        parser.add_argument("--county", help="县级区划代码(6位，GB/T 2260)")
        parser.add_argument("--name", default="", help="县级区划名称(内置数据中没有的地方必填；不同则改名)")
        parser.add_argument("--city-name", default="", help="内置数据中没有的地级区划名称")
        parser.add_argument("--province-name", default="", help="内置数据中没有的省级区划名称")
        parser.add_argument("--divisions", type=Path, help="乡镇(街道)、社区(村)表(.xlsx，见 --template)")
        parser.add_argument(
            "--township",
            "--community",
            dest="division",
            action="append",
            default=[],
            metavar="CODE=名称",
            help="逐个添加乡镇(9位)或社区(12位)，可重复",
        )
        parser.add_argument("--admin", default="admin", help="首个管理员的用户名(默认 admin)")
        parser.add_argument("--admin-name", default="系统管理员", help="首个管理员的姓名")
        parser.add_argument(
            "--admin-password-file",
            type=Path,
            default=os.environ.get(PASSWORD_FILE_ENV) or None,
            help=f"从文件读取首个管理员的密码(也可设环境变量 {PASSWORD_FILE_ENV})；不给则提示输入",
        )
        parser.add_argument("--template", type=Path, help="把乡镇社区导入模板写到此路径后退出")
        parser.add_argument("--no-migrate", action="store_true", help="不先执行数据库迁移")

    def handle(self, *args, **o):
        if o["template"]:
            county = Division.objects.filter(code=o["county"] or "").first() if o["county"] else None
            o["template"].write_bytes(division_template_xlsx(county))
            self.stdout.write(_("已写出模板：%(path)s") % {"path": o["template"]})
            return
        if not o["county"]:
            raise CommandError(_("请用 --county 给出县级区划代码(6位)"))
        if not o["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        rows = [(0, *_pair(t)) for t in o["division"]]
        if o["divisions"]:
            if not o["divisions"].is_file():
                raise CommandError(_("文件不存在：%(path)s") % {"path": o["divisions"]})
            with o["divisions"].open("rb") as fh:
                try:
                    table = read_table(fh, DIVISION_COLUMNS)
                except DomainError as exc:
                    raise CommandError(exc.message)
            rows += [(n, r["code"], r["name"]) for n, r in table]
        try:
            with transaction.atomic():
                summary = self._apply(o, rows)
        except DomainError as exc:
            raise CommandError(exc.message)
        except ValidationError as exc:
            raise CommandError("；".join(m for ms in validation_detail(exc).values() for m in ms))
        for line in summary:
            self.stdout.write(line)

    def _apply(self, o, rows) -> list[str]:
        out = []
        county, created = division_ensure_county(
            actor=ACTOR,
            code=o["county"],
            name=o["name"],
            city_name=o["city_name"],
            province_name=o["province_name"],
        )
        made = _("新设县级区划：%(code)s %(name)s") if created else _("已有县级区划：%(code)s %(name)s")
        out.append(made % {"code": county.code, "name": county.full_name or county.name})
        result = division_sync(actor=ACTOR, county_code=county.code, rows=rows)
        if result["errors"]:
            lines = [
                _("第%(row)s行 %(column)s：%(message)s") % vars(e)
                if e.row
                else _("%(column)s：%(message)s") % vars(e)
                for e in result["errors"]
            ]
            raise CommandError(_("乡镇社区有误，未做任何更改：") + "\n" + "\n".join(lines))
        out.append(
            _("乡镇社区：新增%(a)s个，更新%(r)s个") % {"a": len(result["added"]), "r": len(result["renamed"])}
        )
        deps = department_ensure_for_division(actor=ACTOR, division_code=county.code)
        townships = Division.objects.filter(
            code__startswith=county.code, level=DivisionLevel.TOWNSHIP, retired=False
        )
        n_gov = 0
        for t in townships:
            n_gov += len(department_ensure_for_division(actor=ACTOR, division_code=t.code))
        out.append(_("部门：本县%(d)s个，乡镇人民政府(街道办事处)%(g)s个") % {"d": len(deps), "g": n_gov})
        out.append(self._admin(o, county))
        audit_record(
            actor=ACTOR,
            action="setup.run",
            obj=county,
            division_code=county.code,
            changes={"added": result["added"], "renamed": result["renamed"], "admin": o["admin"]},
        )
        return out

    def _admin(self, o, county) -> str:
        user = User.objects.filter(username=o["admin"]).first()
        if user is None:
            user = user_create(
                actor=ACTOR,
                username=o["admin"],
                password=self._password(o),
                display_name=o["admin_name"],
                division_code=county.code,
            )
            made = _("管理员：已创建 %(username)s(平台管理员)")
        else:
            made = _("管理员：已有 %(username)s(平台管理员)")
        if not Membership.objects.filter(user=user, role=Role.PLATFORM_ADMIN, active=True).exists():
            membership_grant(actor=ACTOR, user=user, role=Role.PLATFORM_ADMIN)
        return made % {"username": user.username}

    def _password(self, o) -> str:
        path = o["admin_password_file"]
        if path:
            try:
                pw = Path(path).read_text(encoding="utf-8").strip()
            except OSError:
                raise CommandError(_("无法读取密码文件：%(path)s") % {"path": path})
            if not pw:
                raise CommandError(_("密码文件为空：%(path)s") % {"path": path})
            return pw
        if not os.isatty(0):
            raise CommandError(
                _("请输入管理员密码：在终端中运行，或用 --admin-password-file / %(env)s 给出密码文件")
                % {"env": PASSWORD_FILE_ENV}
            )
        pw = getpass.getpass(_("管理员密码："))
        if pw != getpass.getpass(_("再次输入：")):
            raise CommandError(_("两次输入的密码不一致"))
        return pw
