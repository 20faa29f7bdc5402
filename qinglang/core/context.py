"""Per-request context (request id, acting user) for the audit trail. Set by middleware for
web requests and by the CLI/job wrappers elsewhere; contextvars keep threads apart."""

import contextlib
import contextvars
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str:
    rid = request_id_var.get()
    return rid or ""


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_context(request_id: str | None = None):
    token = request_id_var.set(request_id or new_request_id())
    try:
        yield request_id_var.get()
    finally:
        request_id_var.reset(token)
