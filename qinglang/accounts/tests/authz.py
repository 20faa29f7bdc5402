"""Plug-in for the authorization sweep (qinglang/portal/tests/test_authorization.py): in
each world a notification (A's for world A's regulator officer, B's for a user of world
B), the county's departments, the institution user's membership and an API token of that
user — so the inbox and the administration routes are tried with the other county's
objects — and an "own" token for the token page (``tokens/<pk>/revoke/``): A's belongs to
the institution admin persona, B's to B's institution user."""

PARAM_RULES = [
    ({"notification_id"}, None, "notification"),
    ({"department_id"}, None, "department"),
    ({"membership_id"}, None, "membership"),
    ({"token_id"}, None, "token"),
    ({"pk"}, {"tokens"}, "own_token"),
]


def build_side(*, admin, side, users, which) -> dict[str, object]:
    from qinglang.accounts.notifications import notify
    from qinglang.accounts.services import api_token_create
    from qinglang.core.services import department_ensure_for_division, department_update
    from qinglang.testing import make_user

    recipient = (
        users["regulator_officer"]
        if which == "A"
        else make_user("regulator_officer", prefixes=[side.division[:6]])
    )
    (n,) = notify(
        [recipient], kind="test", title=f"通知{side.tag}", body=f"{side.name}的通知", link="/inbox/"
    )
    deps = department_ensure_for_division(actor=admin, division_code=side.division[:6])
    edu = next(d for d in deps if d.kind == "education")
    if which == "A":  # A's name carries the tag: the positive control finds it
        department_update(actor=admin, department_id=edu.pk, data={"name": f"{side.name}教育局{side.tag}"})
    token, _ = api_token_create(actor=admin, user=side.user, name=f"令牌{side.tag}")
    owner = users["institution_admin"] if which == "A" else side.user
    own, _ = api_token_create(actor=admin, user=owner, name=f"自有令牌{side.tag}")
    return {
        "own_token": own,
        "notification": n,
        "department": edu,
        "membership": side.user.memberships.get(),
        "token": token,
    }


def markers(side) -> list[str]:
    # departments are reference data every logged-in user reads (/api/core/departments):
    # their names are no secret, so they are no marker; the admin routes are still tried
    # with B's department (status codes, audit, no change)
    return [f"通知{side.tag}", f"令牌{side.tag}"]
