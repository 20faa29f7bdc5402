"""An application's documents: the types each kind requires, the check of an upload by
its content, and their storage in the core file store (removed again if the write
fails)."""

from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.core import files as file_store
from qinglang.core.errors import DomainError
from qinglang.core.files import DOCX, EXTENSIONS

from ..models import Application, ApplicationDocument, ApplicationKind

__all__ = ["REQUIRED_DOCUMENTS"]


DOCUMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", DOCX})


MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


DOC_LABELS = {
    "application_form": "申请书",
    "site_proof": "场所产权或租赁证明",
    "fire_acceptance": "消防验收(备案)证明",
    "charter": "章程",
    "staff_list": "从业人员名册及资格证明",
    "legal_rep_id": "举办者/法定代表人身份证明",
    "change_proof": "变更事项证明材料",
    "settlement": "学员退费及财务清算报告",
    "audit_report": "财务审计报告",
    "nonprofit_charter": "非营利性章程",
    "platform_filing": "线上平台备案材料",
    "network_security": "网络安全等级保护证明",
}


REQUIRED_DOCUMENTS: dict[str, list[str]] = {
    ApplicationKind.ESTABLISH: [
        "application_form",
        "site_proof",
        "fire_acceptance",
        "charter",
        "staff_list",
        "legal_rep_id",
    ],
    ApplicationKind.CHANGE: ["application_form", "change_proof"],
    ApplicationKind.CLOSE: ["application_form", "settlement"],
    ApplicationKind.CONVERT_NONPROFIT: ["application_form", "audit_report", "nonprofit_charter"],
    ApplicationKind.FILING_TO_APPROVAL: ["application_form", "platform_filing", "network_security"],
}


@dataclass(frozen=True)
class Document:
    doc_type: str
    name: str
    content_type: str
    data: bytes
    sha256: str


def check_document(doc_type: str, f) -> Document:
    """Read an upload through the core file store's check; refuse it unless its content
    is a PDF, a photo or a Word file (the error keyed by the document)."""
    label = DOC_LABELS.get(doc_type, doc_type)
    try:
        c = file_store.check_upload(
            f,
            allowed=DOCUMENT_TYPES,
            max_bytes=MAX_DOCUMENT_BYTES,
            what=label,
            kinds="PDF、JPEG/PNG照片、Word文档",
        )
    except DomainError as exc:
        raise ValidationError({doc_type: exc.message}) from exc
    return Document(doc_type, c.name, c.content_type, c.data, c.sha256)


def _check_documents(
    files: dict, *, required: list[str], held: frozenset[str] = frozenset()
) -> list[Document]:
    unknown = sorted(set(files) - set(DOC_LABELS))
    if unknown:
        raise ValidationError(
            {"documents": format_lazy(gettext_lazy("未知的材料类型：{unknown}"), unknown="、".join(unknown))}
        )
    missing = [d for d in required if d not in files and d not in held]
    if missing:
        raise ValidationError(
            {
                "documents": format_lazy(
                    gettext_lazy("缺少材料：{documents}"),
                    documents="、".join(str(DOC_LABELS[d]) for d in missing),
                )
            }
        )
    errors: dict = {}
    docs = []
    for doc_type, f in files.items():
        try:
            docs.append(check_document(doc_type, f))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return docs


def _save_documents(app: Application, docs: list[Document], actor, created: list[str]) -> None:
    """Store each document in the core file store (content-addressed) and record it; the
    files this write created are listed in ``created`` for ``_undo_files``."""
    for d in docs:
        rel, _, new = file_store.store(
            d.data, folder="applications", suffix=f".{EXTENSIONS.get(d.content_type, 'bin')}"
        )
        if new:
            created.append(rel)
        ApplicationDocument.objects.create(
            application=app,
            doc_type=d.doc_type,
            original_name=d.name,
            content_type=d.content_type,
            size=len(d.data),
            sha256=d.sha256,
            path=rel,
            uploaded_by_id=getattr(actor, "pk", None),
        )


@contextmanager
def _undo_files():
    """Files stored by a write that then fails are removed again (nothing half-written)."""
    created: list[str] = []
    try:
        yield created
    except BaseException:
        for rel in created:
            file_store.discard(rel)
        raise
