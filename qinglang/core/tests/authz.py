"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): in each
world a finished background job with a summary and a result file, owned by one of that
world's officers (A's by the sweep's own officer), so the job pages and the download are
tried with the other world's job ids."""

PARAM_RULES = [({"job_id"}, None, "job")]


def build_side(*, admin, side, users, which) -> dict:
    from qinglang.accounts.models import Role
    from qinglang.core import files
    from qinglang.core.models import Job, JobStatus
    from qinglang.testing import make_user

    owner = (
        users["regulator_officer"]
        if which == "A"
        else make_user(Role.REGULATOR_OFFICER, prefixes=[side.division[:6]])
    )
    path, _digest, _new = files.store(f"导出结果{side.tag}".encode(), folder="jobs", suffix=".xlsx")
    job = Job.objects.create(
        kind="export",
        title=f"导出{side.tag}",
        handler="qinglang.portal.exports.run_export",
        owner_id=owner.pk,
        status=JobStatus.DONE,
        result={"summary": f"已导出{side.tag}"},
        result_path=path,
        result_name="结果.xlsx",
    )
    return {"job": job}


def markers(side) -> list[str]:
    return [f"导出{side.tag}", f"已导出{side.tag}"]
