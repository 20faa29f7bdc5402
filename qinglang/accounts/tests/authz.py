"""Plug-in for the authorization sweep (qinglang/portal/tests/test_authorization.py): a
notification in each world — A's for world A's regulator officer, B's for a user of world
B — so the inbox routes are tried with another person's notification."""

PARAM_RULES = [({"notification_id"}, None, "notification")]


def build_side(*, admin, side, users, which) -> dict[str, object]:
    from qinglang.accounts.notifications import notify
    from qinglang.testing import make_user

    recipient = (
        users["regulator_officer"]
        if which == "A"
        else make_user("regulator_officer", prefixes=[side.division[:6]])
    )
    (n,) = notify(
        [recipient], kind="test", title=f"通知{side.tag}", body=f"{side.name}的通知", link="/inbox/"
    )
    return {"notification": n}


def markers(side) -> list[str]:
    return [f"通知{side.tag}"]
