"""The web server's access log without secrets: an ``api_key`` (Open311 clients send it
in the query string), a ``token`` or ``access_token`` in a URL is written as ``***``,
and so are the Authorization and X-API-Token headers should a log format include them.
``qinglang serve`` runs gunicorn with this logger class."""

import re

from gunicorn.glogging import Logger

_SECRET_PARAM = re.compile(r"((?:^|[?&;])(?:api_key|access_token|token)=)[^&;\s]*", re.IGNORECASE)
_SECRET_HEADERS = ("{authorization}i", "{x-api-token}i", "{x-qinglang-signature}i", "{cookie}i")


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1***", text) if text else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for k, v in atoms.items():  # the request line, query, referer and environ atoms
            if isinstance(v, str):
                atoms[k] = redact(v)
        for k in _SECRET_HEADERS:
            if atoms.get(k):
                atoms[k] = "***"
        return atoms
