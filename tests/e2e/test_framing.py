"""
Request-smuggling probes sent over raw sockets straight to ratify serve.

Every probe must get "HTTP/1.1 400", then the connection closed (recv
returns b"" after the response), and neither the probe nor the request
hidden behind it may reach a handler (the access log names every handled
request). The probes are in framing_probes.py; test_nginx.py sends the same
ones through the nginx config.
"""

import re
import socket
import time
import uuid

import pytest

from framing_probes import OWS_TE_VALUES, PROBES, hidden_request, ows_request
from ratify_server import parse_responses, raw_exchange

TIMEOUT = 3.0
STATUS_LINE = re.compile(rb"(?:^|\n)HTTP/\d\.\d \d{3} ")


def settle(server):
    """Makes sure everything sent before has been logged: a request on a new
    connection, waited for in the log."""
    sentinel = f"/sentinel-{uuid.uuid4().hex[:12]}"
    server.client().get(sentinel)
    return server.wait_for_log(f" {sentinel} ")


def handled(log, path):
    return [line for line in log.splitlines() if f" {path} " in line]


def direct(probe):
    if probe.direct_xfail:
        return pytest.param(probe, id=probe.name,
                            marks=pytest.mark.xfail(reason=probe.direct_xfail, strict=True))
    return pytest.param(probe, id=probe.name)


@pytest.mark.parametrize("probe", [direct(p) for p in PROBES])
def test_probe_is_refused_with_400_and_closed(server, probe):
    data, path, hidden = probe.request()
    received, closed = raw_exchange(server.port, data, timeout=TIMEOUT)
    responses, leftover = parse_responses(received)
    statuses = [r.status_line for r in responses]
    assert received.startswith(b"HTTP/1.1 400"), f"answered {statuses or received[:200]!r}"
    assert closed, "the connection stayed open after the 400"
    assert len(responses) == 1, f"more than one response: {statuses}"
    # Exactly one: no second status line hidden in the body or after it.
    assert len(STATUS_LINE.findall(received)) == 1, f"a second response inside: {received!r}"
    assert not leftover, f"bytes after the response: {leftover[:200]!r}"
    log = settle(server)
    assert not handled(log, path), f"the probe reached a handler: {handled(log, path)}"
    assert not handled(log, hidden), f"the hidden request was served: {handled(log, hidden)}"


@pytest.mark.parametrize("line", OWS_TE_VALUES.values(), ids=list(OWS_TE_VALUES))
def test_whitespace_around_chunked_is_never_misframed(server, line):
    """OWS around the value is not part of it (RFC 9112 5.1), so
    "Transfer-Encoding:<SP><SP>chunked" is plain chunked: either refused
    (400 and closed) or read as chunked, in which case the request after
    the body is answered as the next request and nothing else."""
    data, path, after = ows_request(line)
    received, closed = raw_exchange(server.port, data, timeout=TIMEOUT)
    responses, leftover = parse_responses(received)
    statuses = [r.status for r in responses]
    log = settle(server)
    if statuses and statuses[0] == 400:
        assert statuses == [400] and closed, statuses
        assert not handled(log, path) and not handled(log, after)
        return
    # Read as chunked: the probe is answered (404: its path is unknown),
    # then the follow-up, and nothing else.
    assert len(responses) == 2, f"{statuses} {leftover[:100]!r}"
    assert statuses[1] == 404, statuses
    assert len(handled(log, path)) == 1 and len(handled(log, after)) == 1, log[-2000:]
    assert closed


def test_pipelined_requests_are_answered_in_order(server):
    """The baseline that makes the checks below meaningful: the server does
    answer two pipelined requests on one connection."""
    first = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    second = "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    received, closed = raw_exchange(server.port, (first + second).encode(), timeout=TIMEOUT)
    responses, _ = parse_responses(received)
    assert [r.status for r in responses] == [200, 200]
    assert responses[0].get("Content-Type").startswith("text/html")
    assert responses[1].get("Content-Type").startswith("application/json")
    assert closed


