"""The institution ledger (机构台账): the filtered list as .xlsx, the import template and the
import, and the competent department the approver records (谁审批、谁监管)."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from ninja import File, Query, Schema, UploadedFile

from qinglang.core.api_support import Error
from qinglang.core.errors import DomainError

from .. import selectors, services, xlsx
from .institutions import InstitutionFilters, InstitutionOut, _filters
from .routers import router


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=xlsx.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "no-store"
    return response


class ImportRowError(Schema):
    row: int
    column: str
    message: str


class RegistryImportOut(Schema):
    created: int
    errors: list[ImportRowError]


@router.get(
    "/institutions/export.xlsx",
    summary="Export the filtered institution list (same filters as the list) as .xlsx",
)
def institution_export_xlsx(request: HttpRequest, filters: Query[InstitutionFilters]):
    body = services.institution_export_xlsx(actor=request.user, filters=_filters(filters))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _xlsx_response(body, f"培训机构-{stamp}.xlsx")


@router.get(
    "/institutions/import-template.xlsx",
    summary="The .xlsx template for importing institutions",
)
def institution_import_template(request: HttpRequest):
    townships = services.import_township_choices(actor=request.user)
    return _xlsx_response(xlsx.institution_template_xlsx(townships=townships), "培训机构导入模板.xlsx")


@router.post(
    "/institutions/import",
    response={200: RegistryImportOut, 403: Error, 422: Error},
    summary="Import institutions from .xlsx (all rows or none)",
)
def institution_import(request: HttpRequest, file: File[UploadedFile]):
    result = services.institution_import_xlsx(actor=request.user, file_obj=file)
    if not result.ok:
        raise DomainError("import_failed", result.message, {"errors": result.errors_as_dicts()}, status=422)
    return {"created": result.created, "errors": []}


class CompetentDepartmentIn(Schema):
    department_id: int
    reason: str


@router.post(
    "/institutions/{int:institution_id}/competent-department",
    response=InstitutionOut,
    summary="The approver overrides the derived competent department (谁审批、谁监管)",
)
def institution_set_competent_department(
    request: HttpRequest, institution_id: int, payload: CompetentDepartmentIn
):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.institution_set_competent_department(
        actor=request.user,
        institution_id=institution_id,
        department_id=payload.department_id,
        reason=payload.reason,
    )
