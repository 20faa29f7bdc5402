"""Shared builders for inspections and enforcement tests."""

import io
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile

from qinglang.accounts.models import Role
from qinglang.testing import DEMO_COUNTY, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def fake_jpg(name: str = "virus.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"MZ\x90\x00 this is an executable", content_type="image/jpeg")


def docx_bytes() -> bytes:
    from docx import Document

    buf = io.BytesIO()
    Document().save(buf)
    return buf.getvalue()


def inspectors(n: int = 4, *, depts=("education", "market_regulation", "fire", "public_security")):
    return [
        make_user(Role.INSPECTOR, prefixes=[DEMO_COUNTY], department_kind=depts[i % len(depts)])
        for i in range(n)
    ]


def campaign_data(**kw) -> dict:
    return {
        "name": "测试专项行动",
        "campaign_type": "general",
        "division_code": DEMO_COUNTY,
        "starts_on": date(2026, 3, 2),
        "ends_on": date(2026, 3, 31),
        "departments": [],
        **kw,
    }


def answer_all(task, *, findings: dict | None = None, files=None) -> list[dict]:
    """Results for every item of the task's checklist; ``findings`` maps item code to
    outcome (rectification / fixed_on_site)."""
    findings = findings or {}
    out = []
    from qinglang.inspections.checklists import task_items

    for item in task_items(task)[0]:
        outcome = findings.get(item.code, "compliant")
        out.append(
            {
                "item_id": item.pk,
                "outcome": outcome,
                "description": "" if outcome == "compliant" else f"发现问题：{item.title}",
                "requirement": "",
                "files": (files or []) if outcome != "compliant" else [],
            }
        )
    return out
