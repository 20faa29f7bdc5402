"""One application error type. Services raise ``DomainError`` for rule violations and
Django's ``ValidationError`` for bad input; the API turns both into
``{code, message, detail}`` and pages show the message.

A message is written in Chinese and may be lazy: ``gettext_lazy("…")``, or for one with
values ``format_lazy(gettext_lazy("单次收费金额{amount}超过上限"), amount=…)``. It is then
read in the reader's language (``.message``, ``str(exc)``, ``as_dict``) and stored in
Chinese (``.chinese_message``: audit payloads, import row errors, records)."""

from typing import Any

from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .i18n import chinese


class DomainError(Exception):
    """A rule of the domain was violated. ``code`` is stable (tests and integrators key on
    it), ``message`` is for people (in the active language when it was given lazily),
    ``chinese_message`` the same in Chinese, ``detail`` carries machine-readable context."""

    status = 400

    def __init__(self, code: str, message, detail: Any = None, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self._message = message
        self.detail = detail
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message in the active language."""
        return str(self._message)

    @message.setter
    def message(self, value) -> None:
        self._message = value

    @property
    def chinese_message(self) -> str:
        """The message in Chinese, whatever the reader's language: for what is stored."""
        return chinese(self._message)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class NotFound(DomainError, Http404):
    """Not there, or outside the caller's scope (the two are not told apart). The API
    answers it as a DomainError (``not_found``); on pages it is Django's 404."""

    status = 404

    def __init__(self, what="对象"):
        super().__init__("not_found", format_lazy(_("{what}不存在或无权查看"), what=what), None, status=404)


class IllegalTransition(DomainError):
    """A move the state machine's table does not allow (raised by ``core.states``). The
    message names both statuses by their Chinese labels; ``detail`` carries the codes."""

    status = 409

    def __init__(
        self, model: str, current: str, target: str, allowed: list[str], *, labels: dict | None = None
    ):
        labels = labels or {}
        names = "、".join(str(labels.get(a, a)) for a in allowed)
        super().__init__(
            "illegal_transition",
            f"不允许的状态变更：{labels.get(current, current)} → {labels.get(target, target)}"
            + (f"(可变更为：{names})" if names else ""),
            {"model": model, "from": current, "to": target, "allowed": allowed},
            status=409,
        )


class PermissionDeniedError(DomainError):
    status = 403

    def __init__(self, message=None):
        super().__init__("forbidden", _("无权执行此操作") if message is None else message, None, status=403)


def validation_detail(exc) -> dict:
    """Flatten a Django ValidationError into {field: [messages]}."""
    if hasattr(exc, "message_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}
