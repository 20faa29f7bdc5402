"""One application error type. Services raise ``DomainError`` for rule violations and
Django's ``ValidationError`` for bad input; the API turns both into
``{code, message, detail}`` and pages show the Chinese message."""

from typing import Any

from django.http import Http404


class DomainError(Exception):
    """A rule of the domain was violated. ``code`` is stable (tests and integrators key on
    it), ``message`` is Chinese for people, ``detail`` carries machine-readable context."""

    status = 400

    def __init__(self, code: str, message: str, detail: Any = None, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class NotFound(DomainError, Http404):
    """Not there, or outside the caller's scope (the two are not told apart). The API
    answers it as a DomainError (``not_found``); on pages it is Django's 404."""

    status = 404

    def __init__(self, what: str = "对象"):
        super().__init__("not_found", f"{what}不存在或无权查看", None, status=404)


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

    def __init__(self, message: str = "无权执行此操作"):
        super().__init__("forbidden", message, None, status=403)


def validation_detail(exc) -> dict:
    """Flatten a Django ValidationError into {field: [messages]}."""
    if hasattr(exc, "message_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}