def test_requests_with_bare_lf_line_ends_are_served(server):
    """The NUL check reads line ends from the request line: LF-only
    requests (which libmicrohttpd accepts) must still be served."""
    first = "GET / HTTP/1.1\nHost: 127.0.0.1\nAccept: */*\n\n"
    second = "GET /api/v1/status HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n"
    received, closed = raw_exchange(server.port, (first + second).encode(), timeout=TIMEOUT)
    responses, _ = parse_responses(received)
    assert [r.status for r in responses] == [200, 200]
    assert closed


def test_large_header_block_sent_in_pieces_is_served(server):
    """The NUL check relies on the header block lying in one piece in
    libmicrohttpd's read buffer, which grows in place as more arrives."""
    head = ("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "".join(f"X-Pad-{i}: {'v' * 200}\r\n" for i in range(30))
            + "Connection: close\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    try:
        for i in range(0, len(head), 1000):
            s.sendall(head[i:i + 1000])
            time.sleep(0.02)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    finally:
        s.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:300]


def test_mixed_line_ends_are_refused(server):
    """A CRLF and a NUL before an LF leave the same bytes behind, so the
    line ends must not change within a request."""
    data = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\nAccept: */*\r\n\r\n"
    received, closed = raw_exchange(server.port, data, timeout=TIMEOUT)
    assert received.startswith(b"HTTP/1.1 400") and len(STATUS_LINE.findall(received)) == 1
    assert closed


@pytest.mark.parametrize("target", ["/api/v1/st%61tus", "/api/v1/status?q=%41%2F+b&e=",
                                    "/api/v1/status?q=%c3%a9"])
def test_valid_escapes_and_headers_are_served(server, target):
    data = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Empty:\r\n"
            "X-Spaces:   a b  \r\nConnection: close\r\n\r\n").encode()
    received, closed = raw_exchange(server.port, data, timeout=TIMEOUT)
    responses, _ = parse_responses(received)
    assert [r.status for r in responses] == [200], received[:300]


def test_http_1_0_without_host_is_served(server):
    received, _ = raw_exchange(server.port, b"GET /api/v1/status HTTP/1.0\r\n\r\n",
                               timeout=TIMEOUT)
    assert received.startswith(b"HTTP/1.0 200") or received.startswith(b"HTTP/1.1 200"), \
        received[:200]


def test_request_text_inside_a_body_stays_a_body(server):
    tag = uuid.uuid4().hex[:12]
    hidden, after = f"/hidden-{tag}", f"/after-{tag}"
    body = hidden_request(hidden)  # a whole request, as the body's bytes
    post = (f"POST /nothing-{tag} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    received, closed = raw_exchange(server.port, (post + hidden_request(after)).encode(),
                                    timeout=TIMEOUT)
    responses, _ = parse_responses(received)
    assert [r.status for r in responses] == [404, 404]
    log = settle(server)
    assert not handled(log, hidden)
    assert len(handled(log, after)) == 1


@pytest.mark.parametrize("smuggle", ["CL.TE", "TE.CL", "CL.CL"])
def test_valid_request_then_smuggled_one_never_gives_two_200s(server, smuggle):
    """A valid GET, then on the same connection a request whose framing
    hides GET /api/v1/status: at most the first may be a 200, and the hidden
    status request must never be answered."""
    valid = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    hidden = "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    if smuggle == "CL.TE":
        body = "0\r\n\r\n" + hidden
        headers = f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n"
    elif smuggle == "TE.CL":
        body = f"{len(hidden):x}\r\n{hidden}\r\n0\r\n\r\n"
        headers = "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
    else:
        body = "a=b" + hidden
        headers = f"Content-Length: 3\r\nContent-Length: {len(body)}\r\n"
    smuggler = (f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\n{headers}\r\n{body}")
    received, closed = raw_exchange(server.port, (valid + smuggler).encode(), timeout=TIMEOUT)
    responses, _ = parse_responses(received)
    statuses = [r.status for r in responses]
    assert statuses == [200, 400], statuses
    assert not any(r.get("Content-Type", "").startswith("application/json") for r in responses)
    assert b'"name":"ratify"' not in received
    assert closed
