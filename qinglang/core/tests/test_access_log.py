"""The access log never carries an Open311 api_key or an API token in clear."""

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from qinglang.config.access_log import RedactingLogger, redact

KEY = "qlt_SECRETKEY1234567890"


def test_api_key_in_the_query_string_is_masked_in_the_access_log_line():
    log = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/clues/open311/v2/requests.json?status=open&api_key={KEY}",
        "QUERY_STRING": f"status=open&api_key={KEY}",
        "PATH_INFO": "/api/clues/open311/v2/requests.json",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
    }
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    req = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {KEY}")])
    atoms = log.atoms(resp, req, environ, timedelta(milliseconds=5))
    line = log.cfg.access_log_format % atoms
    assert KEY not in line and KEY not in str(atoms)
    assert "api_key=***" in line and "status=open" in line
    assert redact("/x?token=abc&b=1") == "/x?token=***&b=1"
