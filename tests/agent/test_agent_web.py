"""Apache error log (loghub ground truth), access logs in Combined Log Format, nginx error log."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse
from collectors.agent.parsers.base import get

from .conftest import HCM, raw_lines, structured_rows


def test_every_apache_error_line_matches_the_ground_truth(ctx: ParseContext) -> None:
    lines = raw_lines("loghub", "Apache", "Apache_2k.log")
    rows = list(structured_rows("loghub", "Apache", "Apache_2k.log_structured.csv"))
    assert len(lines) == len(rows) == 2000
    for line, row in zip(lines, rows, strict=True):
        doc, source = parse(line, ctx)
        assert source == "apache_error", line
        assert get(doc, "log.level") == row["Level"]
        # the "[client x]" prefix becomes source.ip; the message is what follows
        assert row["Content"].endswith(get(doc, "message"))
        local = datetime.strptime(row["Time"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=HCM)
        assert datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")) == local
        if row["EventId"] == "E4":  # [client <*>] Directory index forbidden by rule: <*>
            assert get(doc, "source.ip") == row["Content"].split("]")[0].removeprefix("[client ")
            assert get(doc, "event.type") == ["error"]


def test_apache_error_levels_in_the_corpus(ctx: ParseContext) -> None:
    levels = Counter(get(parse(line, ctx).doc, "log.level") for line in raw_lines("loghub", "Apache", "Apache_2k.log"))
    assert set(levels) == {"notice", "error"}


def test_it_reads_the_apache_2_4_error_format(ctx: ParseContext) -> None:
    line = ("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] "
            "[client 72.15.99.187:5000] AH00037: Symbolic link not allowed: /var/www/x")
    doc, source = parse(line, ctx)
    assert source == "apache_error"
    assert (get(doc, "source.ip"), get(doc, "source.port")) == ("72.15.99.187", 5000)
    assert (get(doc, "process.pid"), get(doc, "error.code")) == (35708, "AH00037")
    assert get(doc, "apache.error.module") == "core"
    assert doc["@timestamp"] == "2000-10-11T07:32:52.123Z"


COMBINED = ('203.0.113.7 - alice [30/Jul/2026:10:00:01 +0700] "GET /login.php?next=%2Fadmin HTTP/1.1" 401 512 '
            '"https://example.vn/" "Mozilla/5.0 (X11; Linux x86_64) \\"quoted\\""')


def test_it_reads_a_combined_access_line(ctx: ParseContext) -> None:
    doc, source = parse(COMBINED, ctx)
    assert source == "web_access"
    expected: dict[str, Any] = {
        "source.ip": "203.0.113.7", "user.name": "alice", "http.request.method": "GET",
        "url.original": "/login.php?next=%2Fadmin", "url.path": "/login.php", "url.query": "next=%2Fadmin",
        "http.version": "1.1", "http.response.status_code": 401, "http.response.body.bytes": 512,
        "http.request.referrer": "https://example.vn/", "event.category": ["web"], "event.outcome": "failure",
        "user_agent.original": 'Mozilla/5.0 (X11; Linux x86_64) \\"quoted\\"', "event.dataset": "web.access",
    }
    assert {f: get(doc, f) for f in expected} == expected
    assert doc["@timestamp"] == "2026-07-30T03:00:01.000Z"


def test_nginx_access_through_syslog_is_named_by_its_ident(ctx: ParseContext) -> None:
    line = ('<190>Jul 30 10:00:01 web1 nginx: 198.51.100.2 - - [30/Jul/2026:10:00:01 +0700] '
            '"POST /api/v1/login HTTP/2.0" 200 17 "-" "curl/8.5.0"')
    doc, source = parse(line, ctx)
    assert source == "web_access"
    assert get(doc, "event.dataset") == "nginx.access"
    assert get(doc, "host.name") == "web1"
    assert get(doc, "user_agent.original") == "curl/8.5.0"
    assert get(doc, "http.request.referrer") is None


def test_a_common_log_format_line_without_agent_still_parses(ctx: ParseContext) -> None:
    doc, source = parse('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 0', ctx)
    assert source == "web_access"
    assert get(doc, "http.response.status_code") == 400
    assert get(doc, "http.request.method") is None  # TLS bytes on a plain port: no request to read


@pytest.mark.parametrize(("line", "fields"), [
    ('2026/07/30 10:00:02 [error] 1234#1234: *42 open() "/usr/share/nginx/html/.env" failed '
     '(2: No such file or directory), client: 192.0.2.50, server: example.vn, '
     'request: "GET /.env HTTP/1.1", host: "example.vn"',
     {"source.ip": "192.0.2.50", "url.path": "/.env", "http.request.method": "GET", "log.level": "error",
      "process.pid": 1234, "nginx.error.connection_id": 42, "url.domain": "example.vn",
      "event.dataset": "nginx.error", "@timestamp": "2026-07-30T03:00:02.000Z"}),
    ("2026/07/30 10:00:03 [notice] 1#1: signal process started",
     {"log.level": "notice", "event.type": ["info"], "source.ip": None}),
])
def test_it_reads_nginx_error_lines(ctx: ParseContext, line: str, fields: dict[str, Any]) -> None:
    doc, source = parse(line, ctx)
    assert source == "nginx_error"
    assert {f: get(doc, f) for f in fields} == fields
