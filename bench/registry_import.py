"""``qinglang bench registry-import --rows 2000``: import an officials' institution ledger
(.xlsx, every required column, a school permit and a business licence per row) into a
fresh scratch database (PostgreSQL ``<database>_seedbench`` when QINGLANG_DATABASE_URL is
set, else a temporary SQLite file) as a county regulator: rows per second, all or nothing,
with every row checked. Reference: reading the same file with openpyxl alone (the floor
any import pays), in the same run."""

import argparse
import os
import subprocess
import sys

from bench._common import REPO
from bench.seed import scratch_env

OWN_DATABASE = True  # makes and drops its own scratch databases (see qinglang.cli._bench)

CHILD = r"""
import io, json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc
from qinglang.core.models import Division
from qinglang.registry.models import Institution
from qinglang.registry.services import institution_import_xlsx
from qinglang.testing import make_user

rows = int(sys.argv[1])
towns = list(Division.objects.filter(code__startswith="510107", code__regex=r"^[0-9]{9}$").values_list("name", flat=True))
headers = ["机构名称", "统一社会信用代码", "法定代表人", "类别", "培训类型", "办学许可证号",
           "营业执照或登记证号", "地址", "所属乡镇(街道)", "联系电话", "许可证有效期至"]
wb = Workbook(write_only=True); ws = wb.create_sheet("培训机构"); ws.append(headers)
for n in range(rows):
    body = f"91510107MA{n:07d}"[:17]
    code = body + uscc.calc_check_digit(body)
    ws.append([f"基准导入艺术培训中心{n}", code, "张三", "非学科类", "文化艺术类", f"教民151010770{n:06d}",
               code, f"武侯区基准路{n}号", towns[n % len(towns)], "13800138000", "2030-12-31"])
buf = io.BytesIO(); wb.save(buf); data = buf.getvalue()

t = time.perf_counter()
for r in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True):
    pass
read_s = time.perf_counter() - t

officer = make_user("regulator_officer", prefixes=["510107"])
t = time.perf_counter()
result = institution_import_xlsx(actor=officer, file_obj=io.BytesIO(data), max_rows=rows)
import_s = time.perf_counter() - t
assert result.ok, result.errors[:5]
assert Institution.objects.filter(name__startswith="基准导入").count() == rows
print("JSON" + json.dumps({"rows": rows, "bytes": len(data), "read_s": read_s, "import_s": import_s}))
"""


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench registry-import")
    p.add_argument("--rows", type=int, default=2000)
    a = p.parse_args(argv)
    env, label, cleanup = scratch_env()
    env.setdefault("QINGLANG_DEMO", "true")
    env["QINGLANG_TESTING"] = "false"
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(a.rows)], cwd=REPO, env=env, capture_output=True, text=True
        )
    finally:
        cleanup()
    if out.returncode != 0:
        print(out.stderr[-3000:])
        return 1
    import json

    r = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("JSON")][-1][4:])
    rate = r["rows"] / r["import_s"]
    ratio = r["import_s"] / r["read_s"]
    print(
        f"database {label}; machine: {os.cpu_count()} CPUs; file {r['bytes'] / 1024:.0f} KB, {r['rows']:,} rows"
    )
    print(
        f"openpyxl read alone: {r['read_s']:.2f} s; import (check every row, then register all): {r['import_s']:.2f} s"
    )
    print(f"RESULT registry-import {rate:.0f} rows/s ratio={ratio:.1f} ref=openpyxl_read:{r['read_s']:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
