"""Custody bank pages (托管银行): the daily release and refund instruction files per
bank, and the import of the bank's daily statement with its reconciliation differences.
A bank operator sees only its own bank; regulators the banks of their divisions; another
bank is a 404."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import BANK_OPERATORS, CONSOLE, is_bank_operator
from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.exports import BOM
from qinglang.core.jobs import job_start, should_run_in_background
from qinglang.funds import selectors, selectors_parent, services
from qinglang.funds.parsing import statement_text

from ..forms_funds import PaymentEntryForm, ResolveForm, StatementUploadForm
from ..jobs import statement_summary
from ..todo import bank_landing
from .common import apply_errors, can_write, role_required

bank_or_console_required = role_required(CONSOLE | BANK_OPERATORS)
MAX_STATEMENT = 20 * 1024 * 1024


def _bank(request, bank_id: int):
    return selectors.bank_get(actor=request.user, bank_id=bank_id)


def _day(request) -> date | None:
    raw = request.GET.get("day", "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bank_or_console_required
def bank_list(request):
    own = actor_for(request.user).bank_ids
    if len(own) == 1 and not request.GET:  # a bank's own operator lands on its instructions
        return redirect("portal:bank_instructions", bank_id=next(iter(own)))
    banks = list(selectors.bank_list(actor=request.user)[:200])
    return render(request, "portal/funds/bank_list.html", {"banks": banks})


@bank_or_console_required
def bank_instructions(request, bank_id: int):
    """Days with instructions; each day's file to download."""
    bank = _bank(request, bank_id)
    landing = bank_landing(request.user, bank.pk) if bank.pk in actor_for(request.user).bank_ids else None
    days = selectors.instruction_days(actor=request.user, bank_id=bank.pk)
    day = _day(request) or (days[0]["day"] if days else None)
    lines = selectors.instruction_lines(actor=request.user, bank_id=bank.pk, day=day) if day else []
    return render(
        request,
        "portal/funds/bank_instructions.html",
        {
            "bank": bank,
            "landing": landing,
            "tab": "instructions",
            "days": days,
            "day": day,
            "lines": lines,
        },
    )


@bank_or_console_required
def bank_instruction_file(request, bank_id: int):
    """The day's instruction file (the latest day with instructions if none is given)."""
    bank = _bank(request, bank_id)
    days = selectors.instruction_days(actor=request.user, bank_id=bank.pk, limit=1)
    day = _day(request) or (days[0]["day"] if days else timezone.localdate())
    lines = selectors.instruction_lines(actor=request.user, bank_id=bank.pk, day=day)
    resp = HttpResponse(
        BOM + services.instruction_file(lines, bank=bank), content_type="text/csv; charset=utf-8"
    )
    resp["Content-Disposition"] = f'attachment; filename="instructions-{bank.code}-{day.isoformat()}.csv"'
    return resp


@bank_or_console_required
def bank_statement_template(request):
    from qinglang.funds.parsing import statement_template_xlsx

    resp = HttpResponse(
        statement_template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = 'attachment; filename="bank-statement-template.xlsx"'
    return resp


@bank_or_console_required
def bank_statements(request, bank_id: int):
    """Upload a day's statement (CSV or .xlsx); the reconciliation differences are listed
    below, and a regulator resolves each with a correcting posting."""
    bank = _bank(request, bank_id)
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        day = form.cleaned_data["day"]
        if f.size > MAX_STATEMENT:
            form.add_error("file", "文件过大(最大 20 MB)")
        elif should_run_in_background(upload_bytes=f.size):  # tens of thousands of lines: a job
            job = job_start(
                actor=request.user,
                kind="funds.statement",
                title=f"导入{bank.name} {day.isoformat()} 对账单：{f.name}",
                handler="qinglang.portal.jobs.bank_statement",
                params={"bank_id": bank.pk, "day": day.isoformat(), "filename": f.name or ""},
                data=f.read(),
            )
            return redirect("portal:job", job_id=job.pk)
        else:
            try:
                out = services.statement_import(
                    actor=request.user,
                    bank_id=bank.pk,
                    day=day,
                    text=statement_text(f.read(), filename=f.name or ""),
                )
            except NotFound:
                raise Http404(_("托管银行不存在或无权查看"))
            except (DomainError, ValidationError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, statement_summary(day, out))
                return redirect(f"{request.path}?day={day.isoformat()}")
    day = _day(request)
    diffs = selectors.bank_differences(actor=request.user, bank_id=bank.pk, day=day)[:200]
    return render(
        request,
        "portal/funds/bank_statements.html",
        {
            "bank": bank,
            "tab": "statements",
            "form": form,
            "days": selectors.statement_days(actor=request.user, bank_id=bank.pk),
            "day": day,
            "diffs": diffs,
            "resolve_form": ResolveForm(),
            "can_write": can_write(request.user),
            "next": request.get_full_path(),
        },
    )


@bank_or_console_required
def bank_payments(request, bank_id: int):
    """The bank's operator enters a payment that arrived without a signed notification
    (from a statement line, a paper slip); the day is reconciled again. Below, the
    payments entered this way."""
    bank = _bank(request, bank_id)
    initial = {k: request.GET.get(k, "")[:64] for k in ("txn_id", "reference") if request.GET.get(k)}
    if request.GET.get("amount_fen", "").isdigit():
        initial["amount"] = int(request.GET["amount_fen"]) / 100
    if request.GET.get("day"):
        initial["paid_on"] = _day(request)
    form = PaymentEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            payment, created = services.payment_enter(
                actor=request.user,
                bank_id=bank.pk,
                reference=d["reference"],
                txn_id=d["txn_id"],
                amount_fen=d["amount"],
                paid_on=d["paid_on"],
                note=d["note"],
                payer_account=d["payer_account"],
                payer_account_name=d["payer_account_name"],
                payer_bank=d["payer_bank"],
            )
        except NotFound:
            raise Http404(_("托管银行不存在或无权查看"))
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"已补录到账：订单 {payment.order_id}，{payment.amount_fen / 100:.2f} 元"
                if created
                else "该笔流水此前已入账，未重复记账",
            )
            return redirect("portal:bank_payments", bank_id=bank.pk)
    return render(
        request,
        "portal/funds/bank_payments.html",
        {
            "bank": bank,
            "tab": "payments",
            "form": form,
            "entered": selectors_parent.entered_payments(actor=request.user, bank_id=bank.pk)[:100],
            "can_enter": is_bank_operator(request.user, bank.pk) or actor_for(request.user).is_platform_admin,
        },
    )
