"""``/api/admin/institutions/…``: inviting an institution's administrator from its registry
record, and giving an existing account a role in the institution. Mounted under the
administration API by ``config/api.py`` (accounts, below the registry, cannot reach
institutions); the same services as the console's invite page and account page."""

from django.http import HttpRequest
from ninja import Router, Schema, Status

from qinglang.accounts import administration as adm
from qinglang.accounts.admin_api import AdminCreatedOut, AdminMembershipOut, require_admin

from . import services

router = Router(tags=["admin"])


class AdminInviteIn(Schema):
    username: str
    display_name: str = ""  # default: the record's legal representative


@router.post(
    "/{int:institution_id}/invite",
    response={201: AdminCreatedOut},
    summary="Invite the institution's administrator (one-time password, changed at first login)",
)
def institution_invite(request: HttpRequest, institution_id: int, payload: AdminInviteIn):
    require_admin(request)
    user, plain = services.institution_admin_invite(
        actor=request.user,
        institution_id=institution_id,
        username=payload.username,
        display_name=payload.display_name,
    )
    return Status(201, {"user": adm.user_get(request.user, user.pk), "initial_password": plain})


class AdminInstitutionGrantIn(Schema):
    role: str  # institution_admin | institution_staff


@router.post(
    "/{int:institution_id}/members/{int:user_id}",
    response={201: AdminMembershipOut},
    summary="Give an existing account a role in the institution (administrator or staff)",
)
def institution_member_grant(
    request: HttpRequest, institution_id: int, user_id: int, payload: AdminInstitutionGrantIn
):
    require_admin(request)
    m = services.institution_member_grant(
        actor=request.user, institution_id=institution_id, user_id=user_id, role=payload.role
    )
    return Status(201, m)
